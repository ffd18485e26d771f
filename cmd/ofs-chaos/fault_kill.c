/*
 * fault_kill.c: the kill fault: send a signal (KILL by default) to an
 * instance's process, a service's (one picked, or all), a pid file's or
 * a pid, and optionally wait for whatever supervises it to bring it back
 * (wait_restart), which is the measure a chaos run is usually after.
 *
 * A killed process cannot be un-killed, so the undo is the nearest
 * honest thing: for a topology instance with a start hook (or a restart
 * hook), when the instance does not pass its health check, run the hook
 * and wait for the instance to answer; when it answers already, someone
 * restarted it and there is nothing to do. The inject record carries
 * the hook with its placeholders filled and the instance's resolved
 * health check, so `recover` needs neither the topology nor the run.
 * For a pid target the undo does nothing and says so.
 */
#include "common.h"
#include <signal.h>

#include "check.h"
#include "fault.h"
#include "pid.h"
#include "proc.h"
#include "suggest.h"
#include "timefmt.h"

static const char *const keys[] = { "instance", "service", "pick", "pid_file", "pid",
				    "signal", "wait_restart", NULL };

/* ---- signals ----------------------------------------------------------- */

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },       { "QUIT", SIGQUIT },   { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT },     { "BUS", SIGBUS },     { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },   { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },   { "CHLD", SIGCHLD },
	{ "CONT", SIGCONT }, { "STOP", SIGSTOP },     { "TSTP", SIGTSTP },   { "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU }, { "URG", SIGURG },       { "XCPU", SIGXCPU },   { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "PWR", SIGPWR },   { "SYS", SIGSYS },
};

int fsig_parse(const cJSON *node, struct strbuf *err)
{
	if (cJSON_IsNumber(node)) {
		double d = node->valuedouble;
		if (d >= 1 && d <= SIGRTMAX && d == (double)(int)d)
			return (int)d;
		sb_addf(err, "must be a signal name or a number 1..%d", SIGRTMAX);
		return 0;
	}
	if (!cJSON_IsString(node)) {
		sb_addstr(err, "must be a signal name (\"KILL\") or number");
		return 0;
	}
	const char *s = node->valuestring;
	char *end;
	long n = strtol(s, &end, 10);
	if (*s && !*end) {
		if (n >= 1 && n <= SIGRTMAX)
			return (int)n;
		sb_addf(err, "must be a signal name or a number 1..%d", SIGRTMAX);
		return 0;
	}
	char up[16];
	size_t len = strlen(s);
	if (len >= sizeof(up))
		len = sizeof(up) - 1;
	for (size_t i = 0; i <= len; i++)
		up[i] = i < len ? (char)((s[i] >= 'a' && s[i] <= 'z') ? s[i] - 32 : s[i]) : '\0';
	const char *name = strncmp(up, "SIG", 3) ? up : up + 3;
	const char *names[ARRAY_SIZE(signals)];
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++) {
		if (!strcmp(name, signals[i].name))
			return signals[i].sig;
		names[i] = signals[i].name;
	}
	sb_addf(err, "unknown signal '%s'", s);
	const char *near = suggest_closest(name, names, ARRAY_SIZE(signals));
	if (near)
		sb_addf(err, "; did you mean '%s'?", near);
	return 0;
}

const char *fsig_name(int sig, char buf[16])
{
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	snprintf(buf, 16, "SIG%d", sig);
	return buf;
}

/* ---- a health check kept in the ledger --------------------------------- */

static const char *const json_ops[] = { "", "equals", "not_equals", "lt", "le", "gt", "ge",
					"exists" };

static void add_str(cJSON *o, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, key, s);
}

