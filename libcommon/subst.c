/*
 * subst.c: `${name}` and `${out:ACTIVITY/POINTER}` substitution in JSON
 * values (see subst.h).
 *
 * One scanner cuts a string into pieces (literal text, a reference, or a
 * syntax error) and both users share it: subst_check at load, so a
 * misspelt name is reported with its JSON pointer before anything runs,
 * and subst_apply at run time, which builds the substituted copy. A
 * string that is a single reference takes the referenced value whole,
 * keeping its JSON type, so "${port}" can fill a number and
 * "${out:pick/instances}" an array.
 */
#include "common.h"

#include "jw.h"
#include "subst.h"
#include "suggest.h"

/* How much of a string a message quotes. */
#define QUOTE_MAX 60

enum piece_kind { P_TEXT, P_REF, P_UNTERMINATED };

struct piece {
	enum piece_kind kind;
	const char *text; /* P_TEXT: the text; P_REF: the whole "${...}" */
	size_t len;
	bool out;         /* ${out:...} */
	const char *name; /* the configuration name or the activity name */
	size_t namelen;
	const char *ptr;  /* ${out:}: the pointer ("" for the whole output) */
	size_t ptrlen;
};

static bool ref_at(const char *s)
{
	return s[0] == '$' && s[1] == '{';
}

static bool literal_at(const char *s)
{
	return s[0] == '$' && s[1] == '$' && s[2] == '{';
}

/* The next piece of s from *pos; false at the end. */
static bool next_piece(const char *s, size_t *pos, struct piece *pc)
{
	size_t i = *pos;
	memset(pc, 0, sizeof(*pc));
	if (!s[i])
		return false;
	if (literal_at(s + i)) {
		pc->kind = P_TEXT;
		pc->text = s + i + 1;
		pc->len = 2;
		*pos = i + 3;
		return true;
	}
	if (ref_at(s + i)) {
		const char *close = strchr(s + i + 2, '}');
		if (!close) {
			pc->kind = P_UNTERMINATED;
			*pos = i + strlen(s + i);
			return true;
		}
		const char *content = s + i + 2;
		size_t clen = (size_t)(close - content);
		pc->kind = P_REF;
		pc->text = s + i;
		pc->len = clen + 3;
		if (clen >= 4 && memcmp(content, "out:", 4) == 0) {
			pc->out = true;
			pc->name = content + 4;
			const char *slash = memchr(pc->name, '/', clen - 4);
			pc->namelen = slash ? (size_t)(slash - pc->name) : clen - 4;
			pc->ptr = pc->name + pc->namelen;
			pc->ptrlen = clen - 4 - pc->namelen;
		} else {
			pc->name = content;
			pc->namelen = clen;
		}
		*pos = (size_t)(close - s) + 1;
		return true;
	}
	size_t j = i + 1;
	while (s[j] && !ref_at(s + j) && !literal_at(s + j))
		j++;
	pc->kind = P_TEXT;
	pc->text = s + i;
	pc->len = j - i;
	*pos = j;
	return true;
}

bool subst_has(const char *s)
{
	size_t pos = 0;
	struct piece pc;
	while (next_piece(s, &pos, &pc))
		if (pc.kind != P_TEXT)
			return true;
	return false;
}

/* What messages call the two kinds of names (subst_words). */
static const char *word_value = "configuration value";
static const char *word_activity = "activity";

void subst_words(const char *value, const char *activity)
{
	word_value = value;
	word_activity = activity;
}

/* A syntax problem of a piece (unterminated, empty name, empty activity)
 * into msg; false when there is none. */
static bool piece_problem(const char *s, const struct piece *pc, struct strbuf *msg)
{
	if (pc->kind == P_UNTERMINATED) {
		size_t n = strlen(s);
		sb_addf(msg, "unterminated '${' in '%.*s%s'", (int)(n > QUOTE_MAX ? QUOTE_MAX : n), s,
			n > QUOTE_MAX ? "..." : "");
		return true;
	}
	if (pc->kind != P_REF)
		return false;
	if (!pc->out && pc->namelen == 0) {
		sb_addstr(msg, "'${}': empty name");
		return true;
	}
	if (pc->out && pc->namelen == 0) {
		sb_addf(msg, "'%.*s': no %s name", (int)pc->len, pc->text, word_activity);
		return true;
	}
	return false;
}

