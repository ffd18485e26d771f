/*
 * shopd.h: the commands of shopd, the example shop's one program, and
 * the helpers they share.
 *
 *	shopd start   --dir DIR [--topology FILE] [--fixed-ports] [INSTANCE ...]
 *	shopd stop    --dir DIR [INSTANCE ...]
 *	shopd restart --dir DIR INSTANCE ...
 *	shopd status  --dir DIR [INSTANCE ...]
 *	shopd url     --dir DIR SERVICE|INSTANCE
 *	shopd serve   --dir DIR --instance ID [--version V] [--fault JSON]
 *	shopd serve   --dir DIR --service SVC --port PORT [--id ID] [--version V] [--fault JSON]
 *
 * An INSTANCE operand is an instance id or a service name (all of its
 * instances). Records go to stdout as JSON Lines, one "shop.instance"
 * per instance: service, instance, url, pid (when known) and state: "up"
 * (running and healthy), "unhealthy" (running, health check failing),
 * "down" (not running), "stopped" (by this stop) or "running" (a stop
 * that failed); status adds health_status, and "error" says what is
 * wrong with an instance that is not up.
 *
 * The second form of serve runs a standalone instance of SVC that is not
 * in the topology (its id defaults to SVC-PORT): what a deploy tool
 * starts, one per version, beside or instead of the topology's own.
 */
#ifndef SHOP_SHOPD_H
#define SHOP_SHOPD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "jw.h"
#include "opt.h"
#include "strbuf.h"
#include "topology.h"

/* Option ids shared by the commands' tables. */
enum {
	SHOP_OPT_DIR = 1000,
	SHOP_OPT_TOPOLOGY,
	SHOP_OPT_FIXED_PORTS,
	SHOP_OPT_INSTANCE,
	SHOP_OPT_SERVICE,
	SHOP_OPT_PORT,
	SHOP_OPT_VERSION,
	SHOP_OPT_FAULT,
	SHOP_OPT_ID,
};

/* The commands (argv[0] is the command name); each returns the exit status. */
int shop_cmd_start(int argc, char **argv);
int shop_cmd_stop(int argc, char **argv);
int shop_cmd_restart(int argc, char **argv);
int shop_cmd_status(int argc, char **argv);
int shop_cmd_url(int argc, char **argv);
int shop_cmd_serve(int argc, char **argv);

/*
 * shop_stop_instances: stop the n instances of the shop in dir (absolute):
 * SIGTERM to all at once, up to 5 s for them to go, then SIGKILL. Pid
 * files of stopped instances are removed. With records, one
 * "shop.instance" record per instance (state "stopped") goes to stdout.
 * Returns 0, or 1 if some instance could not be stopped (reported).
 */
int shop_stop_instances(const char *dir, struct shop_instance *const *ins, size_t n, bool records);

/*
 * shop_select: the instances named by the operands (instance ids or
 * service names; none: every instance), without repeats, in start order
 * (dependencies first). An unknown name is a usage error (exits 2);
 * p is only used for that message and may be NULL when nops is 0.
 * Returns the count; *out is newly allocated (the caller frees it).
 */
size_t shop_select(const struct opt_parser *p, const struct shop_topo *t, char **ops, int nops,
		   struct shop_instance ***out);

/*
 * shop_rec_instance: begin a "shop.instance" record in w: type, ts,
 * service, instance, url, pid (when > 0) and state. The caller adds its
 * fields and ends it with rec_end(w, out_stdout()).
 */
void shop_rec_instance(struct jw *w, const struct shop_instance *in, pid_t pid, const char *state);

/* shop_exe_path: the absolute path of this program (newly allocated). */
char *shop_exe_path(void);

/* shop_print_errors: report each line of err through error(). */
void shop_print_errors(const struct strbuf *err);

/* shop_cfg_errors: cfg's error lines joined by "; ", appended to out. */
void shop_cfg_errors(const struct cfg *cfg, struct strbuf *out);

#endif
