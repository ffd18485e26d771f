/*
 * deploy.h: what the parts of ofs-deploy share.
 *
 * A deployment moves one service from the revision it runs to a new one.
 * The spec (spec.c) says what to run and how; an instance driver starts
 * and stops instances (run_process.c, run_exec.c, kubectl.c); a traffic
 * driver decides which instances get requests and how many (haproxy.c,
 * nginx.c, traffic_exec.c, kubectl.c); the strategies (rolling.c,
 * bluegreen.c, canary.c) move a fleet of instances from one revision to
 * the next through the engine's few moves (fleet.c: start and wait ready,
 * route, retire); analysis runs (measure.c) decide whether to go on; the
 * journal and the service's state directory (store.c) make every move
 * durable so `resume`, `rollback` and `status` can pick up after a kill -9.
 *
 * State directory of a service: $OFS_STATE_DIR/deploy/SERVICE/
 *   lock                 flock held by the process driving a deploy
 *   revisions/N.json     the spec of revision N, as it was deployed
 *   deploys/N.jsonl      the journal of the deploy that made revision N
 *   current.json         the revision serving now and its instances (atomic)
 *   control              a request from `promote` or `abort` to the running deploy
 *   history.jsonl        one deploy.done record per finished deploy
 */
#ifndef OFS_DEPLOY_H
#define OFS_DEPLOY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "analysis.h"
#include "config.h"
#include "jw.h"
#include "out.h"
#include "proc.h"
#include "rollout.h"
#include "strbuf.h"
#include "tracectx.h"

struct journal;

/* ---- the spec (spec.c) --------------------------------------------------- */

/* A hook: an argv template with {placeholders}, or a sh -c string. */
struct dp_cmd {
	char **argv; /* NULL-terminated, or NULL */
	char *shell; /* or NULL; at most one of the two is set */
};

enum dp_runner_kind { DP_RUN_PROCESS, DP_RUN_EXEC, DP_RUN_KUBECTL };
enum dp_router_kind { DP_ROUTE_NONE, DP_ROUTE_HAPROXY, DP_ROUTE_NGINX, DP_ROUTE_EXEC,
		      DP_ROUTE_KUBECTL };
enum dp_strategy_kind { DP_ROLLING, DP_BLUEGREEN, DP_CANARY };

/* How an instance is judged ready. */
enum dp_ready_kind { DP_READY_HTTP, DP_READY_TCP, DP_READY_COMMAND };
struct dp_ready {
	enum dp_ready_kind kind;
	char *path;          /* http: default "/health" */
	int64_t timeout_ns;  /* per attempt: default 1s */
	struct dp_cmd command; /* command: exit 0 = ready */
};

/* /instances: how instances run. */
struct dp_instances {
	enum dp_runner_kind driver;
	struct dp_cmd start;   /* process, exec: required */
	struct dp_cmd stop;    /* exec: required; process: default SIGTERM, SIGKILL after stopTimeout */
	char *host;            /* default "127.0.0.1" */
	int port_min, port_max;/* "ports": "18100-18199", "18100" or 18100; 0: none */
	struct dp_ready ready;
	int64_t ready_timeout_ns; /* readyTimeout: default 60s */
	int64_t stop_timeout_ns;  /* stopTimeout: default 10s */
	/* kubectl */
	char *kubectl;         /* the program: default "kubectl" */
	char *context, *namespace_;
	char *deployment;      /* a template: default "{service}-{version}" */
	char *container;       /* default: the service */
	char *image;           /* a template, e.g. "registry/shop:{version}"; required for kubectl */
};

/* /traffic: how requests reach instances. */
struct dp_traffic {
	enum dp_router_kind driver;
	int64_t drain_timeout_ns; /* drainTimeout: default 30s */
	/* haproxy */
	char *socket;          /* runtime API: a Unix socket path or HOST:PORT */
	char *backend;         /* default: the service */
	int64_t timeout_ns;    /* per runtime command: default 2s */
	/* nginx */
	char *upstream;        /* default: the service */
	char *file;            /* the upstream file written (included by nginx.conf) */
	struct dp_cmd test;    /* default ["nginx", "-t"] */
	struct dp_cmd reload;  /* default ["nginx", "-s", "reload"] */
	char *pid_file;        /* pidFile: nginx's; lets drains wait for old workers */
	/* exec */
	struct dp_cmd set_weights; /* setWeights: the weights as JSON on stdin */
	/* kubectl */
	char *k8s_service;     /* "service": the Service whose selector moves (blue/green) */
	char *split;           /* "trafficSplit": the SMI TrafficSplit name (canary) */
};

/* A condition on a measurement: `result OP NUMBER`, joined by && and ||
 * (&& binds tighter; no parentheses). */
