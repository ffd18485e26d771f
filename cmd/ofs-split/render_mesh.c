/*
 * render_mesh.c: the split for Envoy (a static bootstrap: listener, route
 * configuration, clusters; JSON) and for Istio (a VirtualService; YAML).
 *
 * Envoy and Istio choose a weighted cluster or destination afresh for
 * every request, so a customer is not kept on one variant (Istio issues
 * 9764 and 33343). Envoy can be made sticky: with --header, the variants
 * become the weighted endpoints of one cluster balanced on a hash ring
 * of that header, which keeps a key on its variant and only moves keys
 * into a variant whose weight grows (Envoy's hash is not nginx's, so the
 * placement differs from `ofs-split route`'s). Istio offers no such
 * thing across destinations, so --header is refused for it rather than
 * silently ignored. Envoy weights are basis points (legacy=90,new=10 is
 * 9000 and 1000); Istio's must be whole percentages.
 */
#include "common.h"
#include <cJSON.h>
#include <ctype.h>

#include "render.h"

static cJSON *socket_address(const char *host, int port)
{
	cJSON *o = cJSON_CreateObject(), *sa = cJSON_AddObjectToObject(o, "socket_address");
	cJSON_AddStringToObject(sa, "address", host);
	cJSON_AddNumberToObject(sa, "port_value", port);
	return o;
}

static cJSON *endpoint(const struct render_addr *a, unsigned weight)
{
	cJSON *e = cJSON_CreateObject(), *ep = cJSON_AddObjectToObject(e, "endpoint");
	cJSON_AddItemToObject(ep, "address", socket_address(a->host, a->port));
	if (weight)
		cJSON_AddNumberToObject(e, "load_balancing_weight", weight);
	return e;
}

static cJSON *cluster(const char *name, const char *lb, cJSON *lb_endpoints)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "name", name);
	cJSON_AddStringToObject(c, "type", "STRICT_DNS");
	cJSON_AddStringToObject(c, "connect_timeout", "5s");
	cJSON_AddStringToObject(c, "lb_policy", lb);
	cJSON *la = cJSON_AddObjectToObject(c, "load_assignment");
	cJSON_AddStringToObject(la, "cluster_name", name);
	cJSON *eps = cJSON_AddArrayToObject(la, "endpoints"), *loc = cJSON_CreateObject();
	cJSON_AddItemToObject(loc, "lb_endpoints", lb_endpoints);
	cJSON_AddItemToArray(eps, loc);
	return c;
}

