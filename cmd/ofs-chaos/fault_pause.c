/*
 * fault_pause.c: the pause fault: freeze a process with SIGSTOP, the
 * way a long garbage-collection pause, a swapped-out host or a debugger
 * freezes a service: its sockets stay open and its peers see a process
 * that accepts connections and answers nothing.
 *
 * Only the process itself is stopped, not its process group (a shell
 * script's children are not what the target names). The undo sends
 * SIGCONT, and only when the pid still belongs to the process that was
 * paused (same start time), so a pid reused after a crash is never
 * touched. A process that is gone needs nothing.
 */
#include "common.h"
#include <signal.h>

#include "fault.h"
#include "pid.h"
#include "timefmt.h"

static const char *const keys[] = { "instance", "service", "pick", "pid_file", "pid", "duration",
				    NULL };

/* How long to wait for the kernel to show a stopped process as stopped. */
#define PAUSE_SETTLE_MS 1000

static void pause_validate(struct fv *v, const cJSON *prov, const char *ptr)
{
	ftarget_validate(v, prov, ptr, "pause");
}

static int pause_target(const cJSON *prov, const struct topology *topo, struct strbuf *target)
{
	return ftarget_name(prov, topo, target);
}

/* Wait until pid shows as stopped (state T), so callers see the effect. */
static void settle(pid_t pid)
{
	int64_t end = mono_ms() + PAUSE_SETTLE_MS;
	struct pidstat st;
	while (pid_stat(pid, &st) == 0 && st.state != 'T' && st.state != 't' &&
	       st.state != 'Z' && mono_ms() < end)
		fault_sleep_ms(5);
}

static int pause_inject(struct fault_op *op, struct strbuf *err)
{
	struct ftarget *t;
	size_t n;
	if (ftarget_resolve(op->fc, op->prov, &t, &n, &op->target, op->out, err) < 0)
		return -1;
	int rc = -1;
	for (size_t i = 0; i < n; i++) {
		if (kill(t[i].pid, 0) < 0 && errno == EPERM) {
			sb_addf(err, "cannot signal process %ld: %s", (long)t[i].pid, strerror(errno));
			goto out;
		}
	}
	cJSON *procs = cJSON_AddArrayToObject(op->undo, "procs");
	for (size_t i = 0; i < n; i++) {
		cJSON *p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "pid", (double)t[i].pid);
		cJSON_AddNumberToObject(p, "pid_start", (double)t[i].start);
		if (t[i].in)
			cJSON_AddStringToObject(p, "instance", t[i].in->id);
		cJSON_AddItemToArray(procs, p);
	}
	if ((rc = fault_commit(op, err)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (kill(t[i].pid, SIGSTOP) < 0) {
			sb_addf(err, "cannot stop process %ld: %s", (long)t[i].pid, strerror(errno));
			for (size_t k = 0; k < i; k++)
				kill(t[k].pid, SIGCONT);
			rc = -1;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++)
		settle(t[i].pid);
out:
	free(t);
	return rc;
}

static int pause_undo(struct fault_ctx *fc, const cJSON *rec, const cJSON *undo,
		      struct strbuf *note, struct strbuf *err)
{
	(void)fc;
	(void)rec;
	const cJSON *procs = cJSON_GetObjectItemCaseSensitive(undo, "procs");
	int rc = 0;
	for (const cJSON *p = cJSON_IsArray(procs) ? procs->child : NULL; p; p = p->next) {
		pid_t pid = (pid_t)fget_int(p, "pid", 0);
		uint64_t start = (uint64_t)fget_int(p, "pid_start", 0);
		if (pid <= 0 || !start) {
			sb_addstr(err, "a paused process in the ledger has no pid and start time");
			rc = -1;
			continue;
		}
		if (!pid_alive(pid, start)) {
			if (note->len)
				sb_addstr(note, "; ");
			sb_addf(note, "nothing to undo: process %ld is gone", (long)pid);
			continue;
		}
		if (kill(pid, SIGCONT) < 0 && errno != ESRCH) {
			if (err->len)
				sb_addstr(err, "; ");
			sb_addf(err, "cannot resume process %ld: %s", (long)pid, strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

const struct fault_kind fault_kind_pause = {
	"pause", keys, pause_validate, pause_target, pause_inject, pause_undo,
};
