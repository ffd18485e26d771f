/*
 * render.c: `ofs-split render`, the split as configuration for a real
 * proxy: nginx (split_clients, the very rule `ofs-split route` uses, so
 * both place every key alike), HAProxy (weights on servers, sticky by a
 * header's hash), Envoy (weighted clusters, or a ring hash on a header)
 * and Istio (a weighted VirtualService).
 *
 * This file reads and checks the options (every variant needs exactly
 * one --upstream, every --upstream a variant) and holds the HAProxy
 * weight rule shared with `ofs-split apply`; the formats are written by
 * render_nginx.c, render_haproxy.c and render_mesh.c. The configuration
 * goes to standard output whole, or not at all.
 */
#include "common.h"
#include <ctype.h>

#include "cmds.h"
#include "opt.h"
#include "out.h"
#include "render.h"
#include "units.h"

enum { RN_HEADER = 256, RN_NGINX_KEY };

const struct opt render_opts[] = {
	{ 'f', 'f', "format", "format", "the proxy: nginx, haproxy, envoy or istio",
	  "nginx haproxy envoy istio", OPT_REQUIRED },
	{ 'l', 'l', "listen", "[address:]port",
	  "where the proxy listens (nginx, haproxy, envoy; default 80)", NULL, 0 },
	{ 'n', 'n', "name", "name",
	  "names the frontend, backend, route, service and upstream prefix (default split)", NULL,
	  0 },
	{ 's', 's', "salt", "salt", "hashed after the key, as in route (nginx, haproxy)", NULL, 0 },
	{ 'u', 'u', "upstream", "variant=host:port[,host:port ...]",
	  "the addresses of a variant; one per variant", NULL, OPT_REQUIRED },
	{ 'w', 'w', "weights", "weights", "variants and percentages: legacy=90,new=10 (sum 100)",
	  NULL, OPT_REQUIRED },
	{ RN_HEADER, 0, "header", "name",
	  "the request header holding the key: nginx hashes it, haproxy and envoy hash on it",
	  NULL, 0 },
	{ RN_NGINX_KEY, 0, "nginx-key", "expr",
	  "the nginx expression of the key (default $http_HEADER with --header, else "
	  "$cookie_customer)",
	  NULL, 0 },
	{ 0 },
};

bool split_hap_weights(const struct split_weights *w, const size_t *nservers, int *out)
{
	bool scaled = false;
	for (size_t i = 0; i < w->n; i++) {
		size_t k = nservers[i] ? nservers[i] : 1;
		if (w->v[i].bp % (100 * k))
			scaled = true;
	}
	for (size_t i = 0; i < w->n; i++) {
		uint64_t k = nservers[i] ? nservers[i] : 1, bp = w->v[i].bp;
		uint64_t x = scaled ? (bp * 256 + 5000 * k) / (10000 * k) : bp / (100 * k);
		out[i] = bp && !x ? 1 : (int)x;
	}
	return scaled;
}

void render_addr_text(struct strbuf *sb, const struct render_addr *a)
{
	if (a->v6)
		sb_addf(sb, "[%s]:%d", a->host, a->port);
	else
		sb_addf(sb, "%s:%d", a->host, a->port);
}

