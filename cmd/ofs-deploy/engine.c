/*
 * engine.c: a deploy's bookkeeping: its instances, its records and
 * journal, and the waits that listen for `promote`, `abort` and signals.
 *
 * Every transition is a record: built with the streaming writer, appended
 * to the deploy's journal with fsync, and only then written to standard
 * output and acted on. The journal is what `resume`, `rollback` and
 * `status` read after a kill -9, so nothing changes in the world before
 * the record saying it will is on disk.
 *
 * `promote` and `abort` reach a running deploy through a small control
 * file in the service's state directory naming the deploy and the
 * request; the deploy looks at it every 100 ms while it waits and
 * deletes it once it has acted, which is how the command knows it was
 * heard.
 */
#include "common.h"

#include <poll.h>
#include <sys/stat.h>

#include "engine.h"
#include "jget.h"
#include "journal.h"
#include "record.h"
#include "sig.h"
#include "timefmt.h"

static const char *const state_names[] = { "starting", "ready", "serving", "draining",
					   "stopped" };

const char *dp_inst_state_name(enum dp_inst_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "unknown";
}

int dp_inst_state_parse(const char *s, enum dp_inst_state *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(state_names); i++)
		if (!strcmp(s, state_names[i])) {
			*out = (enum dp_inst_state)i;
			return 0;
		}
	return -1;
}

void dp_deploy_init(struct dp_deploy *d, const char *service, int no)
{
	memset(d, 0, sizeof(*d));
	d->service = xstrdup(service);
	d->number = no;
	struct strbuf sb = SB_INIT;
	sb_addf(&sb, "%s/%d", service, no);
	d->id = sb_detach(&sb, NULL);
	d->start_ns = ts_now_ns();
	d->next_index = 1;
	if (tc_from_env(&d->trace) == 1)
		d->has_trace = true;
	else {
		tc_new_root(&d->trace);
		d->has_trace = true;
	}
}

void dp_inst_free(struct dp_inst *in)
{
	if (!in)
		return;
	free(in->id);
	free(in->version);
	free(in->host);
	free(in->slot);
	free(in);
}

void dp_deploy_release(struct dp_deploy *d)
{
	if (d->router && d->router->free_state)
		d->router->free_state(d);
	if (d->runner && d->runner->release)
		d->runner->release(d);
	journal_close(d->journal, NULL);
	for (size_t i = 0; i < d->ninst; i++)
		dp_inst_free(d->inst[i]);
	free(d->inst);
	free(d->service);
	free(d->dir);
	free(d->id);
	tc_free(&d->trace);
	memset(d, 0, sizeof(*d));
}

void dp_drivers(struct dp_deploy *d, const struct dp_spec *spec)
{
	switch (spec->instances.driver) {
	case DP_RUN_PROCESS: d->runner = &dp_runner_process; break;
	case DP_RUN_EXEC: d->runner = &dp_runner_exec; break;
	case DP_RUN_KUBECTL: d->runner = &dp_runner_kubectl; break;
	}
	switch (spec->traffic.driver) {
	case DP_ROUTE_NONE: d->router = &dp_router_none; break;
	case DP_ROUTE_HAPROXY: d->router = &dp_router_haproxy; break;
	case DP_ROUTE_NGINX: d->router = &dp_router_nginx; break;
	case DP_ROUTE_EXEC: d->router = &dp_router_exec; break;
	case DP_ROUTE_KUBECTL: d->router = &dp_router_kubectl; break;
	}
}

static void inst_push(struct dp_deploy *d, struct dp_inst *in)
{
	ALLOC_GROW(d->inst, d->ninst + 1, d->ainst);
	d->inst[d->ninst++] = in;
}

struct dp_inst *dp_inst_add(struct dp_deploy *d, int revision, const char *version)
{
	struct dp_inst *in = xcalloc(1, sizeof(*in));
	struct strbuf sb = SB_INIT;
	sb_addf(&sb, "%s-%d-%d", d->service, d->number, d->next_index++);
	in->id = sb_detach(&sb, NULL);
	in->revision = revision;
	in->version = xstrdup(version ? version : "");
	in->state = DP_STARTING;
	inst_push(d, in);
	return in;
}

struct dp_inst *dp_inst_find(struct dp_deploy *d, const char *id)
{
	for (size_t i = 0; i < d->ninst; i++)
		if (!strcmp(d->inst[i]->id, id))
			return d->inst[i];
	return NULL;
}

void dp_inst_write(struct jw *w, const struct dp_inst *in, bool in_record)
{
	jw_kv_str(w, "instance", in->id);
	/* a deploy.instance record already has the deploy's "revision" */
	jw_kv_int(w, in_record ? "instance_revision" : "revision", in->revision);
	jw_kv_str(w, "version", in->version);
	jw_kv_str(w, "state", dp_inst_state_name(in->state));
	if (in->host)
		jw_kv_str(w, "host", in->host);
	if (in->port)
		jw_kv_int(w, "port", in->port);
	if (in->pid) {
		jw_kv_int(w, "pid", in->pid);
		jw_key(w, "pid_start");
		jw_int_str(w, (int64_t)in->pid_start);
	}
	if (in->slot)
		jw_kv_str(w, "slot", in->slot);
	jw_kv_int(w, "weight", in->weight);
}

static long long get_num(const cJSON *o, const char *k, long long dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (cJSON_IsNumber(v))
		return (long long)v->valuedouble;
	if (cJSON_IsString(v)) {
		char *end;
		long long x = strtoll(v->valuestring, &end, 10);
		if (!*end && end != v->valuestring)
			return x;
	}
	return dflt;
}