enum dp_op { DP_LT, DP_LE, DP_GT, DP_GE, DP_EQ, DP_NE };
struct dp_term {
	enum dp_op op;
	double value;
	bool or_next;          /* this term is followed by ||, else && (or the end) */
};
struct dp_cond {
	char *text;            /* as written, NULL when not defined */
	struct dp_term *term;
	size_t n;
};

enum dp_provider_kind { DP_PROV_HTTP, DP_PROV_HAPROXY, DP_PROV_COMMAND, DP_PROV_HEALTH };
/* What a haproxy provider measures, over the servers of the set it names. */
enum dp_hap_metric { DP_HAP_ERROR_RATE, DP_HAP_REQUEST_RATE, DP_HAP_SESSIONS };
enum dp_target_set { DP_SET_NEW, DP_SET_OLD, DP_SET_ALL };

/* One metric of an analysis (Argo's metric). */
struct dp_metric {
	char *name;
	int64_t interval_ns;      /* default 10s */
	int64_t initial_delay_ns; /* default 0 */
	struct an_config an;      /* count, limits, noData (Argo's defaults) */
	struct dp_cond success, failure;
	enum dp_provider_kind provider;
	/* http: GET url, the value at json_path (jsonpath.h) */
	char *url;
	char *json_path;          /* http and command: NULL means the whole body is the number */
	int64_t timeout_ns;       /* http, command: default 5s */
	/* haproxy: socket/backend default to /traffic's */
	char *socket, *backend;
	enum dp_hap_metric hap_metric;
	enum dp_target_set of;    /* default DP_SET_NEW */
	/* command */
	struct dp_cmd command;
	/* health: the ready check of every instance of `of`; result = healthy fraction 0..1 */
};

/* A named analysis: its metrics run together; the analysis fails when any
 * metric fails, is inconclusive when any is and none failed. */
struct dp_analysis {
	char *name;
	struct dp_metric *metric;
	size_t nmetric;
};

struct dp_strategy {
	enum dp_strategy_kind kind;
	/* rolling */
	struct ro_amount max_surge, max_unavailable; /* default 25 %, 25 % */
	int64_t min_ready_ns;     /* minReady: healthy this long before traffic; default 0 */
	int64_t progress_deadline_ns; /* progressDeadline: default 10m */
	/* blue/green */
	bool auto_promote;        /* autoPromotion: default true */
	int64_t auto_promotion_ns;/* autoPromotionSeconds-like delay before switching; 0 */
	int64_t scale_down_delay_ns; /* scaleDownDelay: default 30s */
	ssize_t pre_analysis, post_analysis; /* indexes into spec->analysis, -1 none */
	/* canary: the steps (explicit or from stepWeight/maxWeight or
	 * stepWeights); RO_STEP_ANALYSIS.analysis indexes spec->analysis */
	struct ro_canary canary;
	int64_t interval_ns;      /* stepWeight mode: the pause per weight step */
	/* rolling and canary: analyses run after every batch / as the
	 * pause of stepWeight mode; -1 none */
	ssize_t analysis;
};

struct dp_spec {
	char *file;               /* as named on the command line */
	char *text;               /* the file's bytes (kept as the revision's copy) */
	size_t text_len;
	char *service;            /* [a-zA-Z0-9._-]+, at most 64 bytes */
	char *version;            /* same characters */
	char *artifact;           /* optional, {artifact} */
	int replicas;             /* 1..1000 */
	struct dp_instances instances;
	struct dp_traffic traffic;
	struct dp_strategy strategy;
	struct dp_analysis *analysis;
	size_t nanalysis;
};

/*
 * dp_spec_load: read and validate path completely (every problem as
 * "FILE: POINTER: message" in err, one per line; syntax errors with line
 * and column). Returns 0 with *spec filled, or -1 (spec empty). Checks
 * only what the file says; reachability is the drivers' prepare().
 */
int dp_spec_load(const char *path, struct dp_spec *spec, struct strbuf *err);
/* dp_spec_parse: the same from bytes in memory (name used in messages). */
int dp_spec_parse(const char *name, const char *text, size_t len, struct dp_spec *spec,
		  struct strbuf *err);
void dp_spec_release(struct dp_spec *spec);
const char *dp_runner_name(enum dp_runner_kind k);
const char *dp_router_name(enum dp_router_kind k);
const char *dp_strategy_name(enum dp_strategy_kind k);

/* dp_cond_eval: DP_COND-style value of c on v: AN_COND_NONE when c is not
 * defined, else AN_COND_TRUE/FALSE (NaN: AN_COND_ERROR). */
enum an_cond dp_cond_eval(const struct dp_cond *c, double v);
/* dp_cond_parse (cond.c): compile text into c (which owns a copy of
 * text). Returns 0, or -1 with "REASON at column N" in err and c empty.
 * dp_cond_release frees c and leaves it undefined (text NULL). */
