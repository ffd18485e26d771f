/*
 * jsonpath.c: the JSONPath subset of jsonpath.h, compiled once into
 * segments of selectors and evaluated over a cJSON tree step by step.
 *
 * The parser is hand-written recursive descent over the path text; it
 * stops at the first problem and names its column, because a path in a
 * tolerance is written by hand and one precise complaint is what fixes
 * it. Everything a compiled path holds is registered in the path's own
 * list of allocations, so a parse that fails half way frees in one place.
 * Evaluation keeps the nodes of the current step in a vector; counts of
 * matches and of visited nodes are capped so that a path like
 * `$..*..*..*` over a large document ends with an error, not with the
 * machine's memory.
 */
#include "common.h"
#include <math.h>

#include "jsonpath.h"

enum sel_kind { SEL_NAME, SEL_INDEX, SEL_WILD, SEL_SLICE, SEL_FILTER };
enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum fx_kind { FX_OR, FX_AND, FX_NOT, FX_EXISTS, FX_CMP };

/* One step of a relative path in a filter: a name, or (name NULL) an index. */
struct step {
	const char *name;
	int64_t index;
};

struct fx {
	enum fx_kind kind;
	struct fx **kids; /* OR, AND (two or more), NOT (one) */
	size_t nkids;
	struct step *steps; /* EXISTS, CMP: the @ path */
	size_t nsteps;
	enum op op;         /* CMP: @path OP lit */
	const cJSON *lit;
};

struct sel {
	enum sel_kind kind;
	const char *name;
	int64_t index;
	int64_t start, end, step;
	bool has_start, has_end;
	const struct fx *filter;
};

struct seg {
	bool descendant;
	struct sel *sels;
	size_t nsels;
};

struct jp {
	struct seg *segs;
	size_t nsegs, asegs;
	void **mem; /* every other allocation, freed by jp_free */
	size_t nmem, amem;
	cJSON **lits;
	size_t nlits, alits;
};

/* Indexes beyond 2^53 cannot address anything and would not survive a
 * trip through a double. */
#define INDEX_MAX 9007199254740992LL

/* ---- ownership -------------------------------------------------------- */

static void *own(struct jp *jp, void *p)
{
	ALLOC_GROW(jp->mem, jp->nmem + 1, jp->amem);
	jp->mem[jp->nmem++] = p;
	return p;
}

static void *own_copy(struct jp *jp, const void *src, size_t n)
{
	return own(jp, xmemdup(src, n ? n : 1));
}

static const cJSON *own_lit(struct jp *jp, cJSON *v)
{
	if (!v)
		die("out of memory");
	ALLOC_GROW(jp->lits, jp->nlits + 1, jp->alits);
	jp->lits[jp->nlits++] = v;
	return v;
}

void jp_free(struct jp *jp)
{
	if (!jp)
		return;
	for (size_t i = 0; i < jp->nmem; i++)
		free(jp->mem[i]);
	free(jp->mem);
	for (size_t i = 0; i < jp->nlits; i++)
		cJSON_Delete(jp->lits[i]);
	free(jp->lits);
	free(jp->segs);
	free(jp);
}

/* ---- parsing ---------------------------------------------------------- */

struct parser {
	const char *s;
	size_t pos;
	struct jp *jp;
	struct strbuf *err;
	size_t *col;
	int depth;
};

