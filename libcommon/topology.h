/*
 * topology.h: the services ofs watches, deploys and breaks: their
 * instances, health checks, dependencies and recovery settings, loaded
 * from a JSON topology file (examples/shop/topology.json is one) or added
 * as JSONL targets from service discovery.
 *
 * Everything is validated before anything is probed, and every problem is
 * reported at once with its JSON pointer: unknown check kinds, duplicate
 * instance ids, unknown or cyclic dependencies (the cycle named), bad URLs,
 * ports, durations and thresholds. The format is documented in
 * ofs-health(1).
 *
 * Resolution rules (what the loader fills in, so users of the structs
 * never look at JSON again):
 *  - Services keep the order of the file, then targets' new services in
 *    the order they came. Node i of topology.deps is service i.
 *  - An instance's check is the service's "check" object with the
 *    instance's (or target's) "check" object laid over it key by key. The
 *    common keys (timeout, warn, crit, retries) always merge; the service's
 *    kind-specific keys apply only when the kinds agree. No check at all
 *    means kind http. What a kind requires (an exec check's command, a
 *    heartbeat's file and ttl) is required of each instance's resolved
 *    check, so a service's check may leave it to its instances.
 *  - http: url is the instance's "url", else SCHEME://HOST:PORT PATH
 *    (IPv6 hosts bracketed; scheme http, path "/health" by default).
 *  - exec: {service} {instance} {host} {port} in the argv elements (and in
 *    a heartbeat's file name) are replaced here, at load time
 *    (proc_expand_argv rules: `{{` is a literal `{`); env holds
 *    OFS_SERVICE, OFS_INSTANCE, OFS_HOST, OFS_PORT (the last two only when
 *    known), then the check's own "env", for both argv and shell forms.
 *  - A json condition's value is kept as text: a string as it is, a
 *    number in its shortest exact form, true, false or null; "exists"
 *    (which must be true) leaves json_value NULL.
 *  - Hooks (start, stop, restart) are kept as templates: their
 *    placeholders are for the caller to fill per instance (see
 *    topo_instance_vars).
 *  - Every string in these structs is owned by the topology and freed by
 *    topo_free; a struct check_spec is released with check_spec_release.
 *
 * Limits: durations are "250ms"-style strings or numbers of seconds,
 * kept as whole milliseconds (rounded down); timeout, ttl, recovery
 * timeout and window must be at least 1ms, while warn, crit (0: none),
 * backoff, backoff_max, grace and reset may be 0; warn must not be above
 * crit, nor backoff_max below backoff (a backoff above the default cap
 * raises the cap when backoff_max is not given). rise, fall and budget
 * are 1..1000, retries 0..100, quorum 1..instances, ports 1..65535.
 * status entries are 100..599 as 200, "200", "200-299" or "2xx". Regexes
 * (POSIX ERE) are compiled here, and one whose repetition counts multiply
 * beyond 100000 copies is refused before it reaches regcomp.
 */
#ifndef OFS_TOPOLOGY_H
#define OFS_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "check.h"
#include "graph.h"
#include "proc.h"
#include "strbuf.h"

struct ht;

/* How a service is restarted and when recovery gives up. */
struct topo_recovery {
	char **restart;          /* argv with {service} {instance} {host} {port}, or NULL */
	char *restart_shell;     /* or a sh -c string (context in OFS_* env) */
	char **start, **stop;    /* the other hooks, same form (may be NULL) */
	char *start_shell;       /* or their sh -c strings (at most one of each pair) */
	char *stop_shell;
	int64_t timeout_ms;      /* for a hook to finish: default 30 s */
	int64_t backoff_ms;      /* first wait before a restart: default 1 s */
	int64_t backoff_max_ms;  /* cap on the doubling: default 60 s */
	int budget;              /* restarts allowed within budget_window: default 5 */
	int64_t budget_window_ms;/* default 10 min */
	int64_t grace_ms;        /* after a restart, failures are not judged: default 5 s */
	int64_t reset_ms;        /* healthy this long resets back-off and budget: default 60 s */
};

struct topo_instance {
	char *id;
	char *host;              /* "" when unknown (exec, heartbeat); from the URL if not given */
	int port;                /* 0 when unknown; from the URL (80/443 by default) if not given */
	struct check_spec check; /* the service's check resolved for this instance */
	size_t service;          /* index into topology.services */
	const char *pointer;     /* JSON pointer of its definition, for messages; "" for a
				  * target; owned by the topology */
};