int dp_inst_read(const cJSON *o, struct dp_inst *in)
{
	const char *id = jget_str(o, "instance");
	if (!id)
		return -1;
	free(in->id);
	in->id = xstrdup(id);
	in->revision = (int)get_num(o, "instance_revision", get_num(o, "revision", in->revision));
	const char *s = jget_str(o, "version");
	if (s) {
		free(in->version);
		in->version = xstrdup(s);
	}
	s = jget_str(o, "state");
	if (s)
		dp_inst_state_parse(s, &in->state);
	free(in->host);
	s = jget_str(o, "host");
	in->host = s ? xstrdup(s) : NULL;
	in->port = (int)get_num(o, "port", 0);
	in->pid = (long)get_num(o, "pid", 0);
	in->pid_start = (unsigned long long)get_num(o, "pid_start", 0);
	free(in->slot);
	s = jget_str(o, "slot");
	in->slot = s ? xstrdup(s) : NULL;
	in->weight = (int)get_num(o, "weight", 0);
	return 0;
}

void dp_rec_begin(struct dp_deploy *d, struct jw *w, const char *type)
{
	rec_begin_ctx(w, type, ts_now_ns(), d->has_trace ? &d->trace : NULL);
	jw_kv_str(w, "deploy", d->id);
	jw_kv_str(w, "service", d->service);
	jw_kv_int(w, "revision", d->revision);
}

void dp_emit(struct dp_deploy *d, struct jw *w)
{
	dp_emit_copy(d, w, NULL);
}

void dp_emit_copy(struct dp_deploy *d, struct jw *w, struct strbuf *copy)
{
	jw_obj_end(w);
	struct strbuf *sb = w->sb;
	if (copy)
		sb_add(copy, sb->buf, sb->len);
	if (d->journal) {
		struct strbuf err = SB_INIT;
		if (journal_append(d->journal, sb->buf, sb->len, &err) < 0)
			die_status(EXIT_SYSTEM, "cannot write the journal of deploy %s: %s", d->id,
				   err.buf);
	}
	if (d->out) {
		bool keep = !d->quiet;
		if (d->quiet) {
			static const char done[] = "\"type\":\"deploy.done\"";
			keep = memmem(sb->buf, sb->len, done, sizeof(done) - 1) != NULL;
		}
		if (keep)
			out_record(d->out, sb);
	}
	sb_reset(sb);
}

void dp_inst_emit(struct dp_deploy *d, const struct dp_inst *in, const char *reason)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	dp_rec_begin(d, &w, "deploy.instance");
	dp_inst_write(&w, in, true);
	if (reason)
		jw_kv_str(&w, "reason", reason);
	dp_emit(d, &w);
	sb_release(&sb);
}

void dp_step_emit(struct dp_deploy *d, int step, int steps, const char *action,
		  const char *phase, const char *detail, void (*extra)(struct jw *, void *),
		  void *ctx)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	dp_rec_begin(d, &w, "deploy.step");
	if (step > 0) {
		jw_kv_int(&w, "step", step);
		jw_kv_int(&w, "steps", steps);
	}
	jw_kv_str(&w, "action", action);
	jw_kv_str(&w, "phase", phase);
	if (detail)
		jw_kv_str(&w, "detail", detail);
	if (extra)
		extra(&w, ctx);
	dp_emit(d, &w);
	sb_release(&sb);
}

/* ---- control ------------------------------------------------------------ */

bool dp_interrupted(void)
{
	return sig_pending() != 0;
}

void dp_control_reset(struct dp_deploy *d)
{
	char *path = dp_store_path(d, "control");
	unlink(path);
	free(path);
}

/* A promote that came while nothing was paused ends the next pause. */
static bool promote_pending;

enum dp_wake dp_control(struct dp_deploy *d)
{
	if (dp_interrupted())
		return DP_WAKE_SIGNAL;
	if (!d->dir)
		return DP_WAKE_TIMEOUT;
	char *path = dp_store_path(d, "control");
	struct strbuf text = SB_INIT;
	enum dp_wake wake = DP_WAKE_TIMEOUT;
	if (sb_read_file(&text, path) >= 0) {
		cJSON *o = cJSON_ParseWithLength(text.buf, text.len);
		const char *act = jget_str(o, "action");
		long long no = get_num(o, "deploy", -1);
		if (act && (no == d->number || no == 0)) {
			if (!strcmp(act, "promote"))
				promote_pending = true;
			else if (!strcmp(act, "abort"))
				wake = DP_WAKE_ABORT;
			unlink(path);
		}
		cJSON_Delete(o);
	}
	sb_release(&text);
	free(path);
	return wake;
}

enum dp_wake dp_sleep(struct dp_deploy *d, int64_t ns)
{
	int64_t end = ns < 0 ? INT64_MAX : mono_ns() + ns;
	for (;;) {
		enum dp_wake w = dp_control(d);
		if (w != DP_WAKE_TIMEOUT)
			return w;
		if (promote_pending) {
			promote_pending = false;
			return DP_WAKE_PROMOTE;
		}
		int64_t left = end == INT64_MAX ? INT64_MAX : end - mono_ns();
		if (left <= 0)
			return DP_WAKE_TIMEOUT;
		int ms = left > 100 * 1000000LL ? 100 : (int)((left + 999999) / 1000000);
		struct pollfd p = { .fd = sig_fd(), .events = POLLIN };
		poll(&p, 1, ms);
	}
}
