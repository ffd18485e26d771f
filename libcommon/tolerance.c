/*
 * tolerance.c: validating tolerances at load and judging probe outputs
 * against them at run time (see tolerance.h).
 *
 * Every kind of tolerance picks its value from the output by one rule
 * (an explicit target, else the first default key the output has, else
 * the output itself), so a tolerance written for a process probe and
 * one written for an http probe behave alike, and a missing target is an
 * answer ("no 'code' in the output"), never a crash. A list is always a
 * membership test: the peer that reads a two-element list as a range
 * when the output is a number makes [200, 204] accept 201.
 *
 * Each verdict comes with one line saying what was seen and what was
 * wanted, because that line is what a person reads when a hypothesis
 * deviates at night.
 */
#include "common.h"
#include <math.h>
#include <regex.h>

#include "jsonpath.h"
#include "jw.h"
#include "tolerance.h"

/* How much of a value a why line shows. */
#define SHOW_MAX 60
/* How many elements of a list a why line shows. */
#define SHOW_ITEMS 10
/* Parentheses deeper than this make a pattern count as too large. */
#define REGEX_DEPTH 64
/* ^ and $ also match at line breaks, as in ofs-health's checks. */
#define TOL_RE_FLAGS (REG_EXTENDED | REG_NOSUB | REG_NEWLINE)

/* ---- showing values --------------------------------------------------- */

/* The length of s cut to at most max bytes on a UTF-8 boundary. */
static size_t cut_utf8(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

static void add_value(struct strbuf *sb, const cJSON *v);

static void add_list(struct strbuf *sb, const cJSON *arr)
{
	size_t i = 0;
	sb_addch(sb, '[');
	for (const cJSON *c = arr->child; c; c = c->next, i++) {
		if (i)
			sb_addstr(sb, ", ");
		if (i == SHOW_ITEMS) {
			sb_addstr(sb, "...");
			break;
		}
		add_value(sb, c);
	}
	sb_addch(sb, ']');
}

/* v as JSON for a why line: strings quoted and cut, lists with ", ". */
static void add_value(struct strbuf *sb, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		size_t len = strlen(v->valuestring), n = cut_utf8(v->valuestring, len, SHOW_MAX);
		jw_escape(sb, v->valuestring, n);
		if (n < len) {
			sb_setlen(sb, sb->len - 1);
			sb_addstr(sb, "...\"");
		}
	} else if (cJSON_IsNumber(v)) {
		char buf[32];
		size_t n = jw_format_double(v->valuedouble, buf);
		sb_addstr(sb, n ? buf : "null");
	} else if (cJSON_IsArray(v)) {
		add_list(sb, v);
	} else if (v) {
		struct strbuf t = SB_INIT;
		struct jw w;
		jw_init(&w, &t);
		jw_cjson(&w, v);
		size_t n = cut_utf8(t.buf, t.len, SHOW_MAX);
		sb_add(sb, t.buf, n);
		if (n < t.len)
			sb_addstr(sb, "...");
		sb_release(&t);
	} else {
		sb_addstr(sb, "nothing");
	}
}

/* "E" or "one of [A, B]" for an expectation. */
static void add_want(struct strbuf *sb, const cJSON *want)
{
	if (cJSON_IsArray(want))
		sb_addstr(sb, "one of ");
	add_value(sb, want);
}

/* ---- targets ---------------------------------------------------------- */

/*
 * The value a tolerance judges: the explicit target, else the first of
 * defaults (NULL-terminated) the output has, else the output. *label
 * names it in why. NULL when an explicit target is missing.
 */
static const cJSON *pick(const cJSON *output, const char *target, const char *const *defaults,
			 const char **label)
{
	if (target) {
		*label = target;
		if (target[0] == '/')
			return cfg_resolve(output, target);
		return cJSON_IsObject(output) ? cJSON_GetObjectItemCaseSensitive(output, target)
					      : NULL;
	}
	for (; defaults && *defaults && cJSON_IsObject(output); defaults++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(output, *defaults);
		if (v) {
			*label = *defaults;
			return v;
		}
	}
	*label = "output";
	return output;
}

static const char *const status_keys[] = { "status", NULL };
static const char *const text_keys[] = { "stdout", "body", "state", NULL };
static const char *const body_keys[] = { "body", NULL };

static const char *target_of(const cJSON *tol)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(tol, "target");
	return cJSON_IsString(t) ? t->valuestring : NULL;
}

/* ---- regular expressions ---------------------------------------------- */