static void add_strv(cJSON *o, const char *key, char *const *v)
{
	if (!v)
		return;
	cJSON *a = cJSON_AddArrayToObject(o, key);
	for (size_t i = 0; v[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

/* The check as JSON: everything that decides whether it passes. */
static cJSON *check_to_json(const struct check_spec *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", check_kind_name(s->kind));
	cJSON_AddNumberToObject(o, "timeout_ms", (double)s->timeout_ms);
	switch (s->kind) {
	case CHECK_HTTP:
		add_str(o, "url", s->url);
		add_str(o, "method", s->method);
		add_strv(o, "headers", s->headers);
		add_str(o, "body", s->body);
		if (s->status_ok && s->nstatus_ok) {
			cJSON *a = cJSON_AddArrayToObject(o, "status");
			for (size_t i = 0; i < s->nstatus_ok; i++) {
				cJSON *r = cJSON_CreateArray();
				cJSON_AddItemToArray(r, cJSON_CreateNumber(s->status_ok[i].lo));
				cJSON_AddItemToArray(r, cJSON_CreateNumber(s->status_ok[i].hi));
				cJSON_AddItemToArray(a, r);
			}
		}
		add_str(o, "body_contains", s->body_contains);
		add_str(o, "body_regex", s->body_regex);
		if (s->json_pointer && s->json_op != CHECK_JSON_NONE) {
			add_str(o, "json_pointer", s->json_pointer);
			cJSON_AddStringToObject(o, "json_op", json_ops[s->json_op]);
			add_str(o, "json_value", s->json_value);
		}
		if (s->tls_insecure)
			cJSON_AddTrueToObject(o, "tls_insecure");
		break;
	case CHECK_TCP:
		add_str(o, "host", s->host);
		cJSON_AddNumberToObject(o, "port", s->port);
		add_str(o, "send", s->send);
		add_str(o, "expect", s->expect);
		break;
	case CHECK_EXEC:
		add_strv(o, "argv", s->argv);
		add_str(o, "shell", s->shell);
		add_strv(o, "env", s->env);
		break;
	case CHECK_HEARTBEAT:
		add_str(o, "file", s->file);
		if (s->file_jsonl)
			cJSON_AddTrueToObject(o, "file_jsonl");
		cJSON_AddNumberToObject(o, "ttl_ms", (double)s->ttl_ms);
		break;
	}
	return o;
}

static char *get_dup(const cJSON *o, const char *key)
{
	const char *s = fget_str(o, key);
	return s ? xstrdup(s) : NULL;
}

static char **get_strv(const cJSON *o, const char *key)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsArray(a))
		return NULL;
	size_t n = (size_t)cJSON_GetArraySize(a), i = 0;
	char **v = xcalloc(n + 1, sizeof(*v));
	for (const cJSON *e = a->child; e; e = e->next)
		if (cJSON_IsString(e))
			v[i++] = xstrdup(e->valuestring);
	return v;
}

/* The check back from check_to_json; -1 when it is not one. */
static int check_from_json(const cJSON *o, struct check_spec *s)
{
	check_spec_init(s);
	const char *kind = fget_str(o, "kind");
	if (!kind)
		return -1;
	if (!strcmp(kind, "http"))
		s->kind = CHECK_HTTP;
	else if (!strcmp(kind, "tcp"))
		s->kind = CHECK_TCP;
	else if (!strcmp(kind, "exec"))
		s->kind = CHECK_EXEC;
	else if (!strcmp(kind, "heartbeat"))
		s->kind = CHECK_HEARTBEAT;
	else
		return -1;
	s->timeout_ms = fget_int(o, "timeout_ms", 2000);
	s->url = get_dup(o, "url");
	s->method = get_dup(o, "method");
	s->headers = get_strv(o, "headers");
	s->body = get_dup(o, "body");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
	if (cJSON_IsArray(st) && cJSON_GetArraySize(st)) {
		s->status_ok = xcalloc((size_t)cJSON_GetArraySize(st), sizeof(*s->status_ok));
		for (const cJSON *r = st->child; r; r = r->next) {
			const cJSON *lo = cJSON_GetArrayItem(r, 0), *hi = cJSON_GetArrayItem(r, 1);
			if (!cJSON_IsNumber(lo) || !cJSON_IsNumber(hi))
				continue;
			s->status_ok[s->nstatus_ok].lo = (int)lo->valuedouble;
			s->status_ok[s->nstatus_ok++].hi = (int)hi->valuedouble;
		}
	}
	s->body_contains = get_dup(o, "body_contains");
	s->body_regex = get_dup(o, "body_regex");
	const char *op = fget_str(o, "json_op");
	for (size_t i = 1; op && i < ARRAY_SIZE(json_ops); i++)
		if (!strcmp(op, json_ops[i]))
			s->json_op = (enum check_json_op)i;
	if (s->json_op != CHECK_JSON_NONE) {
		s->json_pointer = get_dup(o, "json_pointer");
		s->json_value = get_dup(o, "json_value");
	}
	s->tls_insecure = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "tls_insecure"));
	s->host = get_dup(o, "host");
	s->port = (int)fget_int(o, "port", 0);
	s->send = get_dup(o, "send");
	s->expect = get_dup(o, "expect");
	s->argv = get_strv(o, "argv");
	s->shell = get_dup(o, "shell");
	s->env = get_strv(o, "env");
	s->file = get_dup(o, "file");
	s->file_jsonl = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "file_jsonl"));
	s->ttl_ms = fget_int(o, "ttl_ms", 60000);
	return 0;
}

