/*
 * hook.c: running the commands a deploy spec names (start and stop of
 * instances, ready commands, traffic hooks) with the deploy's context.
 *
 * DESIGN.md section 4: an argv hook gets the context as {placeholders}
 * substituted per element and executed without a shell; a string hook
 * runs under /bin/sh -c and gets the context only as OFS_* environment
 * variables, never spliced into the string. Both get the environment, so
 * a program can read OFS_PORT either way. proc.h gives every hook its own
 * process group, a timeout and bounded captured output; this file turns
 * a failure into one line a person can act on: "stop: exited with status
 * 3: no such instance", "start: timed out after 5s".
 */
#include "common.h"

#include "deploy.h"
#include "units.h"

/* The placeholders and the environment variables carrying them. */
static const struct {
	const char *name, *env;
} hook_names[] = {
	{ "service", "OFS_SERVICE" },   { "version", "OFS_VERSION" },
	{ "artifact", "OFS_ARTIFACT" }, { "revision", "OFS_REVISION" },
	{ "replicas", "OFS_REPLICAS" }, { "instance", "OFS_INSTANCE" },
	{ "host", "OFS_HOST" },         { "port", "OFS_PORT" },
	{ "index", "OFS_INDEX" },
};

static void add_var(struct dp_hookvars *hv, const char *name, const char *value)
{
	if (hv->n < ARRAY_SIZE(hv->v))
		hv->v[hv->n++] = (struct proc_var){ name, value ? value : "" };
}

void dp_hook_vars(const struct dp_spec *spec, const struct dp_inst *in, int index,
		  struct dp_hookvars *hv)
{
	hv->n = 0;
	hv->portbuf[0] = hv->revbuf[0] = hv->replbuf[0] = hv->indexbuf[0] = '\0';
	if (spec)
		snprintf(hv->replbuf, sizeof(hv->replbuf), "%d", spec->replicas);
	if (in && in->revision > 0)
		snprintf(hv->revbuf, sizeof(hv->revbuf), "%d", in->revision);
	if (in && in->port > 0 && in->port <= 65535)
		snprintf(hv->portbuf, sizeof(hv->portbuf), "%u", (unsigned)in->port & 0xffffu);
	if (index >= 0)
		snprintf(hv->indexbuf, sizeof(hv->indexbuf), "%d", index);
	add_var(hv, "service", spec ? spec->service : NULL);
	add_var(hv, "version", spec ? spec->version : NULL);
	add_var(hv, "artifact", spec ? spec->artifact : NULL);
	add_var(hv, "revision", hv->revbuf);
	add_var(hv, "replicas", hv->replbuf);
	add_var(hv, "instance", in ? in->id : NULL);
	add_var(hv, "host", in ? in->host : NULL);
	add_var(hv, "port", hv->portbuf);
	add_var(hv, "index", hv->indexbuf);
}

/* env[i] is OFS_NAME for each of hv's variables; returns the count. */
static size_t hook_env(const struct dp_hookvars *hv, struct proc_var *env, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; hv && i < hv->n && n < max; i++)
		for (size_t k = 0; k < ARRAY_SIZE(hook_names); k++)
			if (!strcmp(hv->v[i].name, hook_names[k].name))
				env[n++] = (struct proc_var){ hook_names[k].env, hv->v[i].value };
	return n;
}

/*
 * The last two non-empty lines of s, the earlier first, joined by "; "
 * into out: programs often name the cause on one line and sum up on the
 * last (nginx -t: "[emerg] host not found ...", then "test failed").
 */
static void last_lines(const struct strbuf *s, struct strbuf *out)
{
	size_t start[2], len[2], n = 0, end = s->len;
	while (n < 2) {
		while (end && (s->buf[end - 1] == '\n' || s->buf[end - 1] == '\r'))
			end--;
		if (!end)
			break;
		size_t b = end;
		while (b && s->buf[b - 1] != '\n')
			b--;
		start[n] = b;
		len[n] = end - b;
		n++;
		end = b;
	}
	for (size_t i = n; i-- > 0;) {
		if (i + 1 < n)
			sb_addstr(out, "; ");
		sb_add(out, s->buf + start[i], len[i]);
	}
}

/* "WHAT: REASON" for a hook that ran and failed. */
static void describe_failure(const char *what, const struct proc_result *r, int64_t timeout_ns,
			     struct strbuf *err)
{
	sb_addf(err, "%s: ", what);
	if (r->spawn_errno) {
		sb_addstr(err, r->error.buf);
		return;
	}
	if (r->timed_out) {
		char d[DUR_BUFSZ];
		sb_addf(err, "timed out after %s", dur_format(timeout_ns, d, sizeof(d)));
	} else if (r->exit_code >= 0) {
		sb_addf(err, "exited with status %d", r->exit_code);
	} else {
		proc_describe(r, err);
	}
	struct strbuf line = SB_INIT;
	last_lines(&r->err, &line);
	if (line.len)
		sb_addf(err, ": %s", line.buf);
	sb_release(&line);
}

int dp_hook_run(const char *what, const struct dp_cmd *cmd, const struct dp_hookvars *hv,
		const char *stdin_data, int64_t timeout_ns, struct strbuf *out,
		struct strbuf *err)
{
	if (!cmd || (!cmd->argv && !cmd->shell)) {
		sb_addf(err, "%s: no command given", what);
		return -1;
	}
	struct proc_var env[ARRAY_SIZE(hook_names)];
	struct proc_spec ps;
	memset(&ps, 0, sizeof(ps));
	char **argv = NULL;
	if (cmd->argv) {
		argv = proc_expand_argv((const char *const *)cmd->argv, hv ? hv->v : NULL,
					hv ? hv->n : 0);
		ps.argv = (const char *const *)argv;
	} else {
		ps.shell = cmd->shell;
	}
	ps.env = env;
	ps.nenv = hook_env(hv, env, ARRAY_SIZE(env));
	if (stdin_data) {
		ps.stdin_data = stdin_data;
		ps.stdin_len = strlen(stdin_data);
	}
	if (timeout_ns > 0) {
		int64_t ms = (timeout_ns + 999999) / 1000000;
		ps.timeout_ms = ms > INT_MAX ? INT_MAX : (int)ms;
	}
	struct proc_result r = PROC_RESULT_INIT;
	proc_run(&ps, &r);
	proc_argv_free(argv);
	int rc = 0;
	if (r.spawn_errno || r.timed_out || r.exit_code != 0) {
		describe_failure(what, &r, timeout_ns, err);
		rc = -1;
	}
	if (out)
		sb_add(out, r.out.buf, r.out.len);
	proc_result_release(&r);
	return rc;
}