/*
 * regex_copies: how many copies of one atom the repetitions of pattern
 * p can make: a {m,n} multiplies the atom or group before it by n (m
 * when open), a '+' by two, and nested counts multiply, so
 * ((a{100}){100}){100} is a million and a++++++++++++++++++++ too.
 * Bracket expressions and escapes are single atoms.
 */
static double regex_copies(const char *p)
{
	double outer[REGEX_DEPTH];
	size_t depth = 0;
	double most = 1, last = 1;
	while (*p) {
		char c = *p;
		if (c == '\\' && p[1]) {
			p += 2;
			last = 1;
		} else if (c == '[') {
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				char d = p[1];
				if (*p == '[' && (d == ':' || d == '.' || d == '=')) {
					p += 2;
					while (*p && !(p[0] == d && p[1] == ']'))
						p++;
					if (*p)
						p++;
				}
				if (*p)
					p++;
			}
			if (*p)
				p++;
			last = 1;
		} else if (c == '(') {
			if (depth == REGEX_DEPTH)
				return INFINITY;
			outer[depth++] = most;
			most = last = 1;
			p++;
		} else if (c == ')') {
			double group = most;
			most = depth ? fmax(outer[--depth], group) : group;
			last = group;
			p++;
		} else if (c == '{') {
			double m = 0, n = -1;
			for (p++; *p >= '0' && *p <= '9'; p++)
				m = fmin(m * 10 + (*p - '0'), 1e9);
			if (*p == ',') {
				for (p++; *p >= '0' && *p <= '9'; p++)
					n = fmin((n < 0 ? 0 : n) * 10 + (*p - '0'), 1e9);
			}
			last *= fmax(n >= 0 ? n : m, 1);
			most = fmax(most, last);
			while (*p && *p != '}')
				p++;
			if (*p)
				p++;
		} else if (c == '+') {
			/* glibc compiles X+ as XX*: a copy, and X++ four. */
			last *= 2;
			most = fmax(most, last);
			p++;
		} else {
			if (c != '*' && c != '?')
				last = 1;
			p++;
		}
	}
	while (depth)
		most = fmax(most, outer[--depth]);
	return most;
}

/* Compile pattern; -1 with the reason in why when it cannot be. */
static int compile_re(regex_t *re, const char *pattern, struct strbuf *why)
{
	if (regex_copies(pattern) > TOL_REGEX_MAX) {
		sb_addf(why, "regular expression too large: its repetition counts multiply beyond %d",
			TOL_REGEX_MAX);
		return -1;
	}
	int rc = regcomp(re, pattern, TOL_RE_FLAGS);
	if (rc) {
		char msg[256];
		regerror(rc, re, msg, sizeof(msg));
		sb_addf(why, "invalid regular expression '%s': %s", pattern, msg);
		return -1;
	}
	return 0;
}

/* ---- validation ------------------------------------------------------- */

static const char *const tol_types[] = { "range", "regex", "jsonpath", NULL };

static int validate_target(struct cfg *cfg, const cJSON *tol, const char *ptr)
{
	const char *t = NULL;
	if (cfg_get_string(cfg, tol, ptr, "target", false, &t) != 1)
		return 0;
	const char *tp = cfg_ptr_key(cfg, ptr, "target");
	if (!*t) {
		cfg_error(cfg, tp, "must not be empty");
		return 1;
	}
	for (const char *s = t; t[0] == '/' && *s; s++) {
		if (*s == '~' && s[1] != '0' && s[1] != '1') {
			cfg_error(cfg, tp, "invalid JSON pointer '%s': '~' must be followed by 0 or 1",
				  t);
			return 1;
		}
	}
	return 0;
}

static void validate_range(struct cfg *cfg, const cJSON *tol, const char *ptr)
{
	static const char *const keys[] = { "type", "range", "target", NULL };
	cfg_check_keys(cfg, tol, ptr, keys);
	cJSON *range;
	if (cfg_get_array(cfg, tol, ptr, "range", true, &range) == 1) {
		const char *rp = cfg_ptr_key(cfg, ptr, "range");
		int n = cJSON_GetArraySize(range);
		if (n != 2) {
			cfg_error(cfg, rp, "must be [low, high], got %d element%s", n,
				  n == 1 ? "" : "s");
		} else {
			double lo = 0, hi = 0;
			int a = cfg_get_number(cfg, range->child, cfg_ptr_index(cfg, rp, 0), NULL,
					       true, -INFINITY, INFINITY, &lo);
			int b = cfg_get_number(cfg, range->child->next, cfg_ptr_index(cfg, rp, 1),
					       NULL, true, -INFINITY, INFINITY, &hi);
			if (a == 1 && b == 1 && lo > hi) {
				char l[32], h[32];
				jw_format_double(lo, l);
				jw_format_double(hi, h);
				cfg_error(cfg, rp, "low %s is above high %s", l, h);
			}
		}
	}
	validate_target(cfg, tol, ptr);
}

