/*
 * apply.c: making a scaling decision real by running the policy's hook,
 * once per change (decide --apply).
 *
 * The hook is an argv array, run directly with {service}, {replicas}
 * and {current} filled in per element, or a string for /bin/sh -c that
 * gets the same values only as OFS_SERVICE, OFS_REPLICAS and
 * OFS_CURRENT_REPLICAS, so no data ever reaches a shell's parser. It
 * runs in its own process group under the policy's hookTimeout (proc.h),
 * and every attempt, made or only planned (--dry-run), is written as a
 * scale.apply record. A failure is reported on stderr with the end of
 * the hook's stderr and returned, so that decide counts the change as
 * not made and decides it again the next period.
 */
#include "common.h"

#include "jw.h"
#include "out.h"
#include "proc.h"
#include "record.h"
#include "scale.h"
#include "timefmt.h"
#include "units.h"

#define NS_PER_MS 1000000LL

/* The hook's context: placeholders and environment alike. */
struct hook_ctx {
	char replicas[24], current[24];
	struct proc_var vars[3]; /* service, replicas, current */
	struct proc_var env[3];  /* OFS_SERVICE, OFS_REPLICAS, OFS_CURRENT_REPLICAS */
};

static void hook_ctx_init(struct hook_ctx *c, const char *service, int current, int desired)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->replicas, sizeof(c->replicas), "%d", desired);
	snprintf(c->current, sizeof(c->current), "%d", current);
	c->vars[0] = (struct proc_var){ "service", service };
	c->vars[1] = (struct proc_var){ "replicas", c->replicas };
	c->vars[2] = (struct proc_var){ "current", c->current };
	c->env[0] = (struct proc_var){ "OFS_SERVICE", service };
	c->env[1] = (struct proc_var){ "OFS_REPLICAS", c->replicas };
	c->env[2] = (struct proc_var){ "OFS_CURRENT_REPLICAS", c->current };
}

static int timeout_ms(int64_t ns)
{
	if (ns <= 0)
		return 0;
	int64_t ms = (ns + NS_PER_MS - 1) / NS_PER_MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The last non-empty line of text (len bytes) into sb. */
static void last_line(const char *text, size_t len, struct strbuf *sb)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
		       text[len - 1] == '\t'))
		len--;
	size_t start = len;
	while (start && text[start - 1] != '\n')
		start--;
	sb_add(sb, text + start, len - start);
}

/* Why a hook that ran failed: "hook exited with status 1: <stderr line>". */
static void failure_text(const struct proc_result *r, int64_t timeout_ns, struct strbuf *why)
{
	if (r->spawn_errno) {
		sb_addf(why, "hook: %s", r->error.buf);
		return;
	}
	struct strbuf line = SB_INIT;
	if (r->timed_out) {
		char d[DUR_BUFSZ];
		sb_addf(why, "hook timed out after %s (hookTimeout), its process group killed",
			dur_format(timeout_ns, d, sizeof(d)));
	} else {
		sb_addstr(why, "hook ");
		proc_describe(r, why);
	}
	last_line(r->err.buf, r->err.len, &line);
	if (line.len)
		sb_addf(why, ": %.300s", line.buf);
	sb_release(&line);
}

/* Write the scale.apply record. r is NULL when nothing ran. */
static void write_record(const struct sc_policy *p, const char *service, int current,
			 int desired, int64_t ts, bool dry_run, char **argv,
			 const struct proc_result *r, const char *why, struct out *o)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin_at(&w, "scale.apply", ts);
	jw_kv_str(&w, "service", service);
	jw_kv_int(&w, "from", current);
	jw_kv_int(&w, "to", desired);
	if (argv) {
		jw_key(&w, "argv");
		jw_arr_begin(&w);
		for (size_t i = 0; argv[i]; i++)
			jw_str(&w, argv[i]);
		jw_arr_end(&w);
	} else if (p->hook_shell) {
		jw_kv_str(&w, "command", p->hook_shell);
	}
	jw_kv_bool(&w, "dry_run", dry_run);
	jw_kv_bool(&w, "ok", !why);
	if (r) {
		jw_key(&w, "exit");
		if (r->exit_code >= 0)
			jw_int(&w, r->exit_code);
		else
			jw_null(&w);
		jw_kv_double(&w, "duration_ms", (double)r->duration_ms);
	}
	if (why)
		jw_kv_str(&w, "error", why);
	rec_end(&w, o);
	sb_release(&sb);
}

/* Run the hook; 0 when it exited 0, else -1 with the reason in why. */
static int run_hook(const struct sc_policy *p, char **argv, const struct hook_ctx *c,
		    struct proc_result *r, struct strbuf *why)
{
	struct proc_spec spec = { 0 };

	if (argv)
		spec.argv = (const char *const *)argv;
	else
		spec.shell = p->hook_shell;
	spec.env = c->env;
	spec.nenv = ARRAY_SIZE(c->env);
	spec.timeout_ms = timeout_ms(p->hook_timeout);
	proc_run(&spec, r);
	if (!r->spawn_errno && !r->timed_out && r->signal == 0 && r->exit_code == 0)
		return 0;
	failure_text(r, p->hook_timeout, why);
	return -1;
}

int sc_apply(const struct sc_policy *p, const char *service, int current, int desired,
	     int64_t ts, bool dry_run, struct out *o)
{
	struct hook_ctx c = { 0 };
	struct strbuf why = SB_INIT;
	struct proc_result r = PROC_RESULT_INIT;
	char **argv = NULL;
	int rc = 0;

	hook_ctx_init(&c, service, current, desired);
	if (!p->hook_argv && !p->hook_shell) {
		sb_addf(&why, "policy '%s' has no hook", p->file ? p->file : "-");
		write_record(p, service, current, desired, ts, dry_run, NULL, NULL, why.buf, o);
		rc = -1;
	} else {
		if (p->hook_argv)
			argv = proc_expand_argv((const char *const *)p->hook_argv, c.vars,
						ARRAY_SIZE(c.vars));
		if (dry_run) {
			write_record(p, service, current, desired, ts, true, argv, NULL, NULL, o);
		} else {
			rc = run_hook(p, argv, &c, &r, &why);
			write_record(p, service, current, desired, ts, false, argv, &r,
				     rc ? why.buf : NULL, o);
		}
	}
	if (rc)
		error("cannot scale '%s' from %d to %d: %s", service, current, desired, why.buf);
	proc_argv_free(argv);
	proc_result_release(&r);
	sb_release(&why);
	return rc;
}
