/*
 * mask.c: removing or hashing personal data in exchanges at capture time
 * (rule syntax and hash definition in mask.h). Header rules edit the
 * header lists; JSON rules parse a body with cJSON, find the fields by
 * JSON pointer or JSONPath, detach or replace them and print the body
 * back only when something changed, so unmatched bodies keep their bytes.
 */
#include "common.h"

#include "jsonpath.h"
#include "mask.h"
#include "sha256.h"

enum mask_kind { MK_HEADER, MK_HASH_HEADER, MK_JSON, MK_HASH_JSON };

struct mask_rule {
	enum mask_kind kind;
	char *target;    /* header name, or the selector as given */
	struct jp *path; /* a JSONPath selector, or NULL for a pointer */
};

int mask_add(struct mask_set *m, const char *spec, struct strbuf *err)
{
	static const struct {
		const char *name;
		enum mask_kind kind;
	} kinds[] = { { "header", MK_HEADER },
		      { "hash-header", MK_HASH_HEADER },
		      { "json", MK_JSON },
		      { "hash-json", MK_HASH_JSON } };
	const char *colon = strchr(spec, ':');
	if (!colon) {
		sb_addf(err, "'%s': expected KIND:TARGET", spec);
		return -1;
	}
	size_t klen = (size_t)(colon - spec);
	int kind = -1;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (strlen(kinds[i].name) == klen && !strncmp(spec, kinds[i].name, klen))
			kind = (int)kinds[i].kind;
	if (kind < 0) {
		sb_addf(err, "'%s': unknown kind '%.*s': use header, hash-header, json or hash-json",
			spec, (int)klen, spec);
		return -1;
	}
	const char *t = colon + 1;
	struct jp *path = NULL;
	if (!*t) {
		sb_addf(err, "'%s': empty target", spec);
		return -1;
	}
	if (kind == MK_HEADER || kind == MK_HASH_HEADER) {
		for (const char *p = t; *p; p++)
			if (*p <= ' ' || *p == ':' || *p == 127) {
				sb_addf(err, "'%s': '%s' is not a header name", spec, t);
				return -1;
			}
	} else if (t[0] == '$') {
		struct strbuf e = SB_INIT;
		path = jp_compile(t, &e, NULL);
		if (!path) {
			sb_addf(err, "'%s': invalid JSONPath: %s", spec, e.buf);
			sb_release(&e);
			return -1;
		}
		sb_release(&e);
	} else if (t[0] != '/') {
		sb_addf(err, "'%s': a JSON selector starts with '/' (pointer) or '$' (JSONPath)",
			spec);
		return -1;
	}
	ALLOC_GROW(m->v, m->n + 1, m->alloc);
	m->v[m->n].kind = (enum mask_kind)kind;
	m->v[m->n].target = xstrdup(t);
	m->v[m->n].path = path;
	m->n++;
	return 0;
}

void mask_set_salt(struct mask_set *m, const char *salt)
{
	free(m->salt);
	m->salt = salt ? xstrdup(salt) : NULL;
}

void mask_release(struct mask_set *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].target);
		jp_free(m->v[i].path);
	}
	free(m->v);
	free(m->salt);
	memset(m, 0, sizeof(*m));
}

void mask_hash(const struct mask_set *m, const char *s, size_t len, struct strbuf *out)
{
	struct sha256 c;
	unsigned char d[SHA256_LEN];
	char hex[SHA256_HEXLEN];
	sha256_init(&c);
	if (m->salt)
		sha256_update(&c, m->salt, strlen(m->salt));
	sha256_update(&c, s, len);
	sha256_final(&c, d);
	sha256_to_hex(d, hex);
	sb_addstr(out, "sha256:");
	sb_addstr(out, hex);
}

/* ---- headers -------------------------------------------------------------- */

static void hash_headers(const struct mask_set *m, struct xch_headers *h, const char *name)
{
	struct strbuf v = SB_INIT;
	for (size_t i = 0; i < h->n; i++) {
		if (strcasecmp(h->v[i].name, name))
			continue;
		sb_reset(&v);
		mask_hash(m, h->v[i].value, strlen(h->v[i].value), &v);
		free(h->v[i].value);
		h->v[i].value = sb_detach(&v, NULL);
	}
	sb_release(&v);
}

/* ---- JSON ----------------------------------------------------------------- */