static void validate_regex(struct cfg *cfg, const cJSON *tol, const char *ptr)
{
	static const char *const keys[] = { "type", "pattern", "target", NULL };
	cfg_check_keys(cfg, tol, ptr, keys);
	const char *pattern;
	if (cfg_get_string(cfg, tol, ptr, "pattern", true, &pattern) == 1) {
		regex_t re;
		struct strbuf why = SB_INIT;
		if (compile_re(&re, pattern, &why) < 0)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "pattern"), "%s", why.buf);
		else
			regfree(&re);
		sb_release(&why);
	}
	validate_target(cfg, tol, ptr);
}

static void validate_jsonpath(struct cfg *cfg, const cJSON *tol, const char *ptr)
{
	static const char *const keys[] = { "type", "path", "expect", "count", "target", NULL };
	cfg_check_keys(cfg, tol, ptr, keys);
	const char *path;
	if (cfg_get_string(cfg, tol, ptr, "path", true, &path) == 1) {
		struct strbuf why = SB_INIT;
		struct jp *jp = jp_compile(path, &why, NULL);
		if (!jp)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "path"), "invalid JSONPath '%s': %s", path,
				  why.buf);
		jp_free(jp);
		sb_release(&why);
	}
	int64_t count;
	cfg_get_int(cfg, tol, ptr, "count", false, 0, INT32_MAX, &count);
	const cJSON *expect = cJSON_GetObjectItemCaseSensitive(tol, "expect");
	if (cJSON_IsArray(expect) && !expect->child)
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, "expect"), "an empty list matches nothing");
	validate_target(cfg, tol, ptr);
}

int tol_validate(struct cfg *cfg, const cJSON *tol, const char *ptr)
{
	int before = cfg->nerrors;
	if (cJSON_IsBool(tol) || cJSON_IsString(tol) || cJSON_IsNumber(tol))
		return 0;
	if (cJSON_IsArray(tol)) {
		if (!tol->child)
			cfg_error(cfg, ptr, "an empty list matches nothing");
		return cfg->nerrors - before;
	}
	if (!cJSON_IsObject(tol)) {
		cfg_error(cfg, ptr,
			  "must be true, false, a string, a number, a list or an object, got %s",
			  cfg_type_name(tol));
		return cfg->nerrors - before;
	}
	const char *type;
	if (cfg_get_string(cfg, tol, ptr, "type", true, &type) != 1)
		return cfg->nerrors - before;
	if (strcmp(type, "probe") == 0) {
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, "type"),
			  "probe tolerances run python and are not supported; use a range, regex "
			  "or jsonpath tolerance");
		return cfg->nerrors - before;
	}
	int kind;
	if (cfg_get_enum(cfg, tol, ptr, "type", true, tol_types, &kind) != 1)
		return cfg->nerrors - before;
	if (kind == 0)
		validate_range(cfg, tol, ptr);
	else if (kind == 1)
		validate_regex(cfg, tol, ptr);
	else
		validate_jsonpath(cfg, tol, ptr);
	return cfg->nerrors - before;
}

/* ---- checking --------------------------------------------------------- */

/* "LABEL VALUE, want " */
static void add_seen(struct strbuf *why, const char *label, const cJSON *v)
{
	sb_addf(why, "%s ", label);
	add_value(why, v);
	sb_addstr(why, ", want ");
}

static int missing(struct strbuf *why, const char *target)
{
	sb_addf(why, "no '%s' in the output", target);
	return 0;
}

static bool same_text(const cJSON *v, const char *want)
{
	if (!cJSON_IsString(v))
		return false;
	const char *s = v->valuestring;
	size_t n = strlen(s), w = strlen(want);
	if (n == w)
		return memcmp(s, want, n) == 0;
	if (n == w + 1 && s[w] == '\n')
		return memcmp(s, want, w) == 0;
	if (n == w + 2 && s[w] == '\r' && s[w + 1] == '\n')
		return memcmp(s, want, w) == 0;
	return false;
}

