/*
 * instance.c: run-directory paths, pid files, the "is it really our
 * process" test and concurrent health probes (see instance.h).
 */
#include "common.h"
#include <signal.h>

#include <cJSON.h>

#include "http.h"
#include "instance.h"
#include "roles.h"
#include "state.h"
#include "units.h"

char *shop_runtime_topology(const char *dir)
{
	return xasprintf("%s/topology.json", dir);
}

char *shop_pid_path(const char *dir, const char *id)
{
	return xasprintf("%s/run/%s.pid", dir, id);
}

char *shop_log_path(const char *dir, const char *id)
{
	return xasprintf("%s/run/%s.log", dir, id);
}

char *shop_abs_dir(const char *dir)
{
	return realpath(dir, NULL);
}

int shop_load_runtime(struct shop_topo *t, const char *dir, struct strbuf *err)
{
	char *path = shop_runtime_topology(dir);
	int r = 0;
	if (access(path, F_OK) < 0) {
		int e = errno;
		sb_addf(err, "no shop in '%s': cannot open '%s': %s", dir, path, strerror(e));
		errno = e;
		r = -1;
	} else if (shop_topo_load(t, path, shop_roles, err) < 0) {
		errno = EINVAL;
		r = -1;
	}
	free(path);
	return r;
}

pid_t shop_pid_read(const char *dir, const char *id)
{
	char *path = shop_pid_path(dir, id);
	struct strbuf sb = SB_INIT;
	long long pid = 0;
	if (sb_read_file(&sb, path) == 0) {
		sb_trim_eol(&sb);
		if (num_parse_int(sb.buf, 1, INT_MAX, &pid, NULL) < 0)
			pid = 0;
	}
	sb_release(&sb);
	free(path);
	return (pid_t)pid;
}

int shop_pid_write(const char *dir, const char *id, pid_t pid, struct strbuf *err)
{
	char *path = shop_pid_path(dir, id);
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	int r = state_write_atomic(path, buf, (size_t)n, 0600, err);
	free(path);
	return r;
}

void shop_pid_remove(const char *dir, const char *id)
{
	char *path = shop_pid_path(dir, id);
	unlink(path);
	free(path);
}

/* Whether the NUL-separated argument list holds `name value` in a row. */
static bool has_pair(const char *args, size_t len, const char *name, const char *value)
{
	const char *prev = NULL;
	for (const char *p = args; p < args + len; p += strlen(p) + 1) {
		if (prev && !strcmp(prev, name) && !strcmp(p, value))
			return true;
		prev = p;
	}
	return false;
}

static bool has_arg(const char *args, size_t len, const char *word)
{
	for (const char *p = args; p < args + len; p += strlen(p) + 1)
		if (!strcmp(p, word))
			return true;
	return false;
}

bool shop_pid_running(pid_t pid, const char *dir, const char *id)
{
	if (pid <= 0)
		return false;
	if (access("/proc/self/cmdline", R_OK) < 0)
		return kill(pid, 0) == 0 || errno == EPERM;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	struct strbuf sb = SB_INIT;
	/* A zombie's command line reads empty, so it never matches. */
	bool ours = sb_read_file(&sb, path) == 0 && sb.len > 0 &&
		    has_arg(sb.buf, sb.len, "serve") && has_pair(sb.buf, sb.len, "--dir", dir) &&
		    has_pair(sb.buf, sb.len, "--instance", id);
	sb_release(&sb);
	return ours;
}

bool shop_health_ok(const struct shop_health *h)
{
	return h->error[0] == '\0';
}

static void judge(struct shop_health *h, const struct shop_instance *in,
		  const struct http_response *resp)
{
	h->status = resp->status;
	h->as[0] = '\0';
	if (resp->status == 0) {
		snprintf(h->error, sizeof(h->error), "%s", resp->error);
		return;
	}
	cJSON *doc = cJSON_ParseWithLength(resp->body.buf, resp->body.len);
	const cJSON *as = cJSON_GetObjectItemCaseSensitive(doc, "instance");
	if (cJSON_IsString(as))
		snprintf(h->as, sizeof(h->as), "%s", as->valuestring);
	cJSON_Delete(doc);
	if (resp->status != 200)
		snprintf(h->error, sizeof(h->error), "answered %ld", resp->status);
	else if (strcmp(h->as, in->id))
		snprintf(h->error, sizeof(h->error), "the port answered as '%s', not '%s'",
			 h->as[0] ? h->as : "something else", in->id);
	else
		h->error[0] = '\0';
}

struct probe {
	const struct shop_instance *in;
	struct shop_health *out;
};

static void probe_done(const struct http_request *req, struct http_response *resp, void *user)
{
	struct probe *p = user;
	judge(p->out, p->in, resp);
}

void shop_probe(struct shop_instance *const *ins, size_t n, long timeout_ms,
		struct shop_health *out)
{
	if (n == 0)
		return;
	struct http_client *c = http_client_new((int)(n < 64 ? n : 64));
	struct strbuf url = SB_INIT, err = SB_INIT;
	struct probe *probes = xcalloc(n, sizeof(*probes));
	for (size_t i = 0; i < n; i++) {
		sb_reset(&url);
		shop_instance_url(ins[i], &url);
		sb_addstr(&url, ins[i]->service->check_path);
		struct http_request req;
		http_request_init(&req);
		req.method = "GET";
		req.url = url.buf;
		req.connect_timeout_ms = timeout_ms < 500 ? timeout_ms : 500;
		req.timeout_ms = timeout_ms;
		req.max_body = 4096;
		probes[i] = (struct probe){ ins[i], &out[i] };
		req.user = &probes[i];
		out[i].status = 0;
		out[i].as[0] = '\0';
		sb_reset(&err);
		if (http_add(c, &req, &err) < 0)
			snprintf(out[i].error, sizeof(out[i].error), "%s", err.buf);
		else
			snprintf(out[i].error, sizeof(out[i].error), "no answer");
	}
	http_run(c, probe_done);
	http_client_free(c);
	free(probes);
	sb_release(&url);
	sb_release(&err);
}
