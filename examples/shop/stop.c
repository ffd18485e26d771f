/*
 * stop.c: `shopd stop`: SIGTERM to every selected instance at once, up to
 * 5 s for them to finish, SIGKILL for the rest. Only a process that is
 * verifiably the instance (instance.h) is ever signalled, so a stale pid
 * file never kills a stranger that inherited the pid. Stopping what is
 * not running succeeds, so stop is safe in traps and retries.
 */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

#include "instance.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "shopd.h"
#include "timefmt.h"

#define STOP_GRACE_MS 5000
#define KILL_WAIT_MS 2000

/* Wait up to ms for the signalled instances to be gone; returns how many remain. */
static size_t wait_gone(const char *dir, struct shop_instance *const *ins, const pid_t *pids,
			bool *gone, size_t n, int ms)
{
	int64_t deadline = mono_ms() + ms;
	for (;;) {
		size_t left = 0;
		for (size_t i = 0; i < n; i++) {
			if (gone[i])
				continue;
			waitpid(pids[i], NULL, WNOHANG); /* reaps it if it is our child */
			if (!shop_pid_running(pids[i], dir, ins[i]->id))
				gone[i] = true;
			else
				left++;
		}
		if (!left || mono_ms() >= deadline)
			return left;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int shop_stop_instances(const char *dir, struct shop_instance *const *ins, size_t n, bool records)
{
	pid_t *pids = xcalloc(n ? n : 1, sizeof(*pids));
	bool *gone = xcalloc(n ? n : 1, sizeof(*gone));
	bool *killed = xcalloc(n ? n : 1, sizeof(*killed));
	int status = 0;
	for (size_t i = 0; i < n; i++) {
		pids[i] = shop_pid_read(dir, ins[i]->id);
		if (!shop_pid_running(pids[i], dir, ins[i]->id)) {
			pids[i] = 0;
			gone[i] = true;
		} else if (kill(pids[i], SIGTERM) < 0 && errno != ESRCH) {
			error_errno("cannot stop instance '%s' (pid %d)", ins[i]->id, (int)pids[i]);
			gone[i] = true; /* nothing more we can do */
			status = EXIT_NO;
		}
	}
	if (wait_gone(dir, ins, pids, gone, n, STOP_GRACE_MS)) {
		for (size_t i = 0; i < n; i++) {
			if (!gone[i]) {
				kill(pids[i], SIGKILL);
				killed[i] = true;
			}
		}
		wait_gone(dir, ins, pids, gone, n, KILL_WAIT_MS);
	}
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	/* Report dependents first: the order a careful operator stops in. */
	for (size_t k = n; k-- > 0;) {
		bool still = pids[k] && shop_pid_running(pids[k], dir, ins[k]->id);
		if (still) {
			error("instance '%s' (pid %d) is still running", ins[k]->id, (int)pids[k]);
			status = EXIT_NO;
		} else {
			shop_pid_remove(dir, ins[k]->id);
		}
		if (!records)
			continue;
		shop_rec_instance(&w, ins[k], pids[k], still ? "running" : "stopped");
		if (pids[k] && !still)
			jw_kv_str(&w, "signal", killed[k] ? "SIGKILL" : "SIGTERM");
		rec_end(&w, out_stdout());
	}
	sb_release(&sb);
	free(pids);
	free(gone);
	free(killed);
	return status;
}

int shop_cmd_stop(int argc, char **argv)
{
	struct opt_parser p;
	const char *dir_arg = NULL;
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE)
		if (c == SHOP_OPT_DIR)
			dir_arg = p.arg;
	if (!dir_arg)
		opt_usage_error(&p, "--dir is required");
	char **ops;
	int nops = opt_operands(&p, &ops);
	int status = 0;
	char *dir = shop_abs_dir(dir_arg);
	struct shop_topo t;
	struct strbuf err = SB_INIT;
	if (!dir || shop_load_runtime(&t, dir, &err) < 0) {
		if (!dir || errno == ENOENT) {
			warn("no shop in '%s': nothing to stop", dir_arg);
		} else {
			shop_print_errors(&err);
			status = EXIT_USAGE;
		}
	} else {
		struct shop_instance **ins;
		size_t n = shop_select(&p, &t, ops, nops, &ins);
		status = shop_stop_instances(dir, ins, n, true);
		free(ins);
		shop_topo_free(&t);
	}
	sb_release(&err);
	free(dir);
	opt_end(&p);
	return status;
}