struct check_once {
	enum check_status status;
	struct strbuf reason;
};

static void on_checked(void *user, const struct check_spec *spec, const struct check_result *res,
		       void *ctx)
{
	(void)spec;
	(void)ctx;
	struct check_once *c = user;
	c->status = res->status;
	sb_add(&c->reason, res->reason.buf, res->reason.len);
}

/* Run the check once: 1 passes (ok or warning), 0 fails (why in reason),
 * -1 a stopping signal arrived. */
static int check_passes(const struct check_spec *spec, struct strbuf *reason)
{
	struct check_once c = { CHECK_UNKNOWN, SB_INIT };
	struct check_runner *r = check_runner_new(1, 1, 0);
	check_runner_add(r, spec, &c);
	int rc = check_runner_run(r, on_checked, NULL);
	check_runner_free(r);
	int pass = c.status == CHECK_OK || c.status == CHECK_WARNING;
	if (reason) {
		sb_reset(reason);
		sb_add(reason, c.reason.buf, c.reason.len);
		if (!pass && !reason->len)
			sb_addstr(reason, check_status_name(c.status));
	}
	sb_release(&c.reason);
	return rc < 0 ? -1 : pass;
}

/* ---- the hook that brings an instance back ----------------------------- */

static const char *const env_names[TOPO_NVARS] = { "OFS_SERVICE", "OFS_INSTANCE", "OFS_HOST",
						   "OFS_PORT" };

/* Add to proc (an undo entry) the start hook of instance in, filled in,
 * with its environment, timeout and the instance's check. */
static void add_hook(cJSON *proc, const struct topology *t, const struct topo_instance *in)
{
	const struct topo_recovery *rc = &t->services[in->service].recovery;
	char **argv = rc->start;
	const char *shell = rc->start_shell;
	if (!argv && !shell) {
		argv = rc->restart;
		shell = rc->restart_shell;
	}
	if (!argv && !shell)
		return;
	struct proc_var vars[TOPO_NVARS];
	char port[TOPO_PORTBUF];
	topo_instance_vars(t, in, vars, port);
	if (argv) {
		char **filled = proc_expand_argv((const char *const *)argv, vars, TOPO_NVARS);
		add_strv(proc, "start", filled);
		proc_argv_free(filled);
	} else {
		cJSON_AddStringToObject(proc, "start", shell);
	}
	cJSON *env = cJSON_AddObjectToObject(proc, "env");
	for (size_t i = 0; i < TOPO_NVARS; i++)
		if (vars[i].value && *vars[i].value)
			cJSON_AddStringToObject(env, env_names[i], vars[i].value);
	cJSON_AddNumberToObject(proc, "timeout_ms", (double)rc->timeout_ms);
	cJSON_AddItemToObject(proc, "check", check_to_json(&in->check));
}

/* Run the recorded start hook of p; 0 or -1 with err. */
static int run_hook(const cJSON *p, const char *id, struct strbuf *err)
{
	const cJSON *start = cJSON_GetObjectItemCaseSensitive(p, "start");
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(p, "env");
	struct proc_var vars[8];
	size_t nenv = 0;
	for (const cJSON *e = env ? env->child : NULL; e && nenv < ARRAY_SIZE(vars); e = e->next)
		if (cJSON_IsString(e))
			vars[nenv++] = (struct proc_var){ e->string, e->valuestring };
	char **argv = cJSON_IsArray(start) ? get_strv(p, "start") : NULL;
	struct proc_spec spec = { 0 };
	spec.argv = (const char *const *)argv;
	spec.shell = argv ? NULL : cJSON_GetStringValue(start);
	spec.env = vars;
	spec.nenv = nenv;
	int64_t t = fget_int(p, "timeout_ms", 30000);
	spec.timeout_ms = t > INT_MAX ? INT_MAX : t > 0 ? (int)t : 30000;
	struct proc_result r = PROC_RESULT_INIT;
	int rc = 0;
	if (!argv && !spec.shell) {
		sb_addf(err, "the start hook of '%s' in the ledger is not a command", id);
		rc = -1;
	} else if (proc_run(&spec, &r) < 0 || r.exit_code != 0) {
		sb_addf(err, "the start hook of '%s' failed: ", id);
		proc_describe(&r, err);
		fault_add_tail(err, r.err.len ? &r.err : &r.out);
		rc = -1;
	}
	proc_result_release(&r);
	proc_argv_free(argv);
	return rc;
}

