/*
 * control.c: `promote`, `abort` and `rollback`: a person's word to a
 * deploy.
 *
 * A deploy that is running (its process holds the service's lock) is
 * told through the control file (engine.c) and acts within 100 ms; the
 * command waits until it has (promote: the request was taken; abort and
 * rollback: the deploy has ended) and prints the deploy.done record the
 * deploy wrote. A deploy that was killed or interrupted is taken over
 * and finished here, as `resume` would. With no deploy in progress,
 * `rollback` starts a new deploy back to an earlier revision, skipping
 * analysis; `promote` and `abort` have nothing to act on (status 1).
 */
#include "common.h"

#include <poll.h>

#include "cmds.h"
#include "engine.h"
#include "journal.h"
#include "lock.h"
#include "opt.h"
#include "record.h"
#include "state.h"
#include "timefmt.h"
#include "units.h"

struct control_args {
	char *service;
	int wait_ms;
	bool wait_set;
	bool quiet;
	int to;
};

static void parse(int argc, char **argv, struct control_args *a)
{
	struct opt_parser p;
	memset(a, 0, sizeof(*a));
	opt_begin(&p, argc, argv);
	for (int c; (c = opt_next(&p)) != OPT_DONE;) {
		struct strbuf err = SB_INIT;
		int64_t ns;
		long long n;
		switch (c) {
		case 'q':
			a->quiet = true;
			break;
		case DOPT_WAIT:
			if (dur_parse(p.arg, &ns, &err) < 0)
				opt_usage_error(&p, "--wait: %s", err.buf);
			a->wait_ms = ns / 1000000 > INT_MAX ? INT_MAX : (int)(ns / 1000000);
			a->wait_set = true;
			break;
		case DOPT_TO:
			if (num_parse_int(p.arg, 1, INT_MAX, &n, &err) < 0)
				opt_usage_error(&p, "--to: %s", err.buf);
			a->to = (int)n;
			break;
		}
		sb_release(&err);
	}
	char **ops;
	if (opt_operands(&p, &ops) != 1)
		opt_usage_error(&p, "which service?");
	a->service = xstrdup(ops[0]);
	opt_end(&p);
}

/* 1 when a deploy of the service runs now (its lock is held). */
static int running(const char *dir)
{
	int fd = dp_store_lock(dir, 0, NULL);
	if (fd >= 0) {
		lock_release(fd);
		return 0;
	}
	return errno == EWOULDBLOCK ? 1 : -1;
}

static void nap(int ms)
{
	poll(NULL, 0, ms);
}

/* Print the deploy.done record of deploy no; returns its exit status
 * for the command (0 when outcome is want or want is NULL). */
static int print_done(const char *dir, int no, const char *want)
{
	struct strbuf path = SB_INIT, text = SB_INIT;
	sb_addf(&path, "%s/deploys/%d.jsonl", dir, no);
	int st = EXIT_NO;
	if (sb_read_file(&text, path.buf) == 0) {
		const char *p = strstr(text.buf, "\"type\":\"deploy.done\"");
		if (p) {
			const char *b = p;
			while (b > text.buf && b[-1] != '\n')
				b--;
			const char *e = strchr(p, '\n');
			size_t len = e ? (size_t)(e - b) : strlen(b);
			struct strbuf line = SB_INIT;
			sb_add(&line, b, len);
			sb_addch(&line, '\n');
			out_write(out_stdout(), line.buf, line.len);
			cJSON *o = cJSON_ParseWithLength(b, len);
			const cJSON *oc = cJSON_GetObjectItemCaseSensitive(o, "outcome");
			if (!want || (cJSON_IsString(oc) && !strcmp(oc->valuestring, want)))
				st = EXIT_OK;
			cJSON_Delete(o);
			sb_release(&line);
		}
	}
	sb_release(&path);
	sb_release(&text);
	return st;
}

