/*
 * topology.h: the shop's topology file: services, their instances, how
 * to check them, what they depend on and how to start, stop and restart
 * them.
 *
 * The format is meant for more than shopd: ofs-health reads the same
 * file to know what to check and in which order to recover. It is JSON:
 *
 *	{"name": "shop",
 *	 "services": {
 *	   "orders": {
 *	     "depends_on": ["inventory", "payments", "shipping"],
 *	     "instances": [{"id": "orders-1", "host": "127.0.0.1", "port": 18081}],
 *	     "check": {"kind": "http", "path": "/health", "timeout": "1s"},
 *	     "start":   ["{shopd}", "start", "--dir", "{dir}", "{instance}"],
 *	     "stop":    ["{shopd}", "stop", "--dir", "{dir}", "{instance}"],
 *	     "restart": ["{shopd}", "restart", "--dir", "{dir}", "{instance}"]}}}
 *
 * Hooks are argv arrays (placeholders substituted per element, no shell)
 * or strings for /bin/sh -c (context in the environment only). The
 * runtime copy that `shopd start` writes has {shopd} and {dir}
 * substituted and the ports actually used; {instance} is left for the
 * caller. Every problem is reported with the file and JSON pointer.
 */
#ifndef SHOP_TOPOLOGY_H
#define SHOP_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "strbuf.h"

struct shop_service;

struct shop_instance {
	const char *id; /* unique across the topology; points into the tree */
	const char *host;
	int port;		      /* 0: any free port */
	cJSON *node;		      /* the instance's object in the tree */
	struct shop_service *service; /* the service it belongs to */
};

struct shop_service {
	const char *name;	 /* points into the tree */
	size_t index;		 /* position in shop_topo.services */
	const char **depends_on; /* service names (into the tree) */
	size_t ndeps;
	struct shop_instance *instances;
	size_t ninstances;
	const char *check_kind;	  /* "http", "tcp" or "exec"; "http" if absent */
	const char *check_path;	  /* for http checks; "/health" if absent */
	int64_t check_timeout_ns; /* 1 s if absent */
	cJSON *node;		  /* the service's object in the tree */
};

struct shop_topo {
	struct cfg cfg; /* owns the tree and the file name */
	const char *name;
	struct shop_service *services; /* in file order */
	size_t nservices;
	size_t *start_order; /* service indexes, dependencies first */
};

/*
 * shop_topo_load: read and validate the topology at path. Service names
 * must be in roles (a NULL-terminated list) unless roles is NULL. On
 * success fills *t (free it with shop_topo_free) and returns 0. On
 * failure returns -1, leaves *t empty, and appends every problem found
 * to err, one per line ("shop.json: /services/x/instances/0/port: must
 * be 0..65535, got 70000"), or the syntax error with line and column.
 */
int shop_topo_load(struct shop_topo *t, const char *path, const char *const *roles,
		   struct strbuf *err);

/* shop_topo_free: release everything *t holds; it is left empty. */
void shop_topo_free(struct shop_topo *t);

/* shop_topo_service, shop_topo_instance: find by name or id, or NULL. */
struct shop_service *shop_topo_service(const struct shop_topo *t, const char *name);
struct shop_instance *shop_topo_instance(const struct shop_topo *t, const char *id);

/* shop_topo_set_port: change an instance's port, in the struct and the tree. */
void shop_topo_set_port(struct shop_instance *in, int port);

/*
 * shop_topo_write_runtime: write the tree to path (atomically, mode
 * 0600), with "{dir}" replaced by dir and "{shopd}" by shopd in every
 * element of the argv hooks (start, stop, restart and an exec check's
 * command). Other placeholders stay. Returns 0, or -1 with a message in
 * err. The in-memory tree is not changed.
 */
int shop_topo_write_runtime(const struct shop_topo *t, const char *path, const char *dir,
			    const char *shopd, struct strbuf *err);

/* shop_instance_url: append "http://HOST:PORT" (IPv6 hosts bracketed) to sb. */
void shop_instance_url(const struct shop_instance *in, struct strbuf *sb);

#endif