static int check_bool(const cJSON *tol, const cJSON *output, struct strbuf *why)
{
	bool want = cJSON_IsTrue(tol);
	if (cJSON_IsBool(output)) {
		add_seen(why, "output", output);
		sb_addstr(why, want ? "true" : "false");
		return cJSON_IsTrue(output) == want;
	}
	const cJSON *status = cJSON_IsObject(output)
				      ? cJSON_GetObjectItemCaseSensitive(output, "status")
				      : NULL;
	if (!cJSON_IsObject(output)) {
		add_seen(why, "output", output);
		sb_addstr(why, want ? "true" : "false");
		return 0;
	}
	if (!status)
		return missing(why, "status");
	bool http = !cJSON_GetObjectItemCaseSensitive(output, "stdout") &&
		    !cJSON_GetObjectItemCaseSensitive(output, "stderr") &&
		    (cJSON_GetObjectItemCaseSensitive(output, "body") ||
		     cJSON_GetObjectItemCaseSensitive(output, "headers"));
	add_seen(why, "status", status);
	bool ok;
	if (http) {
		sb_addstr(why, want ? "2xx" : "not 2xx");
		ok = cJSON_IsNumber(status) && status->valuedouble >= 200 &&
		     status->valuedouble < 300;
	} else {
		sb_addstr(why, want ? "0" : "non-zero");
		ok = cJSON_IsNumber(status) && status->valuedouble == 0;
	}
	return cJSON_IsNumber(status) && ok == want;
}

static int check_exact(const cJSON *tol, const cJSON *output, struct strbuf *why)
{
	const char *label;
	const cJSON *v = pick(output, NULL, cJSON_IsString(tol) ? text_keys : status_keys, &label);
	add_seen(why, label, v);
	if (cJSON_IsArray(tol)) {
		sb_addstr(why, "one of ");
		add_value(why, tol);
		for (const cJSON *c = tol->child; c; c = c->next)
			if (cJSON_Compare(v, c, true))
				return 1;
		return 0;
	}
	add_value(why, tol);
	if (cJSON_IsString(tol))
		return same_text(v, tol->valuestring);
	return cJSON_IsNumber(v) && v->valuedouble == tol->valuedouble;
}

static int check_range(const cJSON *tol, const cJSON *output, struct strbuf *why)
{
	const cJSON *range = cJSON_GetObjectItemCaseSensitive(tol, "range");
	if (cJSON_GetArraySize(range) != 2 || !cJSON_IsNumber(range->child) ||
	    !cJSON_IsNumber(range->child->next)) {
		sb_addstr(why, "invalid range tolerance");
		return 0;
	}
	double lo = range->child->valuedouble, hi = range->child->next->valuedouble;
	const char *label, *target = target_of(tol);
	const cJSON *v = pick(output, target, status_keys, &label);
	if (!v)
		return missing(why, target);
	add_seen(why, label, v);
	char l[32], h[32];
	jw_format_double(lo, l);
	jw_format_double(hi, h);
	sb_addf(why, "%s..%s", l, h);
	return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi;
}

static int check_regex(const cJSON *tol, const cJSON *output, struct strbuf *why)
{
	const cJSON *pattern = cJSON_GetObjectItemCaseSensitive(tol, "pattern");
	if (!cJSON_IsString(pattern)) {
		sb_addstr(why, "invalid regex tolerance");
		return 0;
	}
	const char *label, *target = target_of(tol);
	const cJSON *v = pick(output, target, text_keys, &label);
	if (!v)
		return missing(why, target);
	regex_t re;
	if (compile_re(&re, pattern->valuestring, why) < 0)
		return 0;
	struct strbuf text = SB_INIT;
	if (cJSON_IsString(v)) {
		sb_addstr(&text, v->valuestring);
	} else {
		struct jw w;
		jw_init(&w, &text);
		jw_cjson(&w, v);
	}
	bool held = regexec(&re, text.buf, 0, NULL, 0) == 0;
	regfree(&re);
	sb_release(&text);
	sb_addf(why, "%s %s '%s'", label, held ? "matches" : "does not match",
		pattern->valuestring);
	return held;
}

static bool satisfies(const cJSON *v, const cJSON *expect)
{
	if (!cJSON_IsArray(expect))
		return cJSON_Compare(v, expect, true);
	for (const cJSON *c = expect->child; c; c = c->next)
		if (cJSON_Compare(v, c, true))
			return true;
	return false;
}