static int fail(struct parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, size_t at, const char *fmt, ...)
{
	size_t col = 1;
	for (size_t i = 0; i < at; i++)
		if (((unsigned char)p->s[i] & 0xc0) != 0x80)
			col++;
	if (p->col)
		*p->col = col;
	if (p->err) {
		va_list ap;
		sb_addf(p->err, "column %zu: ", col);
		va_start(ap, fmt);
		sb_vaddf(p->err, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* "expected WHAT, found 'c'" (or "found the end") at the current place. */
static int fail_found(struct parser *p, const char *expected)
{
	unsigned char c = (unsigned char)p->s[p->pos];
	if (!c)
		return fail(p, p->pos, "expected %s, found the end of the path", expected);
	if (c >= 0x20 && c < 0x7f)
		return fail(p, p->pos, "expected %s, found '%c'", expected, c);
	return fail(p, p->pos, "expected %s, found byte 0x%02x", expected, c);
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_name_char(int c)
{
	c = (unsigned char)c;
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == '-' || c >= 0x80;
}

static void skip_ws(struct parser *p)
{
	while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
	       p->s[p->pos] == '\r')
		p->pos++;
}

static bool at_word(const struct parser *p, const char *w)
{
	size_t n = strlen(w);
	return strncmp(p->s + p->pos, w, n) == 0 && !is_name_char(p->s[p->pos + n]);
}

/* An integer: optional '-', digits. */
static int parse_int(struct parser *p, int64_t *out)
{
	size_t start = p->pos;
	bool neg = false;
	if (p->s[p->pos] == '-') {
		neg = true;
		p->pos++;
	}
	if (!is_digit(p->s[p->pos]))
		return fail_found(p, "a digit");
	int64_t v = 0;
	while (is_digit(p->s[p->pos])) {
		v = v * 10 + (p->s[p->pos++] - '0');
		if (v > INDEX_MAX)
			return fail(p, start, "index out of range");
	}
	*out = neg ? -v : v;
	return 0;
}

static int hex4(const char *s, long *out)
{
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)s[i];
		if (is_digit(c))
			v = v * 16 + (c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v * 16 + ((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void add_utf8(struct strbuf *sb, long cp)
{
	if (cp < 0x80) {
		sb_addch(sb, (int)cp);
	} else if (cp < 0x800) {
		sb_addch(sb, (int)(0xc0 | (cp >> 6)));
		sb_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		sb_addch(sb, (int)(0xe0 | (cp >> 12)));
		sb_addch(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		sb_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else {
		sb_addch(sb, (int)(0xf0 | (cp >> 18)));
		sb_addch(sb, (int)(0x80 | ((cp >> 12) & 0x3f)));
		sb_addch(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		sb_addch(sb, (int)(0x80 | (cp & 0x3f)));
	}
}

/* A string in single or double quotes; *out is owned by the path. */
static int parse_string(struct parser *p, const char **out)
{
	char q = p->s[p->pos];
	size_t start = p->pos++;
	struct strbuf sb = SB_INIT;
	int r = 0;
	for (;;) {
		unsigned char c = (unsigned char)p->s[p->pos];
		if (!c) {
			r = fail(p, start, "unterminated string");
			break;
		}
		if (c == (unsigned char)q) {
			p->pos++;
			break;
		}
		if (c < 0x20) {
			r = fail(p, p->pos, "control character 0x%02x in a string", c);
			break;
		}
		if (c != '\\') {
			sb_addch(&sb, c);
			p->pos++;
			continue;
		}
		char e = p->s[p->pos + 1], plain = 0;
		switch (e) {
		case '\\':
		case '\'':
		case '"':
		case '/':
			plain = e;
			break;
		case 'b':
			plain = '\b';
			break;
		case 'f':
			plain = '\f';
			break;
		case 'n':
			plain = '\n';
			break;
		case 'r':
			plain = '\r';
			break;
		case 't':
			plain = '\t';
			break;
		}
		if (plain) {
			sb_addch(&sb, plain);
			p->pos += 2;
			continue;
		}
		if (e != 'u') {
			r = fail(p, p->pos, "invalid escape in a string");
			break;
		}
		long cp, lo;
		if (hex4(p->s + p->pos + 2, &cp) < 0) {
			r = fail(p, p->pos, "invalid \\u escape, expected 4 hex digits");
			break;
		}
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			r = fail(p, p->pos, "invalid \\u escape: unpaired surrogate");
			break;
		}
		if (cp >= 0xd800 && cp <= 0xdbff) {
			const char *n = p->s + p->pos + 6;
			if (n[0] != '\\' || n[1] != 'u' || hex4(n + 2, &lo) < 0 || lo < 0xdc00 ||
			    lo > 0xdfff) {
				r = fail(p, p->pos, "invalid \\u escape: unpaired surrogate");
				break;
			}
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p->pos += 6;
		}
		if (cp == 0) {
			r = fail(p, p->pos, "\\u0000 is not allowed in a string");
			break;
		}
		add_utf8(&sb, cp);
		p->pos += 6;
	}
	if (r == 0)
		*out = own(p->jp, sb_detach(&sb, NULL));
	sb_release(&sb);
	return r;
}

/* A JSON number, true, false, null or a quoted string. */
static int parse_literal(struct parser *p, const cJSON **out)
{
	const char *s = p->s;
	char c = s[p->pos];
	if (c == '\'' || c == '"') {
		const char *str;
		if (parse_string(p, &str) < 0)
			return -1;
		*out = own_lit(p->jp, cJSON_CreateString(str));
		return 0;
	}
	if (c == '-' || is_digit(c)) {
		size_t start = p->pos, i = start;
		if (s[i] == '-')
			i++;
		if (!is_digit(s[i])) {
			p->pos = i;
			return fail_found(p, "a digit");
		}
		while (is_digit(s[i]))
			i++;
		if (s[i] == '.') {
			i++;
			if (!is_digit(s[i])) {
				p->pos = i;
				return fail_found(p, "a digit after '.'");
			}
			while (is_digit(s[i]))
				i++;
		}
		if (s[i] == 'e' || s[i] == 'E') {
			i++;
			if (s[i] == '+' || s[i] == '-')
				i++;
			if (!is_digit(s[i])) {
				p->pos = i;
				return fail_found(p, "a digit in the exponent");
			}
			while (is_digit(s[i]))
				i++;
		}
		char buf[64];
		if (i - start >= sizeof(buf))
			return fail(p, start, "number too long");
		memcpy(buf, s + start, i - start);
		buf[i - start] = '\0';
		double d = strtod(buf, NULL);
		if (!isfinite(d))
			return fail(p, start, "number out of range");
		p->pos = i;
		*out = own_lit(p->jp, cJSON_CreateNumber(d));
		return 0;
	}
	if (at_word(p, "true") || at_word(p, "false") || at_word(p, "null")) {
		cJSON *v = c == 't' ? cJSON_CreateTrue() : c == 'f' ? cJSON_CreateFalse()
								 : cJSON_CreateNull();
		p->pos += c == 'f' ? 5 : 4;
		*out = own_lit(p->jp, v);
		return 0;
	}
	return fail_found(p, "a number, a string, true, false or null");
}

/* '@' then .name, ['name'] and [N] steps. */
static int parse_rel(struct parser *p, struct fx *f)
{
	struct {
		struct step *v;
		size_t n, alloc;
	} steps = { NULL, 0, 0 };
	int r = 0;
	p->pos++; /* '@' */
	for (;;) {
		struct step st = { NULL, 0 };
		if (p->s[p->pos] == '.') {
			p->pos++;
			size_t start = p->pos;
			if (!is_name_char(p->s[p->pos])) {
				r = fail_found(p, "a name after '.'");
				break;
			}
			while (is_name_char(p->s[p->pos]))
				p->pos++;
			char *name = own_copy(p->jp, p->s + start, p->pos - start + 1);
			name[p->pos - start] = '\0';
			st.name = name;
		} else if (p->s[p->pos] == '[') {
			p->pos++;
			skip_ws(p);
			char c = p->s[p->pos];
			if (c == '\'' || c == '"')
				r = parse_string(p, &st.name);
			else if (c == '-' || is_digit(c))
				r = parse_int(p, &st.index);
			else
				r = fail_found(p, "an index or a name in quotes");
			if (r < 0)
				break;
			skip_ws(p);
			if (p->s[p->pos] != ']') {
				r = fail_found(p, "']'");
				break;
			}
			p->pos++;
		} else {
			break;
		}
		ALLOC_GROW(steps.v, steps.n + 1, steps.alloc);
		steps.v[steps.n++] = st;
	}
	f->steps = steps.n ? own_copy(p->jp, steps.v, steps.n * sizeof(*steps.v)) : NULL;
	f->nsteps = steps.n;
	free(steps.v);
	return r;
}

/* == != < <= > >=; -2 (nothing consumed) when there is no operator. */
static int parse_op(struct parser *p, enum op *op)
{
	const char *s = p->s + p->pos;
	static const struct {
		const char *text;
		enum op op;
	} ops[] = { { "==", OP_EQ }, { "!=", OP_NE }, { "<=", OP_LE },
		    { ">=", OP_GE }, { "<", OP_LT },  { ">", OP_GT } };
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		size_t n = strlen(ops[i].text);
		if (strncmp(s, ops[i].text, n) == 0) {
			*op = ops[i].op;
			p->pos += n;
			return 0;
		}
	}
	if (s[0] == '=')
		return fail(p, p->pos, "use '==' to compare");
	return -2;
}

static struct fx *new_fx(struct parser *p, enum fx_kind kind)
{
	struct fx *f = own(p->jp, xcalloc(1, sizeof(*f)));
	f->kind = kind;
	return f;
}

static int parse_or(struct parser *p, struct fx **out);

/* @path [OP VALUE] | VALUE OP @path */
static int parse_test(struct parser *p, struct fx **out)
{
	struct fx *f = new_fx(p, FX_EXISTS);
	*out = f;
	char c = p->s[p->pos];
	if (c == '@') {
		if (parse_rel(p, f) < 0)
			return -1;
		skip_ws(p);
		int r = parse_op(p, &f->op);
		if (r == -1)
			return -1;
		if (r == -2)
			return 0;
		f->kind = FX_CMP;
		skip_ws(p);
		return parse_literal(p, &f->lit);
	}
	if (c == '\'' || c == '"' || c == '-' || is_digit(c) || at_word(p, "true") ||
	    at_word(p, "false") || at_word(p, "null")) {
		if (parse_literal(p, &f->lit) < 0)
			return -1;
		skip_ws(p);
		int r = parse_op(p, &f->op);
		if (r == -1)
			return -1;
		if (r == -2)
			return fail_found(p, "a comparison operator");
		skip_ws(p);
		if (p->s[p->pos] != '@')
			return fail_found(p, "'@'");
		if (parse_rel(p, f) < 0)
			return -1;
		/* VALUE OP @path is @path OP' VALUE. */
		static const enum op flip[] = { OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE };
		f->op = flip[f->op];
		f->kind = FX_CMP;
		return 0;
	}
	return fail_found(p, "'@', a value, '!' or '('");
}

/* !UNARY | (OR) | TEST */
static int parse_unary(struct parser *p, struct fx **out)
{
	skip_ws(p);
	char c = p->s[p->pos];
	if (c != '!' && c != '(')
		return parse_test(p, out);
	if (p->depth >= JP_MAX_DEPTH)
		return fail(p, p->pos, "filter nested deeper than %d levels", JP_MAX_DEPTH);
	p->depth++;
	p->pos++;
	int r;
	if (c == '!') {
		struct fx *f = new_fx(p, FX_NOT);
		struct fx *kid = NULL;
		*out = f;
		r = parse_unary(p, &kid);
		f->kids = own_copy(p->jp, &kid, sizeof(kid));
		f->nkids = 1;
	} else {
		r = parse_or(p, out);
		if (r == 0) {
			skip_ws(p);
			if (p->s[p->pos] == ')')
				p->pos++;
			else
				r = fail_found(p, "')'");
		}
	}
	p->depth--;
	return r;
}

/* A chain of parse_unary (AND) or parse_and (OR) joined by op. */
static int parse_chain(struct parser *p, struct fx **out, const char *opname, enum fx_kind kind)
{
	struct fx **kids = NULL;
	size_t n = 0, alloc = 0;
	int r;
	for (;;) {
		struct fx *k = NULL;
		r = kind == FX_AND ? parse_unary(p, &k) : parse_chain(p, &k, "&&", FX_AND);
		ALLOC_GROW(kids, n + 1, alloc);
		kids[n++] = k;
		if (r < 0)
			break;
		skip_ws(p);
		if (strncmp(p->s + p->pos, opname, 2) != 0)
			break;
		p->pos += 2;
	}
	if (n == 1) {
		*out = kids[0];
	} else {
		struct fx *f = new_fx(p, kind);
		f->kids = own_copy(p->jp, kids, n * sizeof(*kids));
		f->nkids = n;
		*out = f;
	}
	free(kids);
	return r;
}

static int parse_or(struct parser *p, struct fx **out)
{
	return parse_chain(p, out, "||", FX_OR);
}

/* One selector inside brackets. */
static int parse_selector(struct parser *p, struct sel *sel)
{
	char c = p->s[p->pos];
	if (c == '*') {
		sel->kind = SEL_WILD;
		p->pos++;
		return 0;
	}
	if (c == '\'' || c == '"') {
		sel->kind = SEL_NAME;
		return parse_string(p, &sel->name);
	}
	if (c == '?') {
		struct fx *f = NULL;
		p->pos++;
		sel->kind = SEL_FILTER;
		int r = parse_or(p, &f);
		sel->filter = f;
		return r;
	}
	if (c != '-' && c != ':' && !is_digit(c))
		return fail_found(p, "an index, a name in quotes, '*', a slice or a filter");
	int64_t a = 0;
	bool has_a = c != ':';
	if (has_a) {
		if (parse_int(p, &a) < 0)
			return -1;
		skip_ws(p);
	}
	if (p->s[p->pos] != ':') {
		sel->kind = SEL_INDEX;
		sel->index = a;
		return 0;
	}
	p->pos++;
	skip_ws(p);
	sel->kind = SEL_SLICE;
	sel->has_start = has_a;
	sel->start = a;
	sel->step = 1;
	c = p->s[p->pos];
	if (c == '-' || is_digit(c)) {
		if (parse_int(p, &sel->end) < 0)
			return -1;
		sel->has_end = true;
		skip_ws(p);
	}
	if (p->s[p->pos] == ':') {
		p->pos++;
		skip_ws(p);
		c = p->s[p->pos];
		if (c == '-' || is_digit(c)) {
			size_t at = p->pos;
			if (parse_int(p, &sel->step) < 0)
				return -1;
			if (sel->step == 0)
				return fail(p, at, "a slice step must not be 0");
		}
	}
	return 0;
}

/* [sel, sel, ...] */
static int parse_bracket(struct parser *p, struct seg *seg)
{
	struct sel *sels = NULL;
	size_t n = 0, alloc = 0;
	int r;
	p->pos++; /* '[' */
	for (;;) {
		skip_ws(p);
		ALLOC_GROW(sels, n + 1, alloc);
		memset(&sels[n], 0, sizeof(sels[n]));
		r = parse_selector(p, &sels[n++]);
		if (r < 0)
			break;
		skip_ws(p);
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] == ']') {
			p->pos++;
			break;
		}
		r = fail_found(p, "',' or ']'");
		break;
	}
	seg->sels = own_copy(p->jp, sels, n * sizeof(*sels));
	seg->nsels = n;
	free(sels);
	return r;
}

/* A dotted name or '*' (after '.' or '..'). */
static int parse_dotted(struct parser *p, struct seg *seg, const char *expected)
{
	struct sel sel;
	memset(&sel, 0, sizeof(sel));
	if (p->s[p->pos] == '*') {
		sel.kind = SEL_WILD;
		p->pos++;
	} else if (is_name_char(p->s[p->pos])) {
		size_t start = p->pos;
		while (is_name_char(p->s[p->pos]))
			p->pos++;
		char *name = own_copy(p->jp, p->s + start, p->pos - start + 1);
		name[p->pos - start] = '\0';
		sel.kind = SEL_NAME;
		sel.name = name;
	} else {
		return fail_found(p, expected);
	}
	seg->sels = own_copy(p->jp, &sel, sizeof(sel));
	seg->nsels = 1;
	return 0;
}

struct jp *jp_compile(const char *src, struct strbuf *err, size_t *col)
{
	struct jp *jp = xcalloc(1, sizeof(*jp));
	struct parser p = { src, 0, jp, err, col, 0 };
	int r = 0;
	if (src[0] != '$') {
		r = fail(&p, 0, "a JSONPath starts with '$'");
		p.pos = strlen(src);
	} else {
		p.pos = 1;
	}
	while (r == 0 && src[p.pos]) {
		struct seg seg = { false, NULL, 0 };
		if (src[p.pos] == '.' && src[p.pos + 1] == '.') {
			seg.descendant = true;
			p.pos += 2;
			if (src[p.pos] == '[')
				r = parse_bracket(&p, &seg);
			else
				r = parse_dotted(&p, &seg, "a name, '*' or '[' after '..'");
		} else if (src[p.pos] == '.') {
			p.pos++;
			r = parse_dotted(&p, &seg, "a name or '*' after '.'");
		} else if (src[p.pos] == '[') {
			r = parse_bracket(&p, &seg);
		} else {
			r = fail_found(&p, "'.' or '['");
		}
		ALLOC_GROW(jp->segs, jp->nsegs + 1, jp->asegs);
		jp->segs[jp->nsegs++] = seg;
	}
	if (r < 0) {
		jp_free(jp);
		return NULL;
	}
	return jp;
}

/* ---- evaluation ------------------------------------------------------- */

struct ev {
	struct jp_matches *out;
	size_t visits;
	struct strbuf *err;
	const cJSON **tmp; /* a slice's elements */
	size_t atmp;
};

static int push(struct ev *ev, const cJSON *v)
{
	struct jp_matches *m = ev->out;
	if (m->n >= JP_MAX_MATCHES) {
		if (ev->err)
			sb_addf(ev->err, "more than %d matches", JP_MAX_MATCHES);
		return -1;
	}
	ALLOC_GROW(m->v, m->n + 1, m->alloc);
	m->v[m->n++] = v;
	return 0;
}

static int visit(struct ev *ev)
{
	if (++ev->visits > JP_MAX_VISITS) {
		if (ev->err)
			sb_addf(ev->err, "more than %d nodes visited", JP_MAX_VISITS);
		return -1;
	}
	return 0;
}

static const cJSON *array_at(const cJSON *arr, int64_t idx)
{
	int64_t n = cJSON_GetArraySize(arr);
	if (idx < 0)
		idx += n;
	if (idx < 0 || idx >= n)
		return NULL;
	return cJSON_GetArrayItem(arr, (int)idx);
}

static const cJSON *resolve_rel(const struct fx *f, const cJSON *node)
{
	for (size_t i = 0; node && i < f->nsteps; i++) {
		const struct step *st = &f->steps[i];
		if (st->name)
			node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, st->name)
						    : NULL;
		else
			node = cJSON_IsArray(node) ? array_at(node, st->index) : NULL;
	}
	return node;
}

static bool compare(const cJSON *a, enum op op, const cJSON *b)
{
	if (op == OP_EQ)
		return cJSON_Compare(a, b, true);
	if (op == OP_NE)
		return !cJSON_Compare(a, b, true);
	int c;
	if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
		c = a->valuedouble < b->valuedouble ? -1 : a->valuedouble > b->valuedouble;
	else if (cJSON_IsString(a) && cJSON_IsString(b))
		c = strcmp(a->valuestring, b->valuestring);
	else
		return false;
	switch (op) {
	case OP_LT:
		return c < 0;
	case OP_LE:
		return c <= 0;
	case OP_GT:
		return c > 0;
	default:
		return c >= 0;
	}
}

static bool holds(const struct fx *f, const cJSON *node)
{
	switch (f->kind) {
	case FX_OR:
		for (size_t i = 0; i < f->nkids; i++)
			if (holds(f->kids[i], node))
				return true;
		return false;
	case FX_AND:
		for (size_t i = 0; i < f->nkids; i++)
			if (!holds(f->kids[i], node))
				return false;
		return true;
	case FX_NOT:
		return !holds(f->kids[0], node);
	case FX_EXISTS:
		return resolve_rel(f, node) != NULL;
	case FX_CMP: {
		const cJSON *v = resolve_rel(f, node);
		return v && compare(v, f->op, f->lit);
	}
	}
	return false;
}

static int apply_slice(struct ev *ev, const struct sel *s, const cJSON *arr)
{
	int64_t n = 0;
	for (const cJSON *c = arr->child; c; c = c->next) {
		if (visit(ev) < 0)
			return -1;
		ALLOC_GROW(ev->tmp, n + 1, ev->atmp);
		ev->tmp[n++] = c;
	}
	int64_t start, end, step = s->step;
	if (step > 0) {
		start = s->has_start ? s->start : 0;
		end = s->has_end ? s->end : n;
		start = start < 0 ? (start + n < 0 ? 0 : start + n) : (start > n ? n : start);
		end = end < 0 ? (end + n < 0 ? 0 : end + n) : (end > n ? n : end);
		for (int64_t i = start; i < end; i += step)
			if (push(ev, ev->tmp[i]) < 0)
				return -1;
	} else {
		start = s->has_start ? s->start : n - 1;
		end = s->has_end ? s->end : -n - 1;
		start = start < 0 ? (start + n < -1 ? -1 : start + n) : (start > n - 1 ? n - 1 : start);
		end = end < 0 ? (end + n < -1 ? -1 : end + n) : (end > n - 1 ? n - 1 : end);
		for (int64_t i = start; i > end; i += step)
			if (push(ev, ev->tmp[i]) < 0)
				return -1;
	}
	return 0;
}

static int apply(struct ev *ev, const struct sel *s, const cJSON *node)
{
	bool container = cJSON_IsObject(node) || cJSON_IsArray(node);
	switch (s->kind) {
	case SEL_NAME:
		if (cJSON_IsObject(node)) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(node, s->name);
			if (v)
				return push(ev, v);
		}
		return 0;
	case SEL_INDEX:
		if (cJSON_IsArray(node)) {
			const cJSON *v = array_at(node, s->index);
			if (v)
				return push(ev, v);
		}
		return 0;
	case SEL_SLICE:
		return cJSON_IsArray(node) ? apply_slice(ev, s, node) : 0;
	case SEL_WILD:
	case SEL_FILTER:
		if (!container)
			return 0;
		for (const cJSON *c = node->child; c; c = c->next) {
			if (visit(ev) < 0)
				return -1;
			if ((s->kind == SEL_WILD || holds(s->filter, c)) && push(ev, c) < 0)
				return -1;
		}
		return 0;
	}
	return 0;
}

static int apply_seg(struct ev *ev, const struct seg *seg, const cJSON *node)
{
	if (visit(ev) < 0)
		return -1;
	for (size_t i = 0; i < seg->nsels; i++)
		if (apply(ev, &seg->sels[i], node) < 0)
			return -1;
	if (seg->descendant && (cJSON_IsObject(node) || cJSON_IsArray(node)))
		for (const cJSON *c = node->child; c; c = c->next)
			if (apply_seg(ev, seg, c) < 0)
				return -1;
	return 0;
}

int jp_eval(const struct jp *jp, const cJSON *doc, struct jp_matches *m, struct strbuf *err)
{
	struct jp_matches cur = { NULL, 0, 0 }, next = { NULL, 0, 0 };
	struct ev ev = { &next, 0, err, NULL, 0 };
	int r = 0;
	ALLOC_GROW(cur.v, 1, cur.alloc);
	cur.v[cur.n++] = doc;
	for (size_t i = 0; r == 0 && i < jp->nsegs; i++) {
		next.n = 0;
		for (size_t k = 0; r == 0 && k < cur.n; k++)
			r = apply_seg(&ev, &jp->segs[i], cur.v[k]);
		struct jp_matches t = cur;
		cur = next;
		next = t;
	}
	if (r == 0)
		for (size_t k = 0; k < cur.n; k++) {
			ALLOC_GROW(m->v, m->n + 1, m->alloc);
			m->v[m->n++] = cur.v[k];
		}
	jp_matches_release(&cur);
	jp_matches_release(&next);
	free(ev.tmp);
	return r;
}

void jp_matches_release(struct jp_matches *m)
{
	free(m->v);
	m->v = NULL;
	m->n = m->alloc = 0;
}