int render_envoy(const struct render *r, struct strbuf *out, struct strbuf *err)
{
	(void)err;
	char *name;
	cJSON *root = cJSON_CreateObject();
	cJSON *sr = cJSON_AddObjectToObject(root, "static_resources");
	cJSON *listeners = cJSON_AddArrayToObject(sr, "listeners");
	cJSON *clusters = cJSON_AddArrayToObject(sr, "clusters");

	/* the route: weighted clusters, or one cluster hashed on the header */
	cJSON *route = cJSON_CreateObject();
	if (r->header) {
		cJSON_AddStringToObject(route, "cluster", r->name);
		cJSON *hp = cJSON_AddArrayToObject(route, "hash_policy"), *h = cJSON_CreateObject();
		cJSON *hh = cJSON_AddObjectToObject(h, "header");
		cJSON_AddStringToObject(hh, "header_name", r->header);
		cJSON_AddItemToArray(hp, h);
		cJSON *lbe = cJSON_CreateArray();
		for (size_t i = 0; i < r->w.n; i++) {
			const struct render_upstream *u = &r->up[i];
			if (!r->w.v[i].bp)
				continue; /* Envoy weights start at 1 */
			for (size_t j = 0; j < u->n; j++) {
				unsigned wt = (unsigned)((r->w.v[i].bp + u->n / 2) / u->n);
				cJSON_AddItemToArray(lbe, endpoint(&u->a[j], wt ? wt : 1));
			}
		}
		cJSON_AddItemToArray(clusters, cluster(r->name, "RING_HASH", lbe));
	} else {
		cJSON *wc = cJSON_AddObjectToObject(route, "weighted_clusters");
		cJSON *cl = cJSON_AddArrayToObject(wc, "clusters");
		for (size_t i = 0; i < r->w.n; i++) {
			if (!r->w.v[i].bp)
				continue;
			cJSON *c = cJSON_CreateObject();
			name = xasprintf("%s_%s", r->name, r->w.v[i].name);
			cJSON_AddStringToObject(c, "name", name);
			cJSON_AddNumberToObject(c, "weight", r->w.v[i].bp);
			cJSON_AddItemToArray(cl, c);
			free(name);
		}
		for (size_t i = 0; i < r->w.n; i++) {
			cJSON *lbe = cJSON_CreateArray();
			for (size_t j = 0; j < r->up[i].n; j++)
				cJSON_AddItemToArray(lbe, endpoint(&r->up[i].a[j], 0));
			name = xasprintf("%s_%s", r->name, r->w.v[i].name);
			cJSON_AddItemToArray(clusters, cluster(name, "ROUND_ROBIN", lbe));
			free(name);
		}
	}

	cJSON *l = cJSON_CreateObject();
	cJSON_AddStringToObject(l, "name", r->name);
	cJSON_AddItemToObject(l, "address",
			      socket_address(r->listen.host ? r->listen.host : "0.0.0.0",
					     r->listen.port));
	cJSON *fcs = cJSON_AddArrayToObject(l, "filter_chains"), *fc = cJSON_CreateObject();
	cJSON *filters = cJSON_AddArrayToObject(fc, "filters"), *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "name", "envoy.filters.network.http_connection_manager");
	cJSON *tc = cJSON_AddObjectToObject(f, "typed_config");
	cJSON_AddStringToObject(tc, "@type",
				"type.googleapis.com/envoy.extensions.filters.network."
				"http_connection_manager.v3.HttpConnectionManager");
	cJSON_AddStringToObject(tc, "stat_prefix", r->name);
	cJSON *rc = cJSON_AddObjectToObject(tc, "route_config");
	cJSON_AddStringToObject(rc, "name", r->name);
	cJSON *vhs = cJSON_AddArrayToObject(rc, "virtual_hosts"), *vh = cJSON_CreateObject();
	cJSON_AddStringToObject(vh, "name", r->name);
	cJSON *domains = cJSON_AddArrayToObject(vh, "domains");
	cJSON_AddItemToArray(domains, cJSON_CreateString("*"));
	cJSON *routes = cJSON_AddArrayToObject(vh, "routes"), *rt = cJSON_CreateObject();
	cJSON *match = cJSON_AddObjectToObject(rt, "match");
	cJSON_AddStringToObject(match, "prefix", "/");
	cJSON_AddItemToObject(rt, "route", route);
	cJSON_AddItemToArray(routes, rt);
	cJSON_AddItemToArray(vhs, vh);
	cJSON *hf = cJSON_AddArrayToObject(tc, "http_filters"), *router = cJSON_CreateObject();
	cJSON_AddStringToObject(router, "name", "envoy.filters.http.router");
	cJSON *rtc = cJSON_AddObjectToObject(router, "typed_config");
	cJSON_AddStringToObject(rtc, "@type",
				"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router");
	cJSON_AddItemToArray(hf, router);
	cJSON_AddItemToArray(filters, f);
	cJSON_AddItemToArray(fcs, fc);
	cJSON_AddItemToArray(listeners, l);

	char *text = cJSON_Print(root);
	if (!text)
		die("out of memory");
	sb_addstr(out, text);
	sb_addch(out, '\n');
	free(text);
	cJSON_Delete(root);
	return 0;
}

/* A Kubernetes object name: a DNS-1123 label. */
static bool dns_label(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

int render_istio(const struct render *r, struct strbuf *out, struct strbuf *err)
{
	if (r->header) {
		sb_addstr(err, "--header: Istio picks a weighted destination afresh for every request "
			       "and cannot hash a header across destinations (istio issues 9764, "
			       "33343); render nginx, haproxy or envoy for a sticky split");
		return -1;
	}
	if (!dns_label(r->name)) {
		sb_addf(err, "--name: istio needs a lowercase name of letters, digits and '-', got '%s'",
			r->name);
		return -1;
	}
	for (size_t i = 0; i < r->w.n; i++) {
		if (r->w.v[i].bp % 100) {
			sb_addf(err, "--weights: istio weights are whole percentages, got %s=",
				r->w.v[i].name);
			weights_percent(err, r->w.v[i].bp);
			return -1;
		}
		if (r->up[i].n != 1) {
			sb_addf(err, "--upstream: an istio destination is one host, '%s' has %zu",
				r->w.v[i].name, r->up[i].n);
			return -1;
		}
	}
	sb_addf(out, "# ofs-split render --format istio: %s\n", r->weights_text);
	sb_addstr(out, "# Istio picks a destination for every request: a customer is not kept on\n"
		       "# one variant (the nginx rendering keeps each key where route puts it).\n");
	sb_addf(out, "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata:\n"
		     "  name: %s\nspec:\n  hosts:\n  - %s\n  http:\n  - name: %s\n    route:\n",
		r->name, r->name, r->name);
	for (size_t i = 0; i < r->w.n; i++) {
		const struct render_addr *a = &r->up[i].a[0];
		if (!r->w.v[i].bp)
			continue;
		sb_addf(out, "    - destination:\n        host: %s%s%s\n        port:\n"
			     "          number: %d\n      weight: %u\n",
			a->v6 ? "\"" : "", a->host, a->v6 ? "\"" : "", a->port, r->w.v[i].bp / 100);
	}
	return 0;
}