static int check_jsonpath(const cJSON *tol, const cJSON *output, struct strbuf *why)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(tol, "path");
	const cJSON *count = cJSON_GetObjectItemCaseSensitive(tol, "count");
	const cJSON *expect = cJSON_GetObjectItemCaseSensitive(tol, "expect");
	if (!cJSON_IsString(path) || (count && !cJSON_IsNumber(count))) {
		sb_addstr(why, "invalid jsonpath tolerance");
		return 0;
	}
	const char *label, *target = target_of(tol);
	const cJSON *v = pick(output, target, body_keys, &label);
	if (!v)
		return missing(why, target);
	cJSON *parsed = NULL;
	if (cJSON_IsString(v) && (target || strcmp(label, "body") == 0)) {
		parsed = cJSON_Parse(v->valuestring);
		if (!parsed) {
			sb_addf(why, "%s is not JSON", label);
			return 0;
		}
		v = parsed;
	}
	int held = 0;
	const char *p = path->valuestring;
	struct strbuf err = SB_INIT;
	struct jp_matches m = { NULL, 0, 0 };
	struct jp *jp = jp_compile(p, &err, NULL);
	if (!jp) {
		sb_addf(why, "invalid JSONPath '%s': %s", p, err.buf);
	} else if (jp_eval(jp, v, &m, &err) < 0) {
		sb_addf(why, "%s: %s", p, err.buf);
	} else if (!expect && !count) {
		held = m.n > 0;
		if (held)
			sb_addf(why, "%s matched %zu value%s", p, m.n, m.n == 1 ? "" : "s");
		else
			sb_addf(why, "%s matched nothing", p);
	} else if (!expect) {
		held = (double)m.n == count->valuedouble;
		sb_addf(why, "%s count %zu, want %.0f", p, m.n, count->valuedouble);
	} else if (!count) {
		size_t bad = 0;
		while (bad < m.n && satisfies(m.v[bad], expect))
			bad++;
		held = m.n > 0 && bad == m.n;
		if (m.n == 0) {
			sb_addf(why, "%s matched nothing, want ", p);
		} else if (held) {
			sb_addf(why, "%s matched %zu value%s, want ", p, m.n, m.n == 1 ? "" : "s");
		} else {
			sb_addf(why, "%s value ", p);
			add_value(why, m.v[bad]);
			sb_addstr(why, ", want ");
		}
		add_want(why, expect);
	} else {
		size_t k = 0;
		for (size_t i = 0; i < m.n; i++)
			k += satisfies(m.v[i], expect);
		held = (double)k == count->valuedouble;
		sb_addf(why, "%s count %zu %s ", p, k, cJSON_IsArray(expect) ? "in" : "equal to");
		add_value(why, expect);
		sb_addf(why, ", want %.0f", count->valuedouble);
	}
	jp_matches_release(&m);
	jp_free(jp);
	sb_release(&err);
	cJSON_Delete(parsed);
	return held;
}

static int judge(const cJSON *tol, const cJSON *output, struct strbuf *why)
{
	if (!output) {
		sb_addstr(why, "no output");
		return 0;
	}
	if (cJSON_IsBool(tol))
		return check_bool(tol, output, why);
	if (cJSON_IsNumber(tol) || cJSON_IsString(tol) || (cJSON_IsArray(tol) && tol->child))
		return check_exact(tol, output, why);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(tol, "type");
	if (cJSON_IsObject(tol) && cJSON_IsString(type)) {
		if (strcmp(type->valuestring, "range") == 0)
			return check_range(tol, output, why);
		if (strcmp(type->valuestring, "regex") == 0)
			return check_regex(tol, output, why);
		if (strcmp(type->valuestring, "jsonpath") == 0)
			return check_jsonpath(tol, output, why);
	}
	sb_addstr(why, "invalid tolerance");
	return 0;
}

int tol_check(const cJSON *tol, const cJSON *output, struct strbuf *why)
{
	struct strbuf line = SB_INIT;
	int held = judge(tol, output, &line);
	/* Targets, patterns and paths come from the file as they are: keep
	 * the line one line. */
	for (size_t i = 0; i < line.len; i++) {
		unsigned char c = (unsigned char)line.buf[i];
		if (c == '\n')
			sb_addstr(why, "\\n");
		else if (c == '\t')
			sb_addstr(why, "\\t");
		else if (c == '\r')
			sb_addstr(why, "\\r");
		else if (c < 0x20 || c == 0x7f)
			sb_addf(why, "\\x%02x", c);
		else
			sb_addch(why, c);
	}
	sb_release(&line);
	return held;
}
