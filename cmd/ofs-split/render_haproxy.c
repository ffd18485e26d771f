/*
 * render_haproxy.c: the split as an HAProxy frontend and backend, to be
 * added to a configuration that has its global and defaults sections.
 *
 * Every variant is a server (several servers "VARIANT:1", "VARIANT:2"
 * when it has several addresses) whose weight is its share (see
 * split_hap_weights), so `ofs-split apply` can later move the split on
 * the running HAProxy through its runtime API, without a reload. With
 * --header the backend hashes that header (plus the salt) on a
 * consistent-hash ring: a key stays on its variant, and raising a
 * variant's weight only moves keys into it. HAProxy's hash is not
 * nginx's, so the keys are not placed as `ofs-split route` places them.
 * The ring keeps a ramp monotonic only while the weights stay on one
 * scale (whole percentages, or 256/100 throughout): a change of scale
 * changes every server's share of the ring and moves keys both ways.
 * Without --header, requests are shared round robin by weight.
 */
#include "common.h"
#include <ctype.h>

#include "render.h"

/* The server name of address j of variant v. */
static void server_name(struct strbuf *out, const struct render *r, size_t v, size_t j)
{
	if (r->up[v].n == 1)
		sb_addstr(out, r->w.v[v].name);
	else
		sb_addf(out, "%s:%zu", r->w.v[v].name, j + 1);
}

int render_haproxy(const struct render *r, struct strbuf *out, struct strbuf *err)
{
	if (r->header && *r->salt)
		for (const char *s = r->salt; *s; s++)
			if (!isalnum((unsigned char)*s) && !strchr("._-:", *s)) {
				sb_addstr(err, "--salt: haproxy can hold a salt of letters, digits, '.', "
					       "'_', '-' and ':' only");
				return -1;
			}
	size_t k[SPLIT_MAX_VARIANTS];
	int wt[SPLIT_MAX_VARIANTS];
	for (size_t i = 0; i < r->w.n; i++)
		k[i] = r->up[i].n;
	bool scaled = split_hap_weights(&r->w, k, wt);

	sb_addf(out, "# ofs-split render --format haproxy: %s\n", r->weights_text);
	if (scaled)
		sb_addstr(out, "# HAProxy weights are whole numbers 0..256: the percentages are scaled\n"
			       "# by 256/100 and rounded.\n");
	else
		sb_addstr(out, "# HAProxy weights are the percentages.\n");
	sb_addf(out, "# `ofs-split apply --backend %s` changes them live.\n", r->name);
	sb_addf(out, "frontend %s-front\n    mode http\n    bind ", r->name);
	if (r->listen.host)
		render_addr_text(out, &r->listen);
	else
		sb_addf(out, ":%d", r->listen.port);
	sb_addf(out, "\n    default_backend %s\n\n", r->name);
	sb_addf(out, "backend %s\n    mode http\n", r->name);
	if (r->header && *r->salt)
		sb_addf(out, "    balance hash req.hdr(%s),concat(%s,,)\n    hash-type consistent\n",
			r->header, r->salt);
	else if (r->header)
		sb_addf(out, "    balance hdr(%s)\n    hash-type consistent\n", r->header);
	else
		sb_addstr(out, "    balance roundrobin\n");
	for (size_t i = 0; i < r->w.n; i++)
		for (size_t j = 0; j < r->up[i].n; j++) {
			sb_addstr(out, "    server ");
			server_name(out, r, i, j);
			sb_addch(out, ' ');
			render_addr_text(out, &r->up[i].a[j]);
			sb_addf(out, " weight %d\n", wt[i]);
		}
	return 0;
}