struct topo_service {
	char *name;
	char **depends_on;       /* names */
	size_t ndeps;
	struct topo_instance *instances;
	size_t ninstances;
	int quorum;              /* healthy instances needed; default all */
	int rise, fall;          /* hysteresis: default 2 and 3 (HAProxy) */
	struct topo_recovery recovery;
	/* Added for targets and messages: */
	bool quorum_all;         /* quorum not given: it follows ninstances as targets come */
	char *pointer;           /* "/services/NAME", or "" for a service a target created */
	cJSON *check_def;        /* a copy of the service's "check" object, or NULL: the
				  * base that targets' "check" objects are laid over */
	size_t ainstances;       /* private: room in instances */
};

struct topology {
	char *name;              /* "name" of the file, or "" */
	char *path;              /* the name in messages ("<stdin>" for "-"), "" after topo_init */
	struct topo_service *services;
	size_t nservices;
	struct graph *deps;      /* service -> dependency edges */
	/* private */
	size_t aservices;
	struct ht *service_names; /* name -> index + 1 */
	struct ht *instance_ids;  /* id -> the instance's pointer string */
};

/*
 * topo_load: read and validate path ("-" is stdin). On failure returns -1
 * with every problem in err, one per line, as
 * "FILE: /services/orders/instances/1/port: must be 1..65535, got 0".
 * Every line ends with '\n' (also a syntax error's "FILE:LINE:COL: ..."
 * or "cannot open ..."). *t is then empty (topo_free is harmless); on
 * success free it with topo_free. Regexes are compiled.
 */
int topo_load(const char *path, struct topology *t, struct strbuf *err);
/* topo_parse: the same from a parsed document (name used in messages).
 * doc is only read; nothing in *t points into it. *t need not be
 * initialised (what it held is not freed). */
int topo_parse(const char *name, const cJSON *doc, struct topology *t, struct strbuf *err);
/* topo_init: an empty topology, for targets only. */
void topo_init(struct topology *t);
/*
 * topo_add_target: add one instance from a JSONL record such as
 * {"service":"orders","id":"orders-3","url":"http://10.0.0.7:8080/health"}
 * or {"service":"db","host":"127.0.0.1","port":5432,"check":{"kind":"tcp"}};
 * an unknown service is created with defaults. -1 with a reason in err.
 *
 * Keys: service (required), id, url, host, port, check (as an instance
 * of the file; its check is laid over the service's). "type", "ts",
 * "trace_id" and "span_id" (record fields) are ignored, anything else is
 * an unknown key. Without "id" the id is the url, else "HOST:PORT". Ids
 * are unique across the topology. On failure nothing is added and err
 * gets one line without '\n', the problems joined by "; ", pointers
 * relative to the record: "/port: must be 1..65535, got 0" (the caller
 * adds "FILE:LINE: "). A service whose quorum was not given keeps
 * needing all its instances.
 */
int topo_add_target(struct topology *t, const cJSON *rec, struct strbuf *err);
/* topo_finish: check dependencies and cycles after targets were added.
 * Rebuilds t->deps; errors as topo_load's, -1 if any. */
int topo_finish(struct topology *t, struct strbuf *err);
/* topo_free: release everything; *t is left as after topo_init minus the
 * allocations (all zero). t may be all zero already. */
void topo_free(struct topology *t);

/* Lookups: index or -1. */
int topo_service_index(const struct topology *t, const char *name);

/* topo_find_instance: the instance with this id, or NULL. The pointer is
 * valid until the next topo_add_target. */
struct topo_instance *topo_find_instance(const struct topology *t, const char *id);

/* The placeholders every hook and exec check gets. */
#define TOPO_NVARS 4
/* Room for a port's text in topo_instance_vars. */
#define TOPO_PORTBUF 8

/*
 * topo_instance_vars: fill vars with service, instance, host and port
 * (in that order) for proc_expand_argv; port's text goes into portbuf
 * ("" when 0). The values point into t, in and portbuf. Returns
 * TOPO_NVARS. Nothing is allocated.
 */
size_t topo_instance_vars(const struct topology *t, const struct topo_instance *in,
			  struct proc_var vars[TOPO_NVARS], char portbuf[TOPO_PORTBUF]);

#endif