int dp_cond_parse(const char *text, struct dp_cond *c, struct strbuf *err);
void dp_cond_release(struct dp_cond *c);

/* ---- instances --------------------------------------------------------- */

enum dp_inst_state {
	DP_STARTING, /* launched, not yet ready */
	DP_READY,    /* passed its ready check for minReady; takes no traffic yet */
	DP_SERVING,  /* routed, with weight */
	DP_DRAINING, /* no new traffic; in-flight requests finishing */
	DP_STOPPED,  /* gone */
};
const char *dp_inst_state_name(enum dp_inst_state s);
int dp_inst_state_parse(const char *s, enum dp_inst_state *out);

struct dp_inst {
	char *id;           /* "SERVICE-DEPLOY-N", unique in the service forever */
	int revision;
	char *version;
	char *host;
	int port;           /* 0: none (kubectl) */
	long pid;           /* process: the started process; 0 none */
	unsigned long long pid_start; /* its start time (/proc/PID/stat field 22) */
	char *slot;         /* haproxy: the server holding it; NULL none */
	int weight;         /* last weight applied, in the router's scale */
	enum dp_inst_state state;
};

/* ---- a deploy in progress (engine.c) ---------------------------------- */

struct dp_runner;
struct dp_router;

struct dp_deploy {
	const struct dp_spec *spec;      /* the revision being deployed */
	const struct dp_spec *prev_spec; /* the revision it replaces; NULL first deploy */
	int number;                      /* the deploy's number: deploys/N.jsonl */
	int revision, from_revision;     /* from_revision 0: none */
	char *service;
	char *dir;                       /* the service's state directory */
	char *id;                        /* "SERVICE/N" (N: number), in every record */
	struct dp_inst **inst;           /* every instance known, any revision */
	size_t ninst, ainst;
	struct journal *journal;         /* NULL in --dry-run */
	struct out *out;                 /* records; NULL: none */
	struct tc trace;
	bool has_trace;
	bool dry_run;
	bool quiet;
	const struct dp_runner *runner;
	const struct dp_router *router;
	void *runner_state, *router_state; /* the drivers' own, freed by their release */
	int64_t start_ns;
	int next_index;                  /* for instance ids */
};

/* Instance drivers. Functions return 0, or -1 with one line in err. */
struct dp_runner {
	const char *name;
	/* prepare: before any change; check what can be checked (the
	 * program exists, ports are free, kubectl answers). */
	int (*prepare)(struct dp_deploy *d, struct strbuf *err);
	/* start: launch in (id, revision, version set) under spec (the
	 * revision's spec); fill host, port, pid, pid_start. Returns once
	 * launched; readiness is dp_wait_ready's. */
	int (*start)(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst *in,
		     struct strbuf *err);
	/* ready: optional; when set, dp_wait_ready asks it instead of
	 * running the spec's ready check: 1 ready, 0 not yet, -1 failed for
	 * good (err says why). */
	int (*ready)(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst *in,
		     struct strbuf *err);
	/* alive: 1 running, 0 gone, -1 cannot tell. */
	int (*alive)(struct dp_deploy *d, const struct dp_inst *in);
	/* stop: stop in and wait until it is gone (bounded). */
	int (*stop)(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst *in,
		    struct strbuf *err);
	void (*release)(struct dp_deploy *d);
};
extern const struct dp_runner dp_runner_process, dp_runner_exec, dp_runner_kubectl;

/* Traffic drivers. */
struct dp_router {
	const char *name;
	int max_weight;   /* weights are 0..max_weight (haproxy 256) */
	/* prepare: before any change (the socket answers and the backend
	 * exists; nginx -t passes on the current file; ...). */
	int (*prepare)(struct dp_deploy *d, struct strbuf *err);
	/* apply: make traffic follow d's instances: every DP_SERVING
	 * instance gets its weight (> 0), every DP_DRAINING one gets no new
	 * requests, others get none at all. May set in->slot. */
	int (*apply)(struct dp_deploy *d, struct strbuf *err);
	/* wait_drained: after apply, wait until in has no requests in
	 * flight (bounded by timeout_ns). */
	int (*wait_drained)(struct dp_deploy *d, struct dp_inst *in, int64_t timeout_ns,
			    struct strbuf *err);
	/* release: take in out of the router entirely (haproxy: maint, the
	 * slot freed: in->slot set to NULL). */
	int (*release)(struct dp_deploy *d, struct dp_inst *in, struct strbuf *err);
	void (*free_state)(struct dp_deploy *d);
};
extern const struct dp_router dp_router_none, dp_router_haproxy, dp_router_nginx,
	dp_router_exec, dp_router_kubectl;

/* Per-instance weights for a traffic split: ro_split_weights (rollout.h). */

