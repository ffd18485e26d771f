/*
 * fault_proxy.c: the proxy fault: add a toxic (latency, bandwidth,
 * timeout, reset_peer, down...) to a running `ofs-chaos proxy` through
 * its control socket, and remove it on undo.
 *
 * The toxic's name is decided here, before anything is sent (the one
 * given, else TYPE_STREAM as the proxy and Toxiproxy would name it), so
 * the inject record already says what to remove. A removal the proxy
 * answers "no toxic is named ...", or a proxy that is no longer running
 * (its toxics died with it), counts as already undone.
 */
#include "common.h"
#include <sys/socket.h>
#include <sys/un.h>

#include "fault.h"
#include "jw.h"

static const char *const keys[] = { "control", "toxic", "timeout", "duration", NULL };
static const char *const toxic_keys[] = { "name", "type", "stream", "toxicity", "attributes",
					  NULL };
static const char *const streams[] = { "upstream", "downstream", NULL };

#define PROXY_TIMEOUT_NS (2LL * 1000000000)

static void proxy_validate(struct fv *v, const cJSON *prov, const char *ptr)
{
	const char *s;
	int64_t ns;
	fv_string(v, prov, ptr, "control", true, &s);
	fv_duration(v, prov, ptr, "timeout", false, &ns);
	if (fv_deferred(v, prov, "toxic"))
		return;
	cJSON *t;
	if (cfg_get_object(v->cfg, prov, ptr, "toxic", true, &t) != 1)
		return;
	const char *tp = cfg_ptr_key(v->cfg, ptr, "toxic");
	cfg_check_keys(v->cfg, t, tp, toxic_keys);
	fv_string(v, t, tp, "name", false, &s);
	fv_string(v, t, tp, "type", true, &s);
	int stream;
	fv_enum(v, t, tp, "stream", false, streams, &stream);
	if (!fv_deferred(v, t, "toxicity")) {
		double d;
		cfg_get_number(v->cfg, t, tp, "toxicity", false, 0, 1, &d);
	}
	if (!fv_deferred(v, t, "attributes")) {
		cJSON *a;
		cfg_get_object(v->cfg, t, tp, "attributes", false, &a);
	}
}

/* The toxic's name: its "name", else TYPE_STREAM. */
static void toxic_name(const cJSON *toxic, struct strbuf *sb)
{
	const char *name = fget_str(toxic, "name");
	if (name) {
		sb_addstr(sb, name);
		return;
	}
	const char *stream = fget_str(toxic, "stream");
	sb_addf(sb, "%s_%s", fget_str(toxic, "type") ? fget_str(toxic, "type") : "",
		stream ? stream : "downstream");
}

/* The control socket's path made absolute, so `recover` finds it from
 * any directory. */
static void control_path(const char *path, struct strbuf *sb)
{
	if (path[0] == '/') {
		sb_addstr(sb, path);
		return;
	}
	char *cwd = getcwd(NULL, 0);
	if (cwd)
		sb_addf(sb, "%s/%s", cwd, path);
	else
		sb_addstr(sb, path);
	free(cwd);
}

static int proxy_target(const cJSON *prov, const struct topology *topo, struct strbuf *target)
{
	(void)topo;
	const char *control = fget_str(prov, "control");
	const cJSON *toxic = cJSON_GetObjectItemCaseSensitive(prov, "toxic");
	if (!control || !cJSON_IsObject(toxic))
		return -1;
	sb_addstr(target, "proxy:");
	control_path(control, target);
	sb_addch(target, '/');
	toxic_name(toxic, target);
	return strstr(target->buf, "${") ? -1 : 0;
}

/* Whether something accepts connections on the socket at path. */
static bool proxy_running(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path))
		return true; /* cannot tell: assume it is */
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	int r = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	int e = errno;
	close(fd);
	return r == 0 || (e != ECONNREFUSED && e != ENOENT && e != ENOTSOCK);
}

/* Send one request; the parsed reply (caller deletes) or NULL with err. */
static cJSON *request(const char *control, const char *op, const cJSON *toxic, const char *name,
		      int64_t timeout_ms, struct strbuf *err)
{
	struct strbuf req = SB_INIT, reply = SB_INIT;
	struct jw w;
	jw_init(&w, &req);
	jw_obj_begin(&w);
	jw_kv_str(&w, "op", op);
	if (toxic) {
		jw_key(&w, "toxic");
		jw_cjson(&w, toxic);
	}
	if (name)
		jw_kv_str(&w, "name", name);
	jw_obj_end(&w);
	cJSON *r = NULL;
	int t = timeout_ms > INT_MAX ? INT_MAX : timeout_ms < 1 ? 1 : (int)timeout_ms;
	if (proxy_ctl_request(control, req.buf, t, &reply, err) == 0) {
		r = cJSON_ParseWithLength(reply.buf, reply.len);
		if (!cJSON_IsObject(r)) {
			sb_addf(err, "proxy control '%s' answered something that is not a JSON object",
				control);
			cJSON_Delete(r);
			r = NULL;
		}
	}
	sb_release(&req);
	sb_release(&reply);
	return r;
}