/* ---- apply ------------------------------------------------------------ */

struct apply {
	const cJSON *config;
	const cJSON *outputs;
	struct strbuf *err;
	bool failed;
	struct strbuf name; /* scratch */
};

static void add_reason(struct apply *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_reason(struct apply *a, const char *fmt, ...)
{
	va_list ap;
	if (a->err) {
		if (a->failed)
			sb_addstr(a->err, "; ");
		va_start(ap, fmt);
		sb_vaddf(a->err, fmt, ap);
		va_end(ap);
	}
	a->failed = true;
}

/* The value a reference names, or NULL (the reason recorded). */
static const cJSON *lookup(struct apply *a, const struct piece *pc)
{
	sb_reset(&a->name);
	sb_add(&a->name, pc->name, pc->namelen);
	if (!pc->out) {
		const cJSON *v = cJSON_IsObject(a->config)
					 ? cJSON_GetObjectItemCaseSensitive(a->config, a->name.buf)
					 : NULL;
		if (!v)
			add_reason(a, "'%.*s': no %s '%s'", (int)pc->len, pc->text, word_value,
				   a->name.buf);
		return v;
	}
	const cJSON *o = cJSON_IsObject(a->outputs)
				 ? cJSON_GetObjectItemCaseSensitive(a->outputs, a->name.buf)
				 : NULL;
	if (!o) {
		add_reason(a, "'%.*s': %s '%s' has not run", (int)pc->len, pc->text,
			   word_activity, a->name.buf);
		return NULL;
	}
	char *ptr = xstrndup(pc->ptr, pc->ptrlen);
	const cJSON *v = cfg_resolve(o, ptr);
	if (!v)
		add_reason(a, "'%.*s': no value at '%s' in the output of '%s'", (int)pc->len,
			   pc->text, ptr, a->name.buf);
	free(ptr);
	return v;
}

/* v as text spliced into a longer string. */
static void splice(struct strbuf *sb, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		sb_addstr(sb, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		char buf[32];
		size_t n = jw_format_double(v->valuedouble, buf);
		if (n)
			sb_add(sb, buf, n);
		else
			sb_addstr(sb, "null");
	} else if (cJSON_IsTrue(v)) {
		sb_addstr(sb, "true");
	} else if (cJSON_IsFalse(v)) {
		sb_addstr(sb, "false");
	} else if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		struct jw w;
		jw_init(&w, sb);
		jw_cjson(&w, v);
	} else {
		sb_addstr(sb, "null");
	}
}

static cJSON *must(cJSON *v)
{
	if (!v)
		die("out of memory");
	return v;
}

static cJSON *apply_string(struct apply *a, const char *s)
{
	size_t pos = 0, n = 0;
	struct piece pc, first;
	bool bad = false;
	memset(&first, 0, sizeof(first));
	struct strbuf msg = SB_INIT;
	while (next_piece(s, &pos, &pc)) {
		if (n++ == 0)
			first = pc;
		sb_reset(&msg);
		if (piece_problem(s, &pc, &msg)) {
			add_reason(a, "%s", msg.buf);
			bad = true;
		}
	}
	sb_release(&msg);
	if (bad)
		return NULL;
	if (n == 1 && first.kind == P_REF) {
		const cJSON *v = lookup(a, &first);
		return v ? must(cJSON_Duplicate(v, true)) : NULL;
	}
	struct strbuf sb = SB_INIT;
	pos = 0;
	while (next_piece(s, &pos, &pc)) {
		if (pc.kind == P_TEXT) {
			sb_add(&sb, pc.text, pc.len);
		} else {
			const cJSON *v = lookup(a, &pc);
			if (v)
				splice(&sb, v);
		}
	}
	cJSON *r = must(cJSON_CreateString(sb.buf));
	sb_release(&sb);
	return r;
}

