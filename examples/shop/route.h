/*
 * route.h: the routing switch of a shop instance, set through
 * POST /admin/route, so that a fault proxy (ofs-chaos) can be put between
 * this instance and a service it calls.
 *
 * A route names a service this instance depends on and one address,
 * "HOST:PORT" ("[V6ADDR]:PORT" for IPv6): every call this instance makes
 * to that service then goes to that address alone, with no round robin
 * over the service's instances and no retry on another one (downstream.h).
 * The routes are a JSON object, {"payments": "127.0.0.1:40123"}; a POST
 * sets the routes it names and keeps the others, DELETE clears them all
 * or one service's. Routes live in the instance's memory only: a
 * restarted instance calls the service's instances again.
 */
#ifndef SHOP_ROUTE_H
#define SHOP_ROUTE_H

#include <stddef.h>

#include "jw.h"
#include "strbuf.h"
#include "topology.h"

/* One service's route; unset when addr is NULL. */
struct shop_route {
	char *addr;		     /* "HOST:PORT" as it was given */
	char *host;		     /* HOST, without the brackets of an IPv6 address */
	char *label;		     /* "route ADDR": names the route in messages */
	struct shop_instance target; /* host and port to connect to; id is label */
};

/* The routes of one instance, one slot per service of the topology. */
struct shop_routes {
	const struct shop_topo *topo; /* borrowed */
	const struct shop_service *self;
	struct shop_route *by_service; /* indexed by shop_service.index */
};

/*
 * shop_routes_init: no routes, for an instance of service self in topo
 * (both borrowed; they must outlive rt). Release with shop_routes_free.
 */
void shop_routes_init(struct shop_routes *rt, const struct shop_topo *topo,
		      const struct shop_service *self);

/* shop_routes_free: release every route and the slots. */
void shop_routes_free(struct shop_routes *rt);

/*
 * shop_routes_apply: read a JSON object of routes (len bytes at body) and
 * set them. Every key must name a service that self depends on, every
 * value must be a "HOST:PORT" string. Everything is checked first: on
 * any problem nothing changes, -1 is returned and err gets every reason,
 * separated by "; " ("route: /paymnts: unknown service 'paymnts'; did you
 * mean 'payments'?"). Returns 0 on success.
 */
int shop_routes_apply(struct shop_routes *rt, const char *body, size_t len, struct strbuf *err);

/*
 * shop_routes_clear: remove the route of the service named service (one
 * without a route is fine), or every route when service is NULL. Returns
 * 0, or -1 when service is not one self depends on, nothing changed and
 * the reason appended to err ("route: service=paymnts: unknown service
 * 'paymnts'; did you mean 'payments'?").
 */
int shop_routes_clear(struct shop_routes *rt, const char *service, struct strbuf *err);

/* shop_routes_get: svc's route, or NULL when calls to svc are not routed. */
const struct shop_route *shop_routes_get(const struct shop_routes *rt,
					 const struct shop_service *svc);

/* shop_routes_write: write the routes to w as one JSON object, in topology order. */
void shop_routes_write(const struct shop_routes *rt, struct jw *w);

/*
 * shop_addr_parse: split "HOST:PORT" or "[V6ADDR]:PORT". HOST is an IPv4
 * address or a host name; PORT is 1..65535. Returns 0 with *host newly
 * allocated (brackets removed) and *port set, or -1 with the reason
 * appended to why ("the port must be 1..65535, got '0'").
 */
int shop_addr_parse(const char *s, char **host, int *port, struct strbuf *why);

#endif