/* ---- the kind ---------------------------------------------------------- */

static void kill_validate(struct fv *v, const cJSON *prov, const char *ptr)
{
	ftarget_validate(v, prov, ptr, "kill");
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(prov, "signal");
	if (sig && !fv_deferred(v, prov, "signal")) {
		struct strbuf why = SB_INIT;
		if (!fsig_parse(sig, &why))
			cfg_error(v->cfg, cfg_ptr_key(v->cfg, ptr, "signal"), "%s", why.buf);
		sb_release(&why);
	}
	int64_t ns;
	if (fv_duration(v, prov, ptr, "wait_restart", false, &ns) >= 0 &&
	    cJSON_GetObjectItemCaseSensitive(prov, "wait_restart") &&
	    !cJSON_GetObjectItemCaseSensitive(prov, "instance") &&
	    !cJSON_GetObjectItemCaseSensitive(prov, "service"))
		cfg_error(v->cfg, cfg_ptr_key(v->cfg, ptr, "wait_restart"),
			  "needs an 'instance' or 'service' target (it waits for its health "
			  "check)");
}

static int kill_target(const cJSON *prov, const struct topology *topo, struct strbuf *target)
{
	return ftarget_name(prov, topo, target);
}

/* Wait until every killed instance is gone and answers its check again;
 * the seconds it took, or -1 when the wait ran out or was stopped. */
static double wait_restart(const struct ftarget *t, size_t n, int64_t wait_ns, int64_t t0)
{
	int64_t deadline = t0 + wait_ns;
	size_t done = 0;
	while (done < n) {
		const struct ftarget *x = &t[done];
		if (!pid_alive(x->pid, x->start)) {
			int pass = check_passes(&x->in->check, NULL);
			if (pass < 0)
				return -1;
			if (pass) {
				done++;
				continue;
			}
		}
		if (mono_ns() >= deadline)
			return -1;
		int64_t left_ms = (deadline - mono_ns()) / 1000000;
		if (fault_sleep_ms(left_ms < FAULT_CHECK_EVERY_MS ? left_ms : FAULT_CHECK_EVERY_MS) <
		    0)
			return -1;
	}
	return (double)(mono_ns() - t0) / 1e9;
}

static int kill_inject(struct fault_op *op, struct strbuf *err)
{
	struct ftarget *t;
	size_t n;
	struct strbuf why = SB_INIT;
	const cJSON *sig_node = cJSON_GetObjectItemCaseSensitive(op->prov, "signal");
	int sig = sig_node ? fsig_parse(sig_node, &why) : SIGKILL;
	sb_release(&why);
	if (ftarget_resolve(op->fc, op->prov, &t, &n, &op->target, op->out, err) < 0)
		return -1;
	char buf[16];
	cJSON_AddStringToObject(op->out, "signal", fsig_name(sig, buf));
	int64_t wait_ns = fget_dur(op->prov, "wait_restart", 0);
	int rc = -1;
	for (size_t i = 0; i < n; i++) {
		if (kill(t[i].pid, 0) < 0 && errno == EPERM) {
			sb_addf(err, "cannot signal process %ld: %s", (long)t[i].pid, strerror(errno));
			goto out;
		}
	}
	cJSON_AddStringToObject(op->undo, "signal", fsig_name(sig, buf));
	cJSON *procs = cJSON_AddArrayToObject(op->undo, "procs");
	for (size_t i = 0; i < n; i++) {
		cJSON *p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "pid", (double)t[i].pid);
		cJSON_AddNumberToObject(p, "pid_start", (double)t[i].start);
		if (t[i].in) {
			const struct topology *topo = op->fc->topo;
			cJSON_AddStringToObject(p, "instance", t[i].in->id);
			cJSON_AddStringToObject(p, "service", topo->services[t[i].in->service].name);
			add_hook(p, topo, t[i].in);
		}
		cJSON_AddItemToArray(procs, p);
	}
	if (wait_ns)
		cJSON_AddNumberToObject(op->out, "wait_restart_s", (double)wait_ns / 1e9);
	if ((rc = fault_commit(op, err)) != 0)
		goto out;
	int64_t t0 = mono_ns();
	for (size_t i = 0; i < n; i++) {
		if (kill(t[i].pid, sig) < 0 && errno != ESRCH) {
			sb_addf(err, "cannot signal process %ld: %s", (long)t[i].pid, strerror(errno));
			rc = -1;
			goto out;
		}
	}
	if (wait_ns) {
		double took = wait_restart(t, n, wait_ns, t0);
		cJSON_AddBoolToObject(op->out, "restarted", took >= 0);
		if (took >= 0)
			cJSON_AddNumberToObject(op->out, "restart_s", took);
	}
