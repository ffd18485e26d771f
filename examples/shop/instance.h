/*
 * instance.h: the run directory of a started shop and the state of the
 * instance processes in it.
 *
 * `shopd start --dir DIR` lays DIR out as:
 *
 *	DIR/topology.json     the runtime topology (ports, paths filled in)
 *	DIR/run/ID.pid        the pid of instance ID, while it should run
 *	DIR/run/ID.log        its standard output and error
 *	DIR/spans.jsonl       span records of every instance
 *	DIR/logs.jsonl        log records of every instance
 *	DIR/store/SERVICE/    a service's idempotency store, shared by its instances
 *
 * A pid file alone proves little (the process may have died and its pid
 * been reused), so an instance counts as running only if the process
 * exists, is not a zombie and its command line is `shopd serve --dir DIR
 * --instance ID`. Health is probed with GET on the check path, several
 * instances at once.
 */
#ifndef SHOP_INSTANCE_H
#define SHOP_INSTANCE_H

#include <stdbool.h>
#include <sys/types.h>

#include "strbuf.h"
#include "topology.h"

/* Newly allocated paths inside dir (the caller frees them). */
char *shop_runtime_topology(const char *dir);
char *shop_pid_path(const char *dir, const char *id);
char *shop_log_path(const char *dir, const char *id);

/*
 * shop_abs_dir: dir as an absolute path without symlinks (newly
 * allocated), or NULL with errno set when it cannot be resolved (it does
 * not exist, say).
 */
char *shop_abs_dir(const char *dir);

/*
 * shop_load_runtime: load DIR/topology.json (as shop_topo_load with the
 * shop's roles). Returns 0, or -1 with the reason in err; errno is
 * ENOENT when the file does not exist (no shop was started in dir).
 */
int shop_load_runtime(struct shop_topo *t, const char *dir, struct strbuf *err);

/* shop_pid_read: the pid in DIR/run/ID.pid, or 0 when absent or malformed. */
pid_t shop_pid_read(const char *dir, const char *id);
/* shop_pid_write: write pid to DIR/run/ID.pid atomically; -1 with err on failure. */
int shop_pid_write(const char *dir, const char *id, pid_t pid, struct strbuf *err);
/* shop_pid_remove: remove DIR/run/ID.pid if present. */
void shop_pid_remove(const char *dir, const char *id);

/*
 * shop_pid_running: whether pid is alive, not a zombie, and runs
 * `shopd serve --dir DIR --instance ID` (dir absolute). Where /proc is
 * not mounted only the first can be checked.
 */
bool shop_pid_running(pid_t pid, const char *dir, const char *id);

/* The answer of one health probe. */
struct shop_health {
	long status;	 /* HTTP status, 0 when no answer came */
	char as[80];	 /* the "instance" the answer named, "" if none */
	char error[400]; /* why it is not healthy, "" when it is */
};

/*
 * shop_probe: GET each instance's check path (n of them, at once) with
 * the given total timeout, filling out[i]. Healthy means status 200 and
 * an answer naming the right instance; otherwise error says why
 * ("connection refused", "answered 503", "port answered as 'x'").
 */
void shop_probe(struct shop_instance *const *ins, size_t n, long timeout_ms,
		struct shop_health *out);

/* shop_health_ok: whether h is a healthy answer. */
bool shop_health_ok(const struct shop_health *h);

#endif
