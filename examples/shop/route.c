/*
 * route.c: parsing, keeping and showing the routes of a shop instance
 * (see route.h). The body is validated with config.h, so a bad route is
 * answered like a bad fault switch: the JSON pointer of the key and what
 * was expected, every problem at once, nothing changed.
 */
#include "common.h"

#include <arpa/inet.h>
#include <ctype.h>

#include "config.h"
#include "route.h"
#include "shopd.h"
#include "suggest.h"

void shop_routes_init(struct shop_routes *rt, const struct shop_topo *topo,
		      const struct shop_service *self)
{
	rt->topo = topo;
	rt->self = self;
	rt->by_service = xcalloc(topo->nservices ? topo->nservices : 1, sizeof(*rt->by_service));
}

static void route_release(struct shop_route *r)
{
	free(r->addr);
	free(r->host);
	free(r->label);
	memset(r, 0, sizeof(*r));
}

void shop_routes_free(struct shop_routes *rt)
{
	if (!rt->by_service)
		return;
	for (size_t i = 0; i < rt->topo->nservices; i++)
		route_release(&rt->by_service[i]);
	free(rt->by_service);
	rt->by_service = NULL;
}

const struct shop_route *shop_routes_get(const struct shop_routes *rt,
					 const struct shop_service *svc)
{
	const struct shop_route *r = &rt->by_service[svc->index];
	return r->addr ? r : NULL;
}

void shop_routes_write(const struct shop_routes *rt, struct jw *w)
{
	jw_obj_begin(w);
	for (size_t i = 0; i < rt->topo->nservices; i++)
		if (rt->by_service[i].addr)
			jw_kv_str(w, rt->topo->services[i].name, rt->by_service[i].addr);
	jw_obj_end(w);
}

/* ---- addresses ------------------------------------------------------------ */

/* A host name: dot-separated labels of letters, digits and inner hyphens. */
static bool host_name_ok(const char *h)
{
	size_t n = strlen(h), label = 0;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = h[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)c) || (c == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

static bool all_digits_and_dots(const char *h)
{
	for (; *h; h++)
		if (!isdigit((unsigned char)*h) && *h != '.')
			return false;
	return true;
}

int shop_addr_parse(const char *s, char **host, int *port, struct strbuf *why)
{
	const char *colon;
	char *h;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':') {
			sb_addf(why, "must be HOST:PORT or [IPV6]:PORT, got '%s'", s);
			return -1;
		}
		h = xstrndup(s + 1, (size_t)(end - s - 1));
		colon = end + 1;
		struct in6_addr a6;
		if (inet_pton(AF_INET6, h, &a6) != 1) {
			sb_addf(why, "'%s' is not an IPv6 address", h);
			free(h);
			return -1;
		}
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon == s) {
			sb_addf(why, "must be HOST:PORT, got '%s'", s);
			return -1;
		}
		h = xstrndup(s, (size_t)(colon - s));
		struct in_addr a4;
		if (strchr(h, ':')) {
			sb_addf(why, "an IPv6 address must be in brackets, [ADDR]:PORT, got '%s'", s);
			free(h);
			return -1;
		}
		if (all_digits_and_dots(h) ? inet_pton(AF_INET, h, &a4) != 1 : !host_name_ok(h)) {
			sb_addf(why, "'%s' is not an IPv4 address or a host name", h);
			free(h);
			return -1;
		}
	}
	const char *p = colon + 1;
	size_t nd = strspn(p, "0123456789");
	long v = nd && nd <= 5 && !p[nd] ? strtol(p, NULL, 10) : 0;
	if (v < 1 || v > 65535) {
		sb_addf(why, "the port must be 1..65535, got '%s'", p);
		free(h);
		return -1;
	}
	*host = h;
	*port = (int)v;
	return 0;
}

/* ---- POST /admin/route ------------------------------------------------------ */

/*
 * The dependency of self named name, or NULL with the reason appended to
 * why: an unknown service (with a near dependency name, if any) or one
 * self does not depend on.
 */
