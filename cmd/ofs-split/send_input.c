/*
 * send_input.c: the requests ofs-split send sends, read from its inputs
 * in turn (send.h).
 *
 * Two shapes are accepted: ofs-replay's replay.exchange records, whose
 * "request" is sent (the recorded response is not used), and bare
 * request records with method, path, headers and body at the top level
 * (any other "type", or none). Both are read by reqrec.h, as ofs-replay
 * play reads them. Records of other replay.* types (a capture's own
 * bookkeeping) are passed over quietly; anything else that is not a
 * request is rejected as FILE:LINE, and the rest goes on.
 *
 * Inputs are read without waiting (JSONL_NONBLOCK): a live pipe with no
 * whole line yet gives JSONL_AGAIN, so the answers of requests already
 * sent keep being read and compared while the input is quiet.
 *
 * In split mode the key is taken from the line's text with vscan.h, as
 * ofs-split route takes it, so both put a request in the same variant:
 * a string's text (escapes decoded), a number's or boolean's JSON text
 * as written; an object or array is rejected, as route rejects it. A
 * request whose key is missing or null has no key: send.c sends it to
 * the primary (route rejects such a record; send stands in for a proxy,
 * and a proxy serves a request without the key from the primary).
 */
#include "common.h"

#include <sys/stat.h>

#include "noise.h"
#include "send.h"

int sin_fd(const struct sin *in)
{
	return in->r ? jsonl_fd(in->r) : -1;
}

void sin_close(struct sin *in)
{
	if (in->r) {
		jsonl_close(in->r);
		in->r = NULL;
	}
}

void sreq_free(struct sreq *x)
{
	if (!x)
		return;
	reqrec_release(&x->rq);
	cJSON_Delete(x->rec);
	free(x->id);
	free(x->endpoint);
	free(x->key);
	for (size_t i = 0; i < x->nhdrs; i++)
		free(x->hdrs[i]);
	free(x->hdrs);
	for (int s = 0; s < SIDES; s++)
		http_response_release(&x->leg[s].resp);
	free(x);
}

/* The key of the current line into x; -1 (why filled) if vscan rejects
 * the line or the key is an object or an array. */
static int take_key(struct sin *in, struct sreq *x, char *why, size_t whyn)
{
	size_t len;
	const char *line = jsonl_line(in->r, &len);
	struct vspan span = { 0 };
	if (vscan_line(line, len, in->key, 1, &span, why, whyn) < 0)
		return -1;
	if (!span.p || span.kind == 'z')
		return 0;
	if (span.kind == 'o' || span.kind == 'a') {
		snprintf(why, whyn, "key at '%s' is %s, not a string or number", in->key->text,
			 span.kind == 'o' ? "an object" : "an array");
		return -1;
	}
	struct strbuf k = SB_INIT;
	if (span.kind == 's')
		vscan_unescape(span.p, span.len, &k);
	else
		sb_add(&k, span.p, span.len);
	x->key = sb_detach(&k, &x->keylen);
	return 0;
}

/* Read rec (taken on success) into a request: 1, 0 to pass over, -1 with
 * the reason in err. */
static int parse(struct sin *in, cJSON *rec, struct sreq **out, struct strbuf *err)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(rec, "type");
	const cJSON *req = rec;
	const char *where = "";
	if (cJSON_IsString(type) && !strcmp(type->valuestring, "replay.exchange")) {
		req = cJSON_GetObjectItemCaseSensitive(rec, "request");
		where = "/request";
		if (!cJSON_IsObject(req)) {
			sb_addstr(err, "/request: missing or not an object");
			return -1;
		}
	} else if (cJSON_IsString(type) && !strncmp(type->valuestring, "replay.", 7) &&
		   !cJSON_GetObjectItemCaseSensitive(rec, "method")) {
		return 0;
	}
	struct sreq *x = xcalloc(1, sizeof(*x));
	if (reqrec_parse(&x->rq, req, where, err) < 0) {
		free(x);
		return -1;
	}
	if (in->key) {
		char why[256];
		if (take_key(in, x, why, sizeof(why)) < 0) {
			sb_addstr(err, why);
			reqrec_release(&x->rq);
			free(x);
			return -1;
		}
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
	if (cJSON_IsString(id)) {
		x->id = xstrdup(id->valuestring);
	} else if (cJSON_IsNumber(id)) {
		char *t = cJSON_PrintUnformatted(id);
		if (!t)
			die("out of memory");
		x->id = xstrdup(t);
		cJSON_free(t);
	} else {
		x->id = xasprintf("%s:%zu", jsonl_name(in->r), jsonl_lineno(in->r));
	}
	struct strbuf ep = SB_INIT;
	noise_endpoint(&ep, x->rq.method, x->rq.path);
	x->endpoint = sb_detach(&ep, NULL);
	x->write = reqrec_is_write(x->rq.method);
	x->rec = rec;
	for (int s = 0; s < SIDES; s++) {
		x->leg[s].x = x;
		x->leg[s].side = s;
		http_response_init(&x->leg[s].resp);
	}
	*out = x;
	return 1;
}

int sin_next(struct sin *in, struct sreq **out)
{
	struct strbuf err = SB_INIT;
	int ret = 0;
	for (;;) {
		if (in->stop)
			break;
		if (!in->r) {
			if (in->next >= in->nfiles)
				break;
			const char *name = in->files[in->next++];
			unsigned flags = JSONL_NONBLOCK | (in->strict ? JSONL_STRICT : 0);
			in->r = jsonl_open(name, flags, &err);
			if (!in->r) {
				error("%s", err.buf);
				sb_reset(&err);
				continue;
			}
			struct stat st;
			if (fstat(jsonl_fd(in->r), &st) == 0 && !S_ISREG(st.st_mode))
				in->live = true;
		}
		cJSON *rec;
		int rc = jsonl_next(in->r, &rec);
		if (rc == JSONL_AGAIN) {
			ret = JSONL_AGAIN;
			break;
		}
		if (rc <= 0) {
			if (rc < 0 && in->strict)
				in->stop = true;
			sin_close(in);
			continue;
		}
		sb_reset(&err);
		int got = parse(in, rec, out, &err);
		if (got == 1) {
			ret = 1;
			break;
		}
		cJSON_Delete(rec);
		if (got < 0 && jsonl_reject(in->r, "%s", err.buf) < 0)
			in->stop = true;
	}
	sb_release(&err);
	return ret;
}
