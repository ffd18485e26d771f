/*
 * main.c: shopd's command table and the helpers its commands share.
 *
 * shopd runs the example shop: `start` spawns every instance of the
 * topology as a detached `shopd serve` and waits until each answers its
 * health check; `stop`, `restart`, `status` and `url` act on a started
 * shop through its run directory (instance.h). The option tables here
 * drive parsing, --help and usage messages (opt.h).
 */
#include "common.h"

#include "instance.h"
#include "main.h"
#include "opt.h"
#include "record.h"
#include "shopd.h"

static const struct opt start_opts[] = {
	{ SHOP_OPT_DIR, 0, "dir", "dir", "the run directory (created, mode 0700)", "@dir", 0 },
	{ SHOP_OPT_FIXED_PORTS, 0, "fixed-ports", NULL,
	  "use the topology's ports instead of free ones", NULL, 0 },
	{ SHOP_OPT_TOPOLOGY, 0, "topology", "file",
	  "the topology (default: examples/shop/topology.json beside bin/)", "@file", 0 },
	{ 0 },
};

static const struct opt dir_opts[] = {
	{ SHOP_OPT_DIR, 0, "dir", "dir", "the shop's run directory", "@dir", 0 },
	{ 0 },
};

static const struct opt serve_opts[] = {
	{ SHOP_OPT_DIR, 0, "dir", "dir", "the shop's run directory", "@dir", 0 },
	{ SHOP_OPT_FAULT, 0, "fault", "json",
	  "set these fault switches at start, as POST /admin/fault does", NULL, 0 },
	{ SHOP_OPT_ID, 0, "id", "id", "with --service: the instance's id (default SERVICE-PORT)",
	  NULL, 0 },
	{ SHOP_OPT_INSTANCE, 0, "instance", "id", "the instance of the topology to run", NULL, 0 },
	{ SHOP_OPT_PORT, 0, "port", "port", "with --service: the port to listen on (127.0.0.1)",
	  NULL, 0 },
	{ SHOP_OPT_SERVICE, 0, "service", "service",
	  "run a standalone instance of this service, not one of the topology", NULL, 0 },
	{ SHOP_OPT_VERSION, 0, "version", "version",
	  "the version reported by /health and the Shop-Version header (default v1)", NULL, 0 },
	{ 0 },
};

static const struct opt_cmd cmds[] = {
	{ "start", shop_cmd_start, "[instance ...]",
	  "start the shop's instances and wait until they are healthy", start_opts },
	{ "stop", shop_cmd_stop, "[instance ...]",
	  "stop instances (SIGTERM, then SIGKILL after 5 s)", dir_opts },
	{ "restart", shop_cmd_restart, "instance ...", "stop, then start instances", dir_opts },
	{ "status", shop_cmd_status, "[instance ...]",
	  "report each instance as up, unhealthy or down", dir_opts },
	{ "url", shop_cmd_url, "service | instance", "print the base URL of a service or instance",
	  dir_opts },
	{ "serve", shop_cmd_serve, NULL, "run one instance in the foreground", serve_opts },
	{ 0 },
};

static const struct opt_tool tool = {
	"shopd", "run the example shop: gateway, orders, payments, inventory, shipping", NULL, cmds,
	NULL,
};

static char *argv0;

int cmd_main(int argc, char **argv)
{
	argv0 = argc > 0 ? argv[0] : NULL;
	return opt_dispatch(&tool, argc, argv);
}

char *shop_exe_path(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		return xstrdup(buf);
	}
	char *p = argv0 ? realpath(argv0, NULL) : NULL;
	if (!p)
		die("cannot find the path of this program");
	return p;
}

void shop_print_errors(const struct strbuf *err)
{
	const char *p = err->buf, *end = p + err->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (nl > p)
			error("%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}

void shop_cfg_errors(const struct cfg *cfg, struct strbuf *out)
{
	const char *p = cfg->errors.buf, *end = p + cfg->errors.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (p != cfg->errors.buf)
			sb_addstr(out, "; ");
		sb_add(out, p, (size_t)(nl - p));
		p = nl + 1;
	}
}

size_t shop_select(const struct opt_parser *p, const struct shop_topo *t, char **ops, int nops,
		   struct shop_instance ***out)
{
	size_t total = 0;
	for (size_t i = 0; i < t->nservices; i++)
		total += t->services[i].ninstances;
	bool *want = xcalloc(total ? total : 1, sizeof(*want));
	for (int k = 0; k < nops; k++) {
		bool found = false;
		size_t base = 0;
		for (size_t i = 0; i < t->nservices; i++) {
			const struct shop_service *svc = &t->services[i];
			for (size_t j = 0; j < svc->ninstances; j++) {
				if (!strcmp(svc->name, ops[k]) ||
				    !strcmp(svc->instances[j].id, ops[k])) {
					want[base + j] = true;
					found = true;
				}
			}
			base += svc->ninstances;
		}
		if (!found) {
			free(want);
			opt_usage_error(p, "no service or instance '%s' in the topology", ops[k]);
		}
	}
	/* Instance numbers by service index, to walk in start order. */
	size_t *first = xcalloc(t->nservices ? t->nservices : 1, sizeof(*first));
	for (size_t i = 1; i < t->nservices; i++)
		first[i] = first[i - 1] + t->services[i - 1].ninstances;
	struct shop_instance **v = xcalloc(total ? total : 1, sizeof(*v));
	size_t n = 0;
	for (size_t k = 0; k < t->nservices; k++) {
		struct shop_service *svc = &t->services[t->start_order[k]];
		for (size_t j = 0; j < svc->ninstances; j++)
			if (nops == 0 || want[first[svc->index] + j])
				v[n++] = &svc->instances[j];
	}
	free(first);
	free(want);
	*out = v;
	return n;
}

void shop_rec_instance(struct jw *w, const struct shop_instance *in, pid_t pid, const char *state)
{
	struct strbuf url = SB_INIT;
	shop_instance_url(in, &url);
	rec_begin(w, "shop.instance");
	jw_kv_str(w, "service", in->service->name);
	jw_kv_str(w, "instance", in->id);
	jw_kv_str(w, "url", url.buf);
	if (pid > 0)
		jw_kv_int(w, "pid", pid);
	jw_kv_str(w, "state", state);
	sb_release(&url);
}