/* A host name, IPv4 address or (v6) IPv6 address: the characters they use. */
static bool valid_host(const char *h, size_t n, bool v6)
{
	if (!n || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (v6 ? !(isxdigit(c) || c == ':' || c == '.')
		       : !(isalnum(c) || c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* "HOST:PORT" or "[V6]:PORT" (want_host) or "PORT" too (listen) into a;
 * -1 if it is neither. */
static int parse_addr(const char *s, size_t n, bool port_only_ok, struct render_addr *a)
{
	const char *colon = NULL, *host = s;
	size_t hn = 0;
	a->v6 = false;
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close || close + 1 >= s + n || close[1] != ':')
			return -1;
		host = s + 1;
		hn = (size_t)(close - s) - 1;
		colon = close + 1;
		a->v6 = true;
	} else {
		for (size_t i = n; i > 0; i--)
			if (s[i - 1] == ':') {
				colon = s + i - 1;
				break;
			}
		if (colon) {
			hn = (size_t)(colon - s);
			if (memchr(s, ':', hn))
				return -1; /* an IPv6 address needs its brackets */
		} else if (!port_only_ok) {
			return -1;
		}
	}
	const char *port = colon ? colon + 1 : s;
	size_t pn = (size_t)(s + n - port);
	if (colon && !valid_host(host, hn, a->v6))
		return -1;
	if (!pn || pn > 5)
		return -1;
	long p = 0;
	for (size_t i = 0; i < pn; i++) {
		if (port[i] < '0' || port[i] > '9')
			return -1;
		p = p * 10 + (port[i] - '0');
	}
	if (p < 1 || p > 65535)
		return -1;
	a->port = (int)p;
	a->host = colon ? xstrndup(host, hn) : NULL;
	return 0;
}

/* The variants' names for messages (static: see route.c). */
static const char *variant_names(const struct split_weights *w)
{
	static struct strbuf sb = SB_INIT;
	sb_reset(&sb);
	for (size_t i = 0; i < w->n; i++)
		sb_addf(&sb, "%s%s", i ? ", " : "", w->v[i].name);
	return sb.buf;
}

/* Read the --upstream options into r->up. */
static void read_upstreams(struct render *r, struct opt_parser *p, char **ups, size_t nups)
{
	for (size_t i = 0; i < nups; i++) {
		const char *eq = strchr(ups[i], '=');
		if (!eq || eq == ups[i] || !eq[1])
			opt_usage_error(p, "--upstream: expected VARIANT=HOST:PORT[,HOST:PORT...], got '%s'",
					ups[i]);
		int nn = (int)(eq - ups[i]), v = -1;
		for (size_t j = 0; j < r->w.n && v < 0; j++)
			if (strlen(r->w.v[j].name) == (size_t)nn && !memcmp(r->w.v[j].name, ups[i], (size_t)nn))
				v = (int)j;
		if (v < 0)
			opt_usage_error(p, "--upstream: unknown variant '%.*s' (weights name %s)", nn,
					ups[i], variant_names(&r->w));
		const char *name = r->w.v[v].name;
		struct render_upstream *u = &r->up[v];
		if (u->n)
			opt_usage_error(p, "--upstream: variant '%s' is given twice", name);
		for (const char *a = eq + 1;;) {
			const char *comma = strchr(a, ',');
			size_t n = comma ? (size_t)(comma - a) : strlen(a);
			if (u->n == RENDER_MAX_ADDRS)
				opt_usage_error(p, "--upstream: at most %d addresses for '%s'",
						RENDER_MAX_ADDRS, name);
			if (parse_addr(a, n, false, &u->a[u->n]) < 0)
				opt_usage_error(p, "--upstream: invalid address '%.*s' for '%s': expected "
						   "HOST:PORT or [IPV6]:PORT",
						(int)n, a, name);
			u->n++;
			if (!comma)
				break;
			a = comma + 1;
		}
	}
	for (size_t i = 0; i < r->w.n; i++)
		if (!r->up[i].n)
			opt_usage_error(p, "--upstream: no addresses for variant '%s'", r->w.v[i].name);
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 63 || !isalpha((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* A header name as HTTP allows it (a token). */
static bool valid_header(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

int cmd_render(int argc, char **argv)
{
	struct render r;
	memset(&r, 0, sizeof(r));
	r.salt = "";
	r.name = "split";
	r.listen.port = 80;
	const char *format = NULL, *weights = NULL;
	char **ups = NULL;
	size_t nups = 0;
	struct strbuf err = SB_INIT;
	struct opt_parser p;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'f': format = p.arg; break;
		case 'l':
			free(r.listen.host);
			if (parse_addr(p.arg, strlen(p.arg), true, &r.listen) < 0)
				opt_usage_error(&p, "--listen: expected PORT or ADDRESS:PORT, got '%s'",
						p.arg);
			break;
		case 'n':
			if (!valid_name(p.arg))
				opt_usage_error(&p, "--name: '%s' must be a letter, then letters, digits, "
						   "'-' or '_' (63 at most)",
						p.arg);
			r.name = p.arg;
			r.name_given = true;
			break;
		case 's': r.salt = p.arg; break;
		case 'u':
			ups = xreallocarray(ups, nups + 1, sizeof(*ups));
			ups[nups++] = (char *)p.arg;
			break;
		case 'w': weights = p.arg; break;
		case RN_HEADER:
			if (!valid_header(p.arg))
				opt_usage_error(&p, "--header: '%s' is not a header name", p.arg);
			r.header = p.arg;
			break;
		case RN_NGINX_KEY:
			if (!*p.arg)
				opt_usage_error(&p, "--nginx-key: empty expression");
			r.nginx_key = p.arg;
			break;
		default: break;
		}
	}
	char **ops;
	if (opt_operands(&p, &ops))
		opt_usage_error(&p, "no operands expected, got '%s'", ops[0]);
	if (!format)
		opt_usage_error(&p, "--format is required");
	if (!weights)
		opt_usage_error(&p, "--weights is required");
	int (*writer)(const struct render *, struct strbuf *, struct strbuf *);
	if (!strcmp(format, "nginx"))
		writer = render_nginx;
	else if (!strcmp(format, "haproxy"))
		writer = render_haproxy;
	else if (!strcmp(format, "envoy"))
		writer = render_envoy;
	else if (!strcmp(format, "istio"))
		writer = render_istio;
	else
		opt_usage_error(&p, "--format: unknown format '%s' (nginx, haproxy, envoy, istio)",
				format);
	if (weights_parse(&r.w, weights, &err) < 0)
		opt_usage_error(&p, "--weights: %s", err.buf);
	struct strbuf canon = SB_INIT;
	weights_format(&canon, &r.w);
	r.weights_text = sb_detach(&canon, NULL);
	for (const char *s = r.salt; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			opt_usage_error(&p, "--salt: control characters cannot go into a configuration");
	if (r.nginx_key)
		for (const char *s = r.nginx_key; *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				opt_usage_error(&p, "--nginx-key: control characters cannot go into a "
						    "configuration");
	read_upstreams(&r, &p, ups, nups);

	struct strbuf out = SB_INIT;
	sb_reset(&err);
	if (writer(&r, &out, &err) < 0)
		opt_usage_error(&p, "%s", err.buf);
	struct out *o = out_stdout();
	out_write(o, out.buf, out.len);
	out_flush(o);

	for (size_t i = 0; i < r.w.n; i++)
		for (size_t j = 0; j < r.up[i].n; j++)
			free(r.up[i].a[j].host);
	free(r.listen.host);
	free(r.weights_text);
	free(ups);
	sb_release(&out);
	sb_release(&err);
	opt_end(&p);
	return EXIT_OK;
}
