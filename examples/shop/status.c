/*
 * status.c: `shopd status` and `shopd url`.
 *
 * status judges each instance from two facts: is its process running
 * (instance.h), and does its health check answer 200 naming it. Running
 * and healthy is "up", running and not healthy "unhealthy", not running
 * "down". The probes run at once, so a hung instance costs one timeout,
 * not one per instance. The exit status is 0 only when all are up.
 */
#include "common.h"

#include "instance.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "shopd.h"

/* Load the runtime topology of --dir; prints why not and returns NULL. */
static char *open_shop(const char *dir_arg, struct shop_topo *t)
{
	struct strbuf err = SB_INIT;
	char *dir = shop_abs_dir(dir_arg);
	if (!dir) {
		error_errno("no shop in '%s'", dir_arg);
	} else if (shop_load_runtime(t, dir, &err) < 0) {
		shop_print_errors(&err);
		free(dir);
		dir = NULL;
	}
	sb_release(&err);
	return dir;
}

static const char *parse_dir(struct opt_parser *p, int argc, char **argv)
{
	const char *dir = NULL;
	opt_begin(p, argc, argv);
	int c;
	while ((c = opt_next(p)) != OPT_DONE)
		if (c == SHOP_OPT_DIR)
			dir = p->arg;
	if (!dir)
		opt_usage_error(p, "--dir is required");
	return dir;
}

int shop_cmd_status(int argc, char **argv)
{
	struct opt_parser p;
	const char *dir_arg = parse_dir(&p, argc, argv);
	char **ops;
	int nops = opt_operands(&p, &ops);
	struct shop_topo t;
	char *dir = open_shop(dir_arg, &t);
	if (!dir) {
		opt_end(&p);
		return EXIT_USAGE;
	}
	struct shop_instance **ins;
	size_t n = shop_select(&p, &t, ops, nops, &ins);
	pid_t *pids = xcalloc(n ? n : 1, sizeof(*pids));
	struct shop_instance **live = xcalloc(n ? n : 1, sizeof(*live));
	struct shop_health *h = xcalloc(n ? n : 1, sizeof(*h));
	size_t nlive = 0;
	long timeout_ms = 0;
	for (size_t i = 0; i < n; i++) {
		pids[i] = shop_pid_read(dir, ins[i]->id);
		if (!shop_pid_running(pids[i], dir, ins[i]->id)) {
			pids[i] = 0;
			continue;
		}
		live[nlive++] = ins[i];
		long ms = (long)(ins[i]->service->check_timeout_ns / 1000000);
		if (ms > timeout_ms)
			timeout_ms = ms;
	}
	shop_probe(live, nlive, timeout_ms > 10000 ? 10000 : timeout_ms < 1 ? 1 : timeout_ms, h);

	int status = 0;
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	for (size_t i = 0, k = 0; i < n; i++) {
		const struct shop_health *hi = pids[i] ? &h[k++] : NULL;
		const char *state = !hi ? "down" : shop_health_ok(hi) ? "up" : "unhealthy";
		if (strcmp(state, "up"))
			status = EXIT_NO;
		shop_rec_instance(&w, ins[i], pids[i], state);
		jw_key(&w, "health_status");
		if (hi && hi->status)
			jw_int(&w, hi->status);
		else
			jw_null(&w);
		if (!hi)
			jw_kv_str(&w, "error", "not running");
		else if (!shop_health_ok(hi))
			jw_kv_str(&w, "error", hi->error);
		rec_end(&w, out_stdout());
	}
	sb_release(&sb);
	free(h);
	free(live);
	free(pids);
	free(ins);
	shop_topo_free(&t);
	free(dir);
	opt_end(&p);
	return status;
}

int shop_cmd_url(int argc, char **argv)
{
	struct opt_parser p;
	const char *dir_arg = parse_dir(&p, argc, argv);
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (nops != 1)
		opt_usage_error(&p, "name one service or instance");
	struct shop_topo t;
	char *dir = open_shop(dir_arg, &t);
	if (!dir) {
		opt_end(&p);
		return EXIT_USAGE;
	}
	const struct shop_service *svc = shop_topo_service(&t, ops[0]);
	const struct shop_instance *in = svc ? &svc->instances[0] : shop_topo_instance(&t, ops[0]);
	if (!in) {
		shop_topo_free(&t);
		free(dir);
		opt_usage_error(&p, "no service or instance '%s' in the topology", ops[0]);
	}
	struct strbuf url = SB_INIT;
	shop_instance_url(in, &url);
	sb_addch(&url, '\n');
	out_write(out_stdout(), url.buf, url.len);
	sb_release(&url);
	shop_topo_free(&t);
	free(dir);
	opt_end(&p);
	return 0;
}