out:
	free(t);
	return rc;
}

/* Undo one process entry; 0 or -1 with err; note says what was found. */
static int undo_proc(const cJSON *p, struct strbuf *note, struct strbuf *err)
{
	const char *id = fget_str(p, "instance");
	const cJSON *checkj = cJSON_GetObjectItemCaseSensitive(p, "check");
	long pid = (long)fget_int(p, "pid", 0);
	if (!id) {
		sb_addf(note, "nothing to undo: process %ld was a pid target", pid);
		return 0;
	}
	if (!cJSON_GetObjectItemCaseSensitive(p, "start")) {
		sb_addf(note, "nothing to undo: instance '%s' has no start hook", id);
		return 0;
	}
	struct check_spec spec;
	if (!cJSON_IsObject(checkj) || check_from_json(checkj, &spec) < 0) {
		sb_addf(err, "the check of '%s' in the ledger is not a check", id);
		return -1;
	}
	struct strbuf why = SB_INIT;
	int rc = 0;
	int pass = check_passes(&spec, &why);
	if (pass > 0) {
		sb_addf(note, "nothing to undo: instance '%s' answers its check", id);
		goto out;
	}
	int64_t t0 = mono_ms();
	if (pass < 0 || (rc = run_hook(p, id, err)) < 0) {
		if (pass < 0)
			sb_addstr(err, "interrupted");
		rc = -1;
		goto out;
	}
	int64_t limit = fget_int(p, "timeout_ms", 30000);
	for (;;) {
		pass = check_passes(&spec, &why);
		if (pass > 0)
			break;
		if (pass < 0 || mono_ms() - t0 >= limit) {
			sb_addf(err, "instance '%s' was started but does not answer its check: %s", id,
				pass < 0 ? "interrupted" : why.buf);
			rc = -1;
			goto out;
		}
		if (fault_sleep_ms(FAULT_CHECK_EVERY_MS) < 0)
			continue; /* the next check sees the signal */
	}
	sb_addf(note, "started instance '%s'", id);
out:
	sb_release(&why);
	check_spec_release(&spec);
	return rc;
}

static int kill_undo(struct fault_ctx *fc, const cJSON *rec, const cJSON *undo,
		     struct strbuf *note, struct strbuf *err)
{
	(void)fc;
	(void)rec;
	const cJSON *procs = cJSON_GetObjectItemCaseSensitive(undo, "procs");
	int rc = 0;
	for (const cJSON *p = cJSON_IsArray(procs) ? procs->child : NULL; p; p = p->next) {
		struct strbuf one = SB_INIT, e = SB_INIT;
		if (undo_proc(p, &one, &e) < 0) {
			if (err->len)
				sb_addstr(err, "; ");
			sb_add(err, e.buf, e.len);
			rc = -1;
		} else if (one.len) {
			if (note->len)
				sb_addstr(note, "; ");
			sb_add(note, one.buf, one.len);
		}
		sb_release(&one);
		sb_release(&e);
	}
	return rc;
}

const struct fault_kind fault_kind_kill = {
	"kill", keys, kill_validate, kill_target, kill_inject, kill_undo,
};