static cJSON *apply_node(struct apply *a, const cJSON *in)
{
	if (cJSON_IsString(in)) {
		if (!subst_has(in->valuestring) && !strstr(in->valuestring, "$${"))
			return must(cJSON_CreateString(in->valuestring));
		return apply_string(a, in->valuestring);
	}
	if (!cJSON_IsObject(in) && !cJSON_IsArray(in))
		return must(cJSON_Duplicate(in, false));
	cJSON *out = must(cJSON_IsObject(in) ? cJSON_CreateObject() : cJSON_CreateArray());
	for (const cJSON *c = in->child; c; c = c->next) {
		cJSON *v = apply_node(a, c);
		if (!v)
			v = must(cJSON_CreateNull());
		if (cJSON_IsObject(in))
			cJSON_AddItemToObject(out, c->string ? c->string : "", v);
		else
			cJSON_AddItemToArray(out, v);
	}
	return out;
}

cJSON *subst_apply(const cJSON *in, const cJSON *config, const cJSON *outputs,
		   struct strbuf *err)
{
	struct apply a = { config, outputs, err, false, SB_INIT };
	cJSON *out = in ? apply_node(&a, in) : NULL;
	sb_release(&a.name);
	if (a.failed) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

/* ---- check ------------------------------------------------------------ */

struct check {
	struct cfg *cfg;
	const cJSON *config;
	const char *const *known;
	size_t nknown;
	const char **names; /* the configuration's names, for suggestions */
	size_t nnames;
	struct strbuf ptr;
	int nerrors;
};

static bool is_known(const struct check *c, const char *name)
{
	for (size_t i = 0; i < c->nknown; i++)
		if (strcmp(c->known[i], name) == 0)
			return true;
	return false;
}

static void check_string(struct check *c, const char *s)
{
	size_t pos = 0;
	struct piece pc;
	struct strbuf msg = SB_INIT, name = SB_INIT;
	while (next_piece(s, &pos, &pc)) {
		sb_reset(&msg);
		if (!piece_problem(s, &pc, &msg)) {
			if (pc.kind != P_REF)
				continue;
			sb_reset(&name);
			sb_add(&name, pc.name, pc.namelen);
			const char *near = NULL;
			if (pc.out && !is_known(c, name.buf)) {
				sb_addf(&msg, "'%.*s': no %s '%s' runs before this one",
					(int)pc.len, pc.text, word_activity, name.buf);
				near = suggest_closest(name.buf, c->known, c->nknown);
			} else if (!pc.out && c->config &&
				   !(cJSON_IsObject(c->config) &&
				     cJSON_GetObjectItemCaseSensitive(c->config, name.buf))) {
				sb_addf(&msg, "'%.*s': no %s '%s'", (int)pc.len, pc.text,
					word_value, name.buf);
				near = suggest_closest(name.buf, c->names, c->nnames);
			} else {
				continue;
			}
			if (near)
				sb_addf(&msg, "; did you mean '%s'?", near);
		}
		cfg_error(c->cfg, c->ptr.buf, "%s", msg.buf);
		c->nerrors++;
	}
	sb_release(&msg);
	sb_release(&name);
}

static void check_node(struct check *c, const cJSON *node)
{
	if (cJSON_IsString(node)) {
		check_string(c, node->valuestring);
		return;
	}
	if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
		return;
	size_t len = c->ptr.len, i = 0;
	for (const cJSON *k = node->child; k; k = k->next, i++) {
		if (cJSON_IsObject(node))
			cfg_ptr_append(&c->ptr, k->string ? k->string : "");
		else
			sb_addf(&c->ptr, "/%zu", i);
		check_node(c, k);
		sb_setlen(&c->ptr, len);
	}
}

int subst_check(struct cfg *cfg, const cJSON *node, const char *ptr, const cJSON *config,
		const char *const *known)
{
	static const char *const none[] = { NULL };
	struct check c = { cfg, config, known ? known : none, 0, NULL, 0, SB_INIT, 0 };
	while (c.known[c.nknown])
		c.nknown++;
	if (cJSON_IsObject(config)) {
		size_t alloc = 0;
		for (const cJSON *k = config->child; k; k = k->next) {
			ALLOC_GROW(c.names, c.nnames + 1, alloc);
			c.names[c.nnames++] = k->string ? k->string : "";
		}
	}
	sb_addstr(&c.ptr, ptr ? ptr : "");
	check_node(&c, node);
	sb_release(&c.ptr);
	free(c.names);
	return c.nerrors;
}
