/*
 * fault_exec.c: the exec fault: any fault a command can inject and a
 * second command can revert, such as `tc qdisc add ... netem delay
 * 100ms` and `tc qdisc del ...`, an iptables rule and its deletion, or
 * a feature flag set and cleared. ofs-chaos adds the ledger: the revert
 * command is recorded before the inject command runs, so a run killed
 * in between still gets its network back from `recover`.
 *
 * Both commands are argv arrays (executed directly) or shell strings
 * (sh -c), run through proc.h with a timeout (30 s by default) in their
 * own process group; they get the fault's uid as OFS_FAULT_UID. The
 * revert command runs in the directory the inject command ran in (when
 * it still exists), so relative paths mean the same to both. A
 * non-zero exit of the inject command means nothing was injected; of the
 * revert command, that the undo failed (the fault stays live).
 */
#include "common.h"
#include <sys/stat.h>

#include "fault.h"
#include "proc.h"

static const char *const keys[] = { "inject", "revert", "timeout", "name", "duration", NULL };

#define EXEC_TIMEOUT_NS (30LL * 1000000000)

static void exec_validate(struct fv *v, const cJSON *prov, const char *ptr)
{
	int64_t ns;
	const char *s;
	fv_command(v, prov, ptr, "inject", true);
	fv_command(v, prov, ptr, "revert", true);
	fv_duration(v, prov, ptr, "timeout", false, &ns);
	fv_string(v, prov, ptr, "name", false, &s);
}

/* The name: "name", else the first word of the inject command. */
static void name_of(const cJSON *prov, struct strbuf *sb)
{
	const char *name = fget_str(prov, "name");
	const cJSON *inj = cJSON_GetObjectItemCaseSensitive(prov, "inject");
	if (name) {
		sb_addstr(sb, name);
	} else if (cJSON_IsArray(inj)) {
		const char *a0 = cJSON_GetStringValue(cJSON_GetArrayItem(inj, 0));
		sb_addstr(sb, a0 ? a0 : "");
	} else if (cJSON_IsString(inj)) {
		const char *s = inj->valuestring;
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		size_t n = strcspn(s, " \t\n;&|");
		sb_add(sb, s, n);
	}
}

static int exec_target(const cJSON *prov, const struct topology *topo, struct strbuf *target)
{
	(void)topo;
	sb_addstr(target, "exec:");
	size_t len = target->len;
	name_of(prov, target);
	return target->len > len && !strstr(target->buf + len, "${") ? 0 : -1;
}

/* Run cmd (argv array or shell string); 0 when it exited 0, else -1 with
 * err saying how it failed. r holds the result either way. */
static int run(const cJSON *cmd, int64_t timeout_ms, const char *uid, const char *cwd,
	       const char *what, struct proc_result *r, struct strbuf *err)
{
	char **argv = NULL;
	if (cJSON_IsArray(cmd)) {
		size_t n = (size_t)cJSON_GetArraySize(cmd), i = 0;
		argv = xcalloc(n + 1, sizeof(*argv));
		for (const cJSON *e = cmd->child; e; e = e->next)
			argv[i++] = xstrdup(cJSON_IsString(e) ? e->valuestring : "");
	}
	struct proc_var env[] = { { "OFS_FAULT_UID", uid } };
	struct proc_spec spec = { 0 };
	spec.argv = (const char *const *)argv;
	spec.shell = argv ? NULL : cJSON_GetStringValue(cmd);
	spec.env = env;
	spec.nenv = uid ? 1 : 0;
	struct stat st;
	if (cwd && stat(cwd, &st) == 0 && S_ISDIR(st.st_mode))
		spec.cwd = cwd;
	spec.timeout_ms = timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms;
	int rc = 0;
	if (!argv && !spec.shell) {
		sb_addf(err, "the %s command is not a command", what);
		rc = -1;
	} else if (proc_run(&spec, r) < 0 || r->exit_code != 0) {
		sb_addf(err, "the %s command failed: ", what);
		proc_describe(r, err);
		fault_add_tail(err, r->err.len ? &r->err : &r->out);
		rc = -1;
	}
	proc_argv_free(argv);
	return rc;
}

static int exec_inject(struct fault_op *op, struct strbuf *err)
{
	const cJSON *prov = op->prov;
	const cJSON *inject = cJSON_GetObjectItemCaseSensitive(prov, "inject");
	const cJSON *revert = cJSON_GetObjectItemCaseSensitive(prov, "revert");
	int64_t timeout_ms = fget_dur(prov, "timeout", EXEC_TIMEOUT_NS) / 1000000;
	if (timeout_ms < 1)
		timeout_ms = 1;
	struct strbuf name = SB_INIT;
	name_of(prov, &name);
	sb_addf(&op->target, "exec:%s", name.buf);
	cJSON_AddStringToObject(op->out, "name", name.buf);
	cJSON_AddStringToObject(op->undo, "name", name.buf);
	cJSON_AddItemToObject(op->undo, "revert", cJSON_Duplicate(revert, 1));
	cJSON_AddNumberToObject(op->undo, "timeout_ms", (double)timeout_ms);
	char *cwd = getcwd(NULL, 0);
	if (cwd)
		cJSON_AddStringToObject(op->undo, "cwd", cwd);
	free(cwd);
	sb_release(&name);
	if (op->fc->dry_run) {
		cJSON_AddItemToObject(op->out, "inject", cJSON_Duplicate(inject, 1));
		cJSON_AddItemToObject(op->out, "revert", cJSON_Duplicate(revert, 1));
		return fault_commit(op, err);
	}
	int rc = fault_commit(op, err);
	if (rc)
		return rc;
	struct proc_result r = PROC_RESULT_INIT;
	rc = run(inject, timeout_ms, op->uid, NULL, "inject", &r, err);
	if (rc == 0) {
		cJSON_AddNumberToObject(op->out, "exit_code", r.exit_code);
		cJSON_AddStringToObject(op->out, "stdout", r.out.buf);
	}
	proc_result_release(&r);
	return rc;
}

static int exec_undo(struct fault_ctx *fc, const cJSON *rec, const cJSON *undo,
		     struct strbuf *note, struct strbuf *err)
{
	(void)fc;
	(void)note;
	const cJSON *revert = cJSON_GetObjectItemCaseSensitive(undo, "revert");
	int64_t timeout_ms = fget_int(undo, "timeout_ms", EXEC_TIMEOUT_NS / 1000000);
	struct proc_result r = PROC_RESULT_INIT;
	int rc = run(revert, timeout_ms < 1 ? 1 : timeout_ms, fget_str(rec, "uid"),
		     fget_str(undo, "cwd"), "revert", &r, err);
	proc_result_release(&r);
	return rc;
}

const struct fault_kind fault_kind_exec = {
	"exec", keys, exec_validate, exec_target, exec_inject, exec_undo,
};
