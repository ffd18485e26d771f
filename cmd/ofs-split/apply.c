/*
 * apply.c: `ofs-split apply`, the split's weights set on a running
 * HAProxy through its runtime API, without a reload.
 *
 * The backend's servers are named after the variants, as `ofs-split
 * render --format haproxy` names them: "new", or "new:1", "new:2" for a
 * variant with several addresses. Everything is checked before anything
 * changes: the socket answers, the backend exists, every variant has its
 * server(s), the socket is at level admin. A missing backend or server is
 * status 4 (the running HAProxy is not what the split needs; nothing was
 * changed), like an unreachable socket. Then each server's weight is
 * read and set (split_hap_weights: the percentages, or scaled by 256/100
 * when they have decimals), servers that gain weight first, so the
 * backend never passes through a moment with no weight at all. One
 * split.apply record per server says what changed; with --dry-run the
 * same records, marked "dry_run": true, and nothing is set.
 */
#include "common.h"

#include "cmds.h"
#include "haproxy.h"
#include "jw.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "render.h"
#include "units.h"
#include "weights.h"

enum { AO_DRY_RUN = 256, AO_HAPROXY };

const struct opt apply_opts[] = {
	{ 'b', 'b', "backend", "name", "the HAProxy backend whose servers are named after the variants",
	  NULL, OPT_REQUIRED },
	{ 't', 't', "timeout", "duration", "limit on each runtime API exchange (default 5s)", NULL,
	  0 },
	{ 'w', 'w', "weights", "weights", "variants and percentages: legacy=90,new=10 (sum 100)",
	  NULL, OPT_REQUIRED },
	{ AO_DRY_RUN, 0, "dry-run", NULL, "print the changes as records; change nothing", NULL, 0 },
	{ AO_HAPROXY, 0, "haproxy", "socket",
	  "the runtime API: a Unix socket's path or host:port, at level admin", NULL, OPT_REQUIRED },
	{ 0 },
};

/* One server to set. */
struct target {
	const char *server; /* into the hap_server array */
	size_t variant;
	int from, to;
};

/* name is the variant's server: "new", or "new:" and digits. */
static bool serves(const char *server, const char *variant)
{
	size_t n = strlen(variant);
	if (strncmp(server, variant, n))
		return false;
	if (!server[n])
		return true;
	if (server[n] != ':' || !server[n + 1])
		return false;
	for (const char *d = server + n + 1; *d; d++)
		if (*d < '0' || *d > '9')
			return false;
	return true;
}

/*
 * The backend's servers, or an error naming what is wrong. Every proxy's
 * rows are asked for (`show stat -1 6 -1`, backends and servers) and
 * filtered here: `show stat NAME` would pick a frontend of the same name.
 */
static int read_servers(const char *sock, const char *backend, int tms, struct hap_server **v,
			size_t *n, struct strbuf *err)
{
	struct strbuf answer = SB_INIT, row = SB_INIT;
	const char *cmd = "show stat -1 6 -1";
	int rc = hap_command(sock, cmd, tms, &answer, err);
	if (rc == 0 && strncmp(answer.buf, "# ", 2)) {
		char *nl = strpbrk(answer.buf, "\r\n");
		if (nl)
			sb_setlen(&answer, (size_t)(nl - answer.buf));
		sb_reset(err);
		sb_addf(err, "haproxy answered '%.200s' to '%s'", answer.buf, cmd);
		rc = -1;
	}
	if (rc == 0) {
		sb_addf(&row, "\n%s,BACKEND,", backend);
		if (!strstr(answer.buf, row.buf)) {
			sb_reset(err);
			sb_addf(err, "haproxy has no backend '%s'", backend);
			rc = -1;
		}
	}
	if (rc == 0)
		rc = hap_parse_stat(answer.buf, answer.len, backend, v, n, err);
	sb_release(&answer);
	sb_release(&row);
	return rc;
}

static void write_record(const char *backend, const struct target *t, const char *variant,
			 bool dry_run)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "split.apply");
	jw_kv_str(&w, "backend", backend);
	jw_kv_str(&w, "server", t->server);
	jw_kv_str(&w, "variant", variant);
	jw_kv_int(&w, "weight_from", t->from);
	jw_kv_int(&w, "weight_to", t->to);
	if (dry_run)
		jw_kv_bool(&w, "dry_run", true);
	rec_end(&w, out_stdout());
	sb_release(&sb);
}