/* Hand action to the running deploy and wait; the exit status. */
static int tell_running(const char *dir, const struct control_args *a, const char *action,
			bool until_done)
{
	int no = dp_latest_deploy(dir);
	struct strbuf text = SB_INIT, path = SB_INIT, err = SB_INIT;
	sb_addf(&text, "{\"deploy\":%d,\"action\":\"%s\"}\n", no, action);
	sb_addf(&path, "%s/control", dir);
	int st = EXIT_OK;
	if (state_write_atomic(path.buf, text.buf, text.len, 0600, &err) < 0) {
		error("%s", err.buf);
		st = EXIT_SYSTEM;
		goto out;
	}
	int64_t end = mono_ms() + (a->wait_set ? a->wait_ms : until_done ? 60000 : 10000);
	while (access(path.buf, F_OK) == 0 && mono_ms() < end)
		nap(20);
	if (access(path.buf, F_OK) == 0) {
		unlink(path.buf);
		error("deploy %s/%d did not take '%s' in time", a->service, no, action);
		st = EXIT_NO;
		goto out;
	}
	if (!until_done) {
		struct jw w;
		struct strbuf sb = SB_INIT;
		jw_init(&w, &sb);
		rec_begin(&w, "deploy.control");
		jw_kv_str(&w, "service", a->service);
		struct strbuf id = SB_INIT;
		sb_addf(&id, "%s/%d", a->service, no);
		jw_kv_str(&w, "deploy", id.buf);
		sb_release(&id);
		jw_kv_str(&w, "action", action);
		jw_kv_bool(&w, "taken", true);
		rec_end(&w, out_stdout());
		sb_release(&sb);
		goto out;
	}
	while (running(dir) == 1 && mono_ms() < end)
		nap(20);
	if (running(dir) == 1) {
		error("deploy %s/%d is still rolling back", a->service, no);
		st = EXIT_NO;
		goto out;
	}
	st = print_done(dir, no, DP_ROLLED_BACK);
out:
	sb_release(&text);
	sb_release(&path);
	sb_release(&err);
	return st;
}

/* 1 when the latest deploy did not end (killed or interrupted). */
static int stopped(const char *dir)
{
	int no = dp_latest_deploy(dir);
	if (!no)
		return 0;
	struct strbuf path = SB_INIT;
	sb_addf(&path, "%s/deploys/%d.jsonl", dir, no);
	struct dp_replay r;
	int rc = dp_replay_load(path.buf, &r, NULL) == 0 && !r.done;
	dp_replay_release(&r);
	sb_release(&path);
	return rc;
}

static int control(int argc, char **argv, const char *action)
{
	struct control_args a;
	parse(argc, argv, &a);
	struct strbuf err = SB_INIT;
	char *dir = dp_store_dir(a.service, true, &err);
	int st;
	if (!dir) {
		error("%s", err.buf);
		st = EXIT_SYSTEM;
	} else if (running(dir) == 1) {
		st = tell_running(dir, &a, action, !strcmp(action, "abort"));
	} else if (stopped(dir)) {
		st = dp_finish_stopped(a.service, 0, a.quiet, !strcmp(action, "abort"), action);
		if (!strcmp(action, "abort") && st == EXIT_NO)
			st = EXIT_OK;
	} else {
		error("no deploy of '%s' in progress", a.service);
		st = EXIT_NO;
	}
	free(dir);
	free(a.service);
	sb_release(&err);
	return st;
}

int cmd_promote(int argc, char **argv)
{
	return control(argc, argv, "promote");
}

int cmd_abort(int argc, char **argv)
{
	return control(argc, argv, "abort");
}

int cmd_rollback(int argc, char **argv)
{
	struct control_args a;
	parse(argc, argv, &a);
	struct strbuf err = SB_INIT;
	char *dir = dp_store_dir(a.service, true, &err);
	int st;
	if (!dir) {
		error("%s", err.buf);
		st = EXIT_SYSTEM;
	} else if (running(dir) == 1) {
		st = tell_running(dir, &a, "abort", true);
	} else if (stopped(dir)) {
		st = dp_finish_stopped(a.service, 0, a.quiet, true, NULL);
		if (st == EXIT_NO)
			st = EXIT_OK;
	} else {
		st = dp_rollback_done(a.service, a.to, a.wait_ms, a.quiet);
	}
	free(dir);
	free(a.service);
	sb_release(&err);
	return st;
}