static const struct shop_service *routable(const struct shop_routes *rt, const char *name,
					   struct strbuf *why)
{
	const struct shop_service *self = rt->self;
	for (size_t i = 0; i < self->ndeps; i++)
		if (!strcmp(self->depends_on[i], name))
			return shop_topo_service(rt->topo, name);
	if (shop_topo_service(rt->topo, name)) {
		sb_addf(why, "%s does not depend on '%s' (it depends on ", self->name, name);
		for (size_t i = 0; i < self->ndeps; i++)
			sb_addf(why, "%s%s", i ? ", " : "", self->depends_on[i]);
		sb_addstr(why, self->ndeps ? ")" : "nothing)");
		return NULL;
	}
	sb_addf(why, "unknown service '%s'", name);
	const char *near = suggest_closest(name, self->depends_on, self->ndeps);
	if (near)
		sb_addf(why, "; did you mean '%s'?", near);
	return NULL;
}

int shop_routes_clear(struct shop_routes *rt, const char *service, struct strbuf *err)
{
	if (!service) {
		for (size_t i = 0; i < rt->topo->nservices; i++)
			route_release(&rt->by_service[i]);
		return 0;
	}
	struct strbuf why = SB_INIT;
	const struct shop_service *svc = routable(rt, service, &why);
	if (svc)
		route_release(&rt->by_service[svc->index]);
	else
		sb_addf(err, "route: service=%s: %s", service, why.buf);
	sb_release(&why);
	return svc ? 0 : -1;
}

/* A route read from the body, installed once the whole body is valid. */
struct pending {
	size_t index; /* the service's */
	struct shop_route r;
};

int shop_routes_apply(struct shop_routes *rt, const char *body, size_t len, struct strbuf *err)
{
	struct cfg cfg;
	if (len == 0) {
		sb_addstr(err, "route: the body must be a JSON object of routes, got nothing");
		return -1;
	}
	if (cfg_parse_string("route", body, len, &cfg, err) < 0) {
		cfg_free(&cfg);
		return -1;
	}
	struct pending *fresh = NULL;
	size_t nfresh = 0, afresh = 0;
	struct strbuf why = SB_INIT;
	cJSON *root = cfg_root_object(&cfg);
	for (const cJSON *c = root ? root->child : NULL; c; c = c->next) {
		const char *key = c->string ? c->string : "";
		const char *ptr = cfg_ptr_key(&cfg, "", key);
		bool dup = false;
		for (const cJSON *d = root->child; d != c; d = d->next)
			dup |= d->string && !strcmp(d->string, key);
		if (dup) {
			cfg_error(&cfg, ptr, "duplicate key '%s'", key);
			continue;
		}
		sb_reset(&why);
		const struct shop_service *svc = routable(rt, key, &why);
		if (!svc)
			cfg_error(&cfg, ptr, "%s", why.buf);
		const char *addr;
		char *host;
		int port;
		sb_reset(&why);
		if (cfg_get_string(&cfg, c, ptr, NULL, true, &addr) != 1)
			continue;
		if (shop_addr_parse(addr, &host, &port, &why) < 0) {
			cfg_error(&cfg, ptr, "%s", why.buf);
			continue;
		}
		if (!svc) {
			free(host);
			continue;
		}
		ALLOC_GROW(fresh, nfresh + 1, afresh);
		struct pending *pd = &fresh[nfresh++];
		memset(pd, 0, sizeof(*pd));
		pd->index = svc->index;
		pd->r.addr = xstrdup(addr);
		pd->r.host = host;
		pd->r.label = xasprintf("route %s", addr);
		pd->r.target.port = port;
	}
	int ret = 0;
	if (cfg.nerrors) {
		shop_cfg_errors(&cfg, err);
		for (size_t i = 0; i < nfresh; i++)
			route_release(&fresh[i].r);
		ret = -1;
	} else {
		for (size_t i = 0; i < nfresh; i++) {
			struct shop_route *r = &rt->by_service[fresh[i].index];
			route_release(r);
			*r = fresh[i].r;
			r->target.id = r->label;
			r->target.host = r->host;
			r->target.service = &rt->topo->services[fresh[i].index];
		}
	}
	free(fresh);
	sb_release(&why);
	cfg_free(&cfg);
	return ret;
}