int cmd_apply(int argc, char **argv)
{
	const char *sock = NULL, *backend = NULL, *weights = NULL;
	bool dry_run = false;
	int64_t timeout_ns = 5000000000LL;
	struct strbuf err = SB_INIT;
	struct opt_parser p;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'b': backend = p.arg; break;
		case 't':
			if (dur_parse(p.arg, &timeout_ns, &err) < 0)
				opt_usage_error(&p, "--timeout: %s", err.buf);
			if (timeout_ns < 1000000)
				opt_usage_error(&p, "--timeout: must be at least 1ms");
			break;
		case 'w': weights = p.arg; break;
		case AO_DRY_RUN: dry_run = true; break;
		case AO_HAPROXY: sock = p.arg; break;
		default: break;
		}
	}
	char **ops;
	if (opt_operands(&p, &ops))
		opt_usage_error(&p, "no operands expected, got '%s'", ops[0]);
	if (!sock)
		opt_usage_error(&p, "--haproxy is required");
	if (!backend)
		opt_usage_error(&p, "--backend is required");
	if (!weights)
		opt_usage_error(&p, "--weights is required");
	if (!*sock)
		opt_usage_error(&p, "--haproxy: empty socket address");
	if (!hap_valid_name(backend))
		opt_usage_error(&p, "--backend: '%s' is not an HAProxy backend name", backend);
	struct split_weights w;
	if (weights_parse(&w, weights, &err) < 0)
		opt_usage_error(&p, "--weights: %s", err.buf);
	int tms = timeout_ns / 1000000 > INT_MAX ? INT_MAX : (int)(timeout_ns / 1000000);

	/* Look before changing anything. */
	struct hap_server *sv = NULL;
	size_t nsv = 0;
	sb_reset(&err);
	if (read_servers(sock, backend, tms, &sv, &nsv, &err) < 0)
		die("%s", err.buf);
	struct target *t = xcalloc(nsv + 1, sizeof(*t));
	size_t nt = 0, k[SPLIT_MAX_VARIANTS] = { 0 };
	for (size_t i = 0; i < nsv; i++) {
		size_t v;
		for (v = 0; v < w.n; v++)
			if (serves(sv[i].name, w.v[v].name))
				break;
		if (v == w.n)
			continue;
		t[nt].server = sv[i].name;
		t[nt++].variant = v;
		k[v]++;
	}
	for (size_t v = 0; v < w.n; v++)
		if (!k[v]) {
			struct strbuf names = SB_INIT;
			for (size_t i = 0; i < nsv; i++)
				sb_addf(&names, "%s%s", i ? ", " : "", sv[i].name);
			die("haproxy backend '%s' has no server '%s' (servers: %s); nothing was changed",
			    backend, w.v[v].name, nsv ? names.buf : "none");
		}
	for (size_t i = 0, j = 0; i < nsv; i++) {
		if (j < nt && t[j].server == sv[i].name)
			j++;
		else
			warn("server '%s' of backend '%s' is no variant's: its weight is left as it is",
			     sv[i].name, backend);
	}
	int wt[SPLIT_MAX_VARIANTS];
	split_hap_weights(&w, k, wt);
	for (size_t i = 0; i < nt; i++) {
		t[i].to = wt[t[i].variant];
		if (hap_get_weight(sock, backend, t[i].server, &t[i].from, NULL, tms, &err) < 0)
			die("%s", err.buf);
	}
	struct strbuf level = SB_INIT;
	if (!dry_run && hap_command(sock, "show cli level", tms, &level, NULL) == 0) {
		char *nl = strpbrk(level.buf, "\r\n");
		if (nl)
			sb_setlen(&level, (size_t)(nl - level.buf));
		if (!strcmp(level.buf, "operator") || !strcmp(level.buf, "user"))
			die("haproxy runtime socket '%s' is at level %s: setting weights needs "
			    "'stats socket ... level admin'; nothing was changed",
			    sock, level.buf);
	}
	sb_release(&level);

	/* Servers that gain weight first, then the others. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < nt; i++) {
			if ((t[i].to > t[i].from) != (pass == 0))
				continue;
			if (!dry_run && t[i].to != t[i].from &&
			    hap_set_weight(sock, backend, t[i].server, t[i].to, tms, &err) < 0)
				die("%s", err.buf);
			write_record(backend, &t[i], w.v[t[i].variant].name, dry_run);
		}

	free(t);
	hap_servers_free(sv, nsv);
	sb_release(&err);
	opt_end(&p);
	return EXIT_OK;
}