/*
 * dp_wait_ready (ready.c): check each of insts (under spec's ready check,
 * on in->host:in->port) every 200 ms until it has passed continuously for
 * min_ready_ns; at most spec->instances.ready_timeout_ns in all. Instances
 * that pass are set DP_READY. Returns 0 when all are ready, else -1 with
 * "instance 'ID' not ready after 60s: REASON" (first failing) in err.
 * Honours dp_interrupted() (returns -1 with "interrupted").
 */
int dp_wait_ready(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst **insts,
		  size_t n, int64_t min_ready_ns, struct strbuf *err);

/* dp_process_adopt (run_process.c): an instance of the process driver
 * recorded before its pid was (a deploy killed while it started it):
 * take the pid and start time from its pid file if that process runs.
 * Returns 0 when in has a pid now, else -1 (nothing ran, or it is gone). */
int dp_process_adopt(struct dp_deploy *d, struct dp_inst *in);

/* dp_port_pick (run_process.c, for the process and exec drivers): the
 * lowest port of spec's range that no instance of d other than a
 * DP_STOPPED one has and no socket listens on at the host now; 0 and
 * *port, or -1 with "no free port in 18100-18199". */
int dp_port_pick(struct dp_deploy *d, const struct dp_spec *spec, int *port, struct strbuf *err);

/* Hook context: the placeholders and OFS_* variables a hook gets. */
struct dp_hookvars {
	struct proc_var v[12];
	size_t n;
	char portbuf[8], revbuf[16], replbuf[16], indexbuf[16];
};
/* dp_hook_vars: service, version, artifact, revision, replicas, instance,
 * host, port, index (in may be NULL: instance ones empty). The values
 * point into spec, in and hv. Placeholders are {name}; env OFS_NAME. */
void dp_hook_vars(const struct dp_spec *spec, const struct dp_inst *in, int index,
		  struct dp_hookvars *hv);
/* dp_hook_run: run cmd with hv (argv expanded, or sh -c with OFS_*
 * env), stdin_data (may be NULL), timeout; 0 when it exited 0, else -1
 * with "HOOK: REASON" in err (what failed and its stderr's last line).
 * out (may be NULL) receives stdout. */
int dp_hook_run(const char *what, const struct dp_cmd *cmd, const struct dp_hookvars *hv,
		const char *stdin_data, int64_t timeout_ns, struct strbuf *out,
		struct strbuf *err);

/* ---- records, waits and control (engine.c) ------------------------------ */

/* dp_rec_begin: start a record of type with ts, trace ids, "deploy"
 * (d->id), "service" and "revision". */
void dp_rec_begin(struct dp_deploy *d, struct jw *w, const char *type);
/* dp_emit: end the record in w's buffer, append it to the journal (fsync)
 * and write it to d->out. Dies (status 4) when the journal cannot be
 * written: nothing may act on a transition that is not durable. */
void dp_emit(struct dp_deploy *d, struct jw *w);

/* What a wait was cut short by. */
enum dp_wake { DP_WAKE_TIMEOUT, DP_WAKE_PROMOTE, DP_WAKE_ABORT, DP_WAKE_SIGNAL };
/* dp_control: DP_WAKE_ABORT for a pending `abort` of this deploy
 * (consumed), DP_WAKE_SIGNAL after SIGINT/SIGTERM, else DP_WAKE_TIMEOUT.
 * A `promote` is taken and kept for the next dp_sleep, which it ends at
 * once (a promote skips the current pause, or the next one). */
enum dp_wake dp_control(struct dp_deploy *d);
/* dp_sleep: wait ns (< 0: forever), looking at dp_control every 100 ms. */
enum dp_wake dp_sleep(struct dp_deploy *d, int64_t ns);
/* dp_interrupted: a SIGINT or SIGTERM has arrived. */
bool dp_interrupted(void);

/* ---- analysis (measure.c) ----------------------------------------------- */

/*
 * dp_analysis_run: run analysis a (every metric on its own interval,
 * after its initial delay, fed to an_feed) until every metric has left
 * running; emit one deploy.analysis record per measurement (metric,
 * value or error, result, phase so far) and one with "final": true per
 * metric. Looks at dp_control between measurements: an abort ends the
 * run as failed ("aborted"), a promote as an_terminate. Returns the
 * combined phase (failed > error > inconclusive > successful) with the
 * first deciding metric's reason in reason.
 */
enum an_phase dp_analysis_run(struct dp_deploy *d, const struct dp_analysis *a,
			      struct strbuf *reason);

/* ---- dry run (plan.c) --------------------------------------------------- */

/* dp_plan_print: the deploy.plan records of spec replacing from_replicas
 * instances (0: first deploy): one per batch or step, then one
 * deploy.estimate (Flagger-style minimum duration and time to roll back). */
void dp_plan_print(const struct dp_spec *spec, int from_replicas, int revision,
		   struct out *o);

#endif
