/*
 * traffic_exec.c: ofs-deploy's two simplest traffic drivers.
 *
 * exec hands the routing to the user's own program: at every apply it
 * runs the setWeights hook with the whole picture on stdin, one JSON
 * line {"service","revision","instances":[{"id","version","host","port",
 * "weight","state"}...]} listing the serving instances with their weight
 * and the draining ones with weight 0, so the hook can be stateless (a
 * script rewriting a load balancer's config, a cloud API call). Draining
 * and releasing are the hook's business: there is nothing to wait for.
 *
 * none routes nothing: the instances are reached some other way (DNS,
 * a fixed port list, a proxy that health-checks), so a canary's weight
 * can only be approximated by instance counts (rollout.h). Every
 * function succeeds without doing anything.
 */
#include "common.h"

#include "deploy.h"
#include "jw.h"
#include "strbuf.h"

/* How long setWeights may run. */
#define EXEC_HOOK_TIMEOUT_NS (60 * 1000000000LL)

/* The setWeights input: one line of JSON. */
static void weights_json(const struct dp_deploy *d, struct strbuf *sb)
{
	struct jw w;
	jw_init(&w, sb);
	jw_obj_begin(&w);
	jw_kv_str(&w, "service", d->spec->service);
	jw_kv_int(&w, "revision", d->revision);
	jw_key(&w, "instances");
	jw_arr_begin(&w);
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dp_inst *in = d->inst[i];
		if (in->state != DP_SERVING && in->state != DP_DRAINING)
			continue;
		jw_obj_begin(&w);
		jw_kv_str(&w, "id", in->id);
		jw_kv_str(&w, "version", in->version);
		jw_kv_str(&w, "host", in->host);
		jw_kv_int(&w, "port", in->port);
		jw_kv_int(&w, "weight", in->state == DP_SERVING ? in->weight : 0);
		jw_kv_str(&w, "state", dp_inst_state_name(in->state));
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	sb_addch(sb, '\n');
}

static int exec_prepare(struct dp_deploy *d, struct strbuf *err)
{
	const struct dp_cmd *cmd = &d->spec->traffic.set_weights;
	if (!cmd->argv && !cmd->shell) {
		sb_reset(err);
		sb_addstr(err, "traffic driver exec needs a setWeights command");
		return -1;
	}
	return 0;
}

static int exec_apply(struct dp_deploy *d, struct strbuf *err)
{
	struct dp_hookvars hv;
	struct strbuf in = SB_INIT;
	dp_hook_vars(d->spec, NULL, 0, &hv);
	weights_json(d, &in);
	int rc = dp_hook_run("setWeights", &d->spec->traffic.set_weights, &hv, in.buf,
			     EXEC_HOOK_TIMEOUT_NS, NULL, err);
	sb_release(&in);
	return rc;
}

static int exec_wait(struct dp_deploy *d, struct dp_inst *in, int64_t timeout_ns,
		     struct strbuf *err)
{
	(void)d;
	(void)in;
	(void)timeout_ns;
	(void)err;
	return 0;
}

static int exec_release(struct dp_deploy *d, struct dp_inst *in, struct strbuf *err)
{
	(void)d;
	(void)in;
	(void)err;
	return 0;
}

static void no_state(struct dp_deploy *d)
{
	(void)d;
}

const struct dp_router dp_router_exec = {
	.name = "exec",
	.max_weight = 100,
	.prepare = exec_prepare,
	.apply = exec_apply,
	.wait_drained = exec_wait,
	.release = exec_release,
	.free_state = no_state,
};

static int none_prepare(struct dp_deploy *d, struct strbuf *err)
{
	(void)d;
	(void)err;
	return 0;
}

static int none_apply(struct dp_deploy *d, struct strbuf *err)
{
	(void)d;
	(void)err;
	return 0;
}

const struct dp_router dp_router_none = {
	.name = "none",
	.max_weight = 1,
	.prepare = none_prepare,
	.apply = none_apply,
	.wait_drained = exec_wait,
	.release = exec_release,
	.free_state = no_state,
};