static int proxy_inject(struct fault_op *op, struct strbuf *err)
{
	const cJSON *prov = op->prov;
	struct strbuf control = SB_INIT, name = SB_INIT;
	control_path(fget_str(prov, "control"), &control);
	cJSON *toxic = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(prov, "toxic"), 1);
	toxic_name(toxic, &name);
	if (!cJSON_GetObjectItemCaseSensitive(toxic, "name"))
		cJSON_AddStringToObject(toxic, "name", name.buf);
	int64_t timeout_ms = fget_dur(prov, "timeout", PROXY_TIMEOUT_NS) / 1000000;
	sb_addf(&op->target, "proxy:%s/%s", control.buf, name.buf);
	cJSON_AddStringToObject(op->out, "control", control.buf);
	cJSON_AddStringToObject(op->undo, "control", control.buf);
	cJSON_AddStringToObject(op->undo, "name", name.buf);
	cJSON_AddNumberToObject(op->undo, "timeout_ms", (double)timeout_ms);
	int rc;
	if (op->fc->dry_run) {
		cJSON_AddItemToObject(op->out, "toxic", cJSON_Duplicate(toxic, 1));
		rc = fault_commit(op, err);
		goto out;
	}
	if ((rc = fault_commit(op, err)) != 0)
		goto out;
	cJSON *reply = request(control.buf, "add", toxic, NULL, timeout_ms, err);
	rc = -1;
	if (reply && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
		const cJSON *stored = cJSON_GetObjectItemCaseSensitive(reply, "toxic");
		cJSON_AddItemToObject(op->out, "toxic",
				      cJSON_Duplicate(cJSON_IsObject(stored) ? stored : toxic, 1));
		rc = 0;
	} else if (reply) {
		const char *e = fget_str(reply, "error");
		sb_addf(err, "proxy '%s' refused the toxic: %s", control.buf, e ? e : "no reason given");
	}
	cJSON_Delete(reply);
out:
	cJSON_Delete(toxic);
	sb_release(&control);
	sb_release(&name);
	return rc;
}

/* Whether the proxy lists a toxic called name: 1 yes, 0 no, -1 cannot tell. */
static int listed(const char *control, const char *name, int64_t timeout_ms)
{
	struct strbuf e = SB_INIT;
	cJSON *reply = request(control, "list", NULL, NULL, timeout_ms, &e);
	sb_release(&e);
	const cJSON *toxics = cJSON_GetObjectItemCaseSensitive(reply, "toxics");
	int r = -1;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok")) && cJSON_IsArray(toxics)) {
		r = 0;
		for (const cJSON *t = toxics->child; t; t = t->next) {
			const char *n = fget_str(t, "name");
			if (n && !strcmp(n, name))
				r = 1;
		}
	}
	cJSON_Delete(reply);
	return r;
}

static int proxy_undo(struct fault_ctx *fc, const cJSON *rec, const cJSON *undo,
		      struct strbuf *note, struct strbuf *err)
{
	(void)fc;
	(void)rec;
	const char *control = fget_str(undo, "control");
	const char *name = fget_str(undo, "name");
	int64_t timeout_ms = fget_int(undo, "timeout_ms", PROXY_TIMEOUT_NS / 1000000);
	if (!control || !name) {
		sb_addstr(err, "the toxic in the ledger has no control socket and name");
		return -1;
	}
	struct strbuf e = SB_INIT;
	cJSON *reply = request(control, "remove", NULL, name, timeout_ms, &e);
	int rc = -1;
	if (!reply) {
		if (!proxy_running(control)) {
			sb_addf(note, "nothing to undo: the proxy of '%s' is not running", control);
			rc = 0;
		} else {
			sb_add(err, e.buf, e.len);
		}
	} else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
		rc = 0;
	} else {
		const char *why = fget_str(reply, "error");
		if ((why && strstr(why, "no toxic is named")) || listed(control, name, timeout_ms) == 0) {
			sb_addf(note, "nothing to undo: the proxy has no toxic '%s'", name);
			rc = 0;
		} else {
			sb_addf(err, "proxy '%s' did not remove toxic '%s': %s", control, name,
				why ? why : "no reason given");
		}
	}
	cJSON_Delete(reply);
	sb_release(&e);
	return rc;
}

const struct fault_kind fault_kind_proxy = {
	"proxy", keys, proxy_validate, proxy_target, proxy_inject, proxy_undo,
};