/* The item a JSON pointer names, with its parent (NULL for the root). */
static cJSON *pointer_find(cJSON *root, const char *ptr, cJSON **parent)
{
	cJSON *cur = root;
	struct strbuf tok = SB_INIT;
	*parent = NULL;
	const char *p = ptr;
	while (cur && *p == '/') {
		p++;
		sb_reset(&tok);
		for (; *p && *p != '/'; p++) {
			if (p[0] == '~' && p[1] == '0') {
				sb_addch(&tok, '~');
				p++;
			} else if (p[0] == '~' && p[1] == '1') {
				sb_addch(&tok, '/');
				p++;
			} else {
				sb_addch(&tok, *p);
			}
		}
		cJSON *next = NULL;
		if (cJSON_IsObject(cur)) {
			next = cJSON_GetObjectItemCaseSensitive(cur, tok.buf);
		} else if (cJSON_IsArray(cur)) {
			char *end;
			errno = 0;
			unsigned long i = strtoul(tok.buf, &end, 10);
			if (tok.len && *end == '\0' && tok.buf[0] != '-' && !errno &&
			    (tok.len == 1 || tok.buf[0] != '0') && i < INT_MAX)
				next = cJSON_GetArrayItem(cur, (int)i);
		}
		*parent = cur;
		cur = next;
	}
	sb_release(&tok);
	return cur;
}

/* The container holding item somewhere under root, or NULL. */
static cJSON *parent_of(cJSON *root, const cJSON *item)
{
	for (cJSON *c = root->child; c; c = c->next) {
		if (c == item)
			return root;
		cJSON *p = parent_of(c, item);
		if (p)
			return p;
	}
	return NULL;
}

static cJSON *hash_value(const struct mask_set *m, const cJSON *item)
{
	struct strbuf h = SB_INIT;
	if (cJSON_IsString(item)) {
		mask_hash(m, item->valuestring, strlen(item->valuestring), &h);
	} else {
		char *text = cJSON_PrintUnformatted(item);
		if (!text)
			die("out of memory");
		mask_hash(m, text, strlen(text), &h);
		cJSON_free(text);
	}
	cJSON *v = cJSON_CreateString(h.buf);
	sb_release(&h);
	if (!v)
		die("out of memory");
	return v;
}

/* Remove or hash item (below root, in parent); returns 1 if done. */
static int act(const struct mask_set *m, const struct mask_rule *r, cJSON *parent, cJSON *item)
{
	if (!parent || !item)
		return 0;
	if (r->kind == MK_JSON) {
		cJSON_Delete(cJSON_DetachItemViaPointer(parent, item));
		return 1;
	}
	if (cJSON_IsString(item) && !strncmp(item->valuestring, "sha256:", 7) &&
	    strlen(item->valuestring) == 7 + 64)
		return 0; /* hashed already (a rule given twice) */
	cJSON *h = hash_value(m, item);
	if (cJSON_IsObject(parent)) {
		/* ViaPointer does not carry the member's name over. */
		h->string = item->string;
		item->string = NULL;
	}
	return cJSON_ReplaceItemViaPointer(parent, item, h) ? 1 : 0;
}

static int apply_json_rule(const struct mask_set *m, const struct mask_rule *r, cJSON *doc)
{
	if (!r->path) {
		cJSON *parent;
		cJSON *item = pointer_find(doc, r->target, &parent);
		return act(m, r, parent, item);
	}
	struct jp_matches jm = { 0 };
	int changed = 0;
	if (jp_eval(r->path, doc, &jm, NULL) == 0) {
		for (size_t i = 0; i < jm.n; i++) {
			cJSON *item = (cJSON *)jm.v[i];
			if (item == doc)
				continue;
			/* An earlier match may have taken this one with it. */
			cJSON *parent = parent_of(doc, item);
			changed |= act(m, r, parent, item);
		}
	}
	jp_matches_release(&jm);
	return changed;
}

static void mask_body(const struct mask_set *m, struct strbuf *body)
{
	if (!body->len || !xch_utf8_ok(body->buf, body->len))
		return;
	const char *p = body->buf;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p != '{' && *p != '[')
		return;
	cJSON *doc = cJSON_ParseWithLength(body->buf, body->len);
	if (!doc)
		return;
	int changed = 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].kind == MK_JSON || m->v[i].kind == MK_HASH_JSON)
			changed |= apply_json_rule(m, &m->v[i], doc);
	if (changed) {
		char *text = cJSON_PrintUnformatted(doc);
		if (!text)
			die("out of memory");
		sb_reset(body);
		sb_addstr(body, text);
		cJSON_free(text);
	}
	cJSON_Delete(doc);
}

static void mask_msg(const struct mask_set *m, struct xch_msg *msg, bool json)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].kind == MK_HEADER)
			xch_header_del(&msg->headers, m->v[i].target);
		else if (m->v[i].kind == MK_HASH_HEADER)
			hash_headers(m, &msg->headers, m->v[i].target);
	}
	if (json)
		mask_body(m, &msg->body);
}

void mask_apply(const struct mask_set *m, struct exchange *x)
{
	if (!m->n)
		return;
	bool json = false;
	for (size_t i = 0; i < m->n; i++)
		json |= m->v[i].kind == MK_JSON || m->v[i].kind == MK_HASH_JSON;
	mask_msg(m, &x->req, json);
	mask_msg(m, &x->resp, json);
	mask_msg(m, &x->replayed, json);
}
