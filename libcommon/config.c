/*
 * config.c: JSON config and spec files with precise errors (see
 * config.h).
 *
 * cJSON builds the tree but says little about why text is not JSON, its
 * error offset is often a few bytes off, and it accepts some text that
 * is not JSON (leading zeros, raw tabs in strings). So a small strict
 * checker runs first: it walks the bytes once with an explicit stack (no
 * recursion), stops at the first byte that cannot continue a valid
 * document and says what it found and what it expected there. Only text
 * it accepts is handed to cJSON_ParseWithLengthOpts, whose return_parse_end
 * still places the error should cJSON refuse anyway.
 *
 * Validation errors accumulate as lines in cfg->errors; every pointer or
 * message text is passed through an escaper so a hostile key cannot
 * break the one-error-per-line format.
 */
#include "common.h"
#include <fcntl.h>
#include <math.h>

#include "config.h"
#include "hash.h"
#include "suggest.h"
#include "units.h"

/* How much of a user's string a message quotes. */
#define QUOTE_MAX 40

/* ---- ownership -------------------------------------------------------- */

static const char *own(struct cfg *cfg, char *s)
{
	ALLOC_GROW(cfg->owned, cfg->nowned + 1, cfg->aowned);
	cfg->owned[cfg->nowned++] = s;
	return s;
}

void cfg_init(struct cfg *cfg, const char *file)
{
	memset(cfg, 0, sizeof(*cfg));
	sb_init(&cfg->errors, 0);
	cfg->file = own(cfg, xstrdup(file ? file : "-"));
}

void cfg_free(struct cfg *cfg)
{
	cJSON_Delete(cfg->root);
	sb_release(&cfg->errors);
	for (size_t i = 0; i < cfg->nowned; i++)
		free(cfg->owned[i]);
	free(cfg->owned);
	memset(cfg, 0, sizeof(*cfg));
	sb_init(&cfg->errors, 0);
}

/* ---- text helpers ----------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (avail bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Append s (len bytes) with control bytes escaped, so it stays on one
 * line; with max, cut after about max bytes (on a character boundary)
 * and add "...". */
static void add_escaped(struct strbuf *sb, const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		if (max && i >= max) {
			sb_addstr(sb, "...");
			return;
		}
		size_t run = i;
		while (run < len && p[run] >= 0x20 && p[run] < 0x7f && (!max || run < max))
			run++;
		if (run > i) {
			sb_add(sb, p + i, run - i);
			i = run;
			continue;
		}
		/* A control byte, or the start of a UTF-8 sequence. */
		unsigned char c = p[i];
		size_t n = c >= 0x80 ? utf8_len(p + i, len - i) : 0;
		if (n) {
			sb_add(sb, p + i, n);
			i += n;
			continue;
		}
		if (c == '\n')
			sb_addstr(sb, "\\n");
		else if (c == '\t')
			sb_addstr(sb, "\\t");
		else if (c == '\r')
			sb_addstr(sb, "\\r");
		else
			sb_addf(sb, "\\x%02x", c);
		i++;
	}
}

void cfg_text_add(struct strbuf *sb, const char *s, size_t len)
{
	add_escaped(sb, s, len, 0);
}

/* 'text' for a message, cut at QUOTE_MAX bytes. */
static void add_quoted(struct strbuf *sb, const char *s)
{
	sb_addch(sb, '\'');
	add_escaped(sb, s, strlen(s), QUOTE_MAX);
	sb_addch(sb, '\'');
}

/* The shortest %g form that reads back as d. */
static void add_number(struct strbuf *sb, double d)
{
	char buf[40];
	snprintf(buf, sizeof(buf), "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, sizeof(buf), "%.17g", d);
	sb_addstr(sb, buf);
}

const char *cfg_type_name(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "object";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "invalid";
}

/* What a value is, for "got ...": string 'x', number 5, true, object. */
static void add_got(struct strbuf *sb, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		sb_addstr(sb, "string ");
		add_quoted(sb, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		sb_addstr(sb, "number ");
		add_number(sb, v->valuedouble);
	} else if (cJSON_IsTrue(v)) {
		sb_addstr(sb, "true");
	} else if (cJSON_IsFalse(v)) {
		sb_addstr(sb, "false");
	} else {
		sb_addstr(sb, cfg_type_name(v));
	}
}

/* ---- the strict syntax check ------------------------------------------ */

struct jcheck {
	const unsigned char *s;
	size_t len, pos;
	size_t err_at;
	struct strbuf *why;
};

static int fail_at(struct jcheck *j, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct jcheck *j, size_t at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	j->err_at = at;
	sb_vaddf(j->why, fmt, ap);
	va_end(ap);
	return -1;
}

/* "character 'x'" (or "byte 0xNN" when not printable) for the
 * character at offset at. */
static void add_found(struct strbuf *sb, const struct jcheck *j, size_t at)
{
	unsigned char c = j->s[at];
	size_t n = c >= 0x80 ? utf8_len(j->s + at, j->len - at) : 0;
	if (c >= 0x20 && c < 0x7f)
		sb_addf(sb, "character '%c'", c);
	else if (n)
		sb_addf(sb, "character '%.*s'", (int)n, (const char *)j->s + at);
	else
		sb_addf(sb, "byte 0x%02x", c);
}

/* "unexpected X, expected WHAT" for the byte at j->pos (or the end). */
static int fail_found(struct jcheck *j, const char *expected)
{
	size_t at = j->pos;
	j->err_at = at;
	if (at >= j->len) {
		sb_addf(j->why, "unexpected end of input, expected %s", expected);
		return -1;
	}
	sb_addstr(j->why, "unexpected ");
	add_found(j->why, j, at);
	sb_addf(j->why, ", expected %s", expected);
	if (j->s[at] == '/')
		sb_addstr(j->why, " (comments are not allowed in JSON)");
	else if (j->s[at] == '\'')
		sb_addstr(j->why, " (strings take double quotes)");
	return -1;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_word(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static void skip_ws(struct jcheck *j)
{
	while (j->pos < j->len) {
		unsigned char c = j->s[j->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		j->pos++;
	}
}

/* The code unit of the \uHHHH escape at i (a backslash), or -1. */
static long hex4(const struct jcheck *j, size_t i)
{
	if (j->len - i < 6 || j->s[i] != '\\' || j->s[i + 1] != 'u')
		return -1;
	long v = 0;
	for (size_t k = i + 2; k < i + 6; k++) {
		unsigned char c = j->s[k];
		if (!is_hex(c))
			return -1;
		v = v * 16 + (is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

static int scan_string(struct jcheck *j)
{
	size_t start = j->pos, i = start + 1;
	for (;;) {
		if (i >= j->len)
			return fail_at(j, start, "unterminated string");
		unsigned char c = j->s[i];
		if (c == '"') {
			j->pos = i + 1;
			return 0;
		}
		if (c == '\\') {
			if (i + 1 >= j->len)
				return fail_at(j, start, "unterminated string");
			unsigned char e = j->s[i + 1];
			if (e && strchr("\"\\/bfnrt", e)) {
				i += 2;
				continue;
			}
			if (e != 'u') {
				if (e >= 0x20 && e < 0x7f)
					return fail_at(j, i, "invalid escape '\\%c' in a string", e);
				return fail_at(j, i, "invalid escape in a string");
			}
			long u = hex4(j, i);
			if (u < 0)
				return fail_at(j, i, "invalid \\u escape, expected 4 hex digits");
			if (u >= 0xdc00 && u <= 0xdfff)
				return fail_at(j, i, "invalid \\u escape: unpaired surrogate");
			if (u >= 0xd800 && u <= 0xdbff) {
				long lo = hex4(j, i + 6);
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail_at(j, i, "invalid \\u escape: unpaired surrogate");
				i += 12;
			} else {
				i += 6;
			}
			continue;
		}
		if (c == '\n')
			return fail_at(j, start, "unterminated string");
		if (c < 0x20)
			return fail_at(j, i, "unescaped control character 0x%02x in a string", c);
		if (c >= 0x80) {
			size_t n = utf8_len(j->s + i, j->len - i);
			if (!n)
				return fail_at(j, i, "invalid UTF-8 in a string");
			i += n;
			continue;
		}
		i++;
	}
}

static int scan_number(struct jcheck *j)
{
	const unsigned char *s = j->s;
	size_t start = j->pos, i = start, len = j->len;
	if (s[i] == '-')
		i++;
	if (i >= len)
		return fail_at(j, i, "unexpected end of input in a number");
	if (!is_digit(s[i]))
		return fail_at(j, i, "invalid number: expected a digit after '-'");
	if (s[i] == '0') {
		i++;
		if (i < len && is_digit(s[i]))
			return fail_at(j, start, "invalid number: leading zero");
	} else {
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i < len && s[i] == '.') {
		i++;
		if (i >= len)
			return fail_at(j, i, "unexpected end of input in a number");
		if (!is_digit(s[i]))
			return fail_at(j, i, "invalid number: expected a digit after '.'");
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len)
			return fail_at(j, i, "unexpected end of input in a number");
		if (!is_digit(s[i]))
			return fail_at(j, i, "invalid number: expected a digit in the exponent");
		while (i < len && is_digit(s[i]))
			i++;
	}
	/* cJSON reads at most 63 characters of a number. */
	char buf[64];
	if (i - start >= sizeof(buf))
		return fail_at(j, start, "number too long (more than 63 characters)");
	memcpy(buf, s + start, i - start);
	buf[i - start] = '\0';
	if (isinf(strtod(buf, NULL)))
		return fail_at(j, start, "number out of range");
	j->pos = i;
	return 0;
}

static int scan_word(struct jcheck *j)
{
	static const char *const literals[] = { "true", "false", "null" };
	size_t start = j->pos, i = start;
	while (i < j->len && is_word(j->s[i]))
		i++;
	size_t n = i - start;
	for (size_t k = 0; k < ARRAY_SIZE(literals); k++) {
		size_t ln = strlen(literals[k]);
		if (n == ln && memcmp(j->s + start, literals[k], n) == 0) {
			j->pos = i;
			return 0;
		}
		if (i == j->len && n < ln && memcmp(j->s + start, literals[k], n) == 0)
			return fail_at(j, i, "unexpected end of input");
	}
	return fail_at(j, start, "invalid literal '%.*s%s'", (int)(n > QUOTE_MAX ? QUOTE_MAX : n),
		       (const char *)j->s + start, n > QUOTE_MAX ? "..." : "");
}

static void locate(const char *text, size_t off, size_t *line, size_t *col);

/* Check s[0..len) is exactly one JSON value. On failure, err_at is the
 * byte offset of the problem and why says what it is. */
static int json_check(struct jcheck *j)
{
	enum { VALUE, KEY, AFTER } state = VALUE;
	char stack[CJSON_NESTING_LIMIT];
	size_t depth = 0, comma = SIZE_MAX;

	if (j->len >= 3 && memcmp(j->s, "\xef\xbb\xbf", 3) == 0)
		j->pos = 3;
	skip_ws(j);
	if (j->pos >= j->len)
		return fail_at(j, 0, "empty input");
	for (;;) {
		size_t value_end = j->pos;
		skip_ws(j);
		if (state == VALUE) {
			if (j->pos >= j->len)
				return fail_found(j, "a value");
			unsigned char c = j->s[j->pos];
			if (c == '{' || c == '[') {
				if (depth >= sizeof(stack))
					return fail_at(j, j->pos, "nesting deeper than %d levels",
						       CJSON_NESTING_LIMIT);
				stack[depth++] = (char)c;
				j->pos++;
				skip_ws(j);
				comma = SIZE_MAX;
				if (j->pos < j->len && j->s[j->pos] == (c == '{' ? '}' : ']')) {
					j->pos++;
					depth--;
					state = AFTER;
				} else {
					state = c == '{' ? KEY : VALUE;
				}
				continue;
			}
			if (c == ']' && comma != SIZE_MAX)
				return fail_at(j, comma, "trailing comma before ']'");
			int r;
			if (c == '"')
				r = scan_string(j);
			else if (c == '-' || is_digit(c))
				r = scan_number(j);
			else if (is_word(c))
				r = scan_word(j);
			else
				return fail_found(j, "a value");
			if (r < 0)
				return r;
			state = AFTER;
		} else if (state == KEY) {
			if (j->pos < j->len && j->s[j->pos] == '"') {
				if (scan_string(j) < 0)
					return -1;
				skip_ws(j);
				if (j->pos >= j->len || j->s[j->pos] != ':')
					return fail_found(j, "':' after the key");
				j->pos++;
				comma = SIZE_MAX;
				state = VALUE;
				continue;
			}
			if (j->pos < j->len && j->s[j->pos] == '}' && comma != SIZE_MAX)
				return fail_at(j, comma, "trailing comma before '}'");
			return fail_found(j, "a string key");
		} else {
			if (!depth) {
				if (j->pos < j->len)
					return fail_at(j, j->pos, "trailing garbage after the value");
				return 0;
			}
			bool obj = stack[depth - 1] == '{';
			if (j->pos < j->len && j->s[j->pos] == ',') {
				comma = j->pos++;
				state = obj ? KEY : VALUE;
			} else if (j->pos < j->len && j->s[j->pos] == (obj ? '}' : ']')) {
				j->pos++;
				depth--;
			} else if (j->pos < j->len && memchr(j->s + value_end, '\n', j->pos - value_end)) {
				/* Most likely a comma forgotten at the end of a
				 * line: point there, and say what came next. */
				size_t line, col;
				locate((const char *)j->s, j->pos, &line, &col);
				sb_addf(j->why, "expected %s after this value, found ",
					obj ? "',' or '}'" : "',' or ']'");
				add_found(j->why, j, j->pos);
				sb_addf(j->why, " at %zu:%zu", line, col);
				j->err_at = value_end;
				return -1;
			} else {
				return fail_found(j, obj ? "',' or '}'" : "',' or ']'");
			}
		}
	}
}

/* 1-based line and column of byte off; columns count characters. */
static void locate(const char *text, size_t off, size_t *line, size_t *col)
{
	size_t l = 1, ls = 0;
	for (size_t i = 0; i < off; i++)
		if (text[i] == '\n') {
			l++;
			ls = i + 1;
		}
	if (ls == 0 && off >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		ls = 3; /* the byte order mark is not a column */
	size_t c = 1;
	for (size_t i = ls; i < off; i++)
		if (((unsigned char)text[i] & 0xc0) != 0x80)
			c++;
	*line = l;
	*col = c;
}

static void syntax_error(struct strbuf *err, const char *name, const char *text, size_t off,
			 const char *why)
{
	if (!err)
		return;
	size_t line, col;
	locate(text, off, &line, &col);
	add_escaped(err, name, strlen(name), 0);
	sb_addf(err, ":%zu:%zu: invalid JSON: ", line, col);
	add_escaped(err, why, strlen(why), 0);
}

int cfg_parse_string(const char *name, const char *text, size_t len, struct cfg *out,
		     struct strbuf *err)
{
	cfg_init(out, name);
	struct strbuf why = SB_INIT;
	struct jcheck j = { (const unsigned char *)text, len, 0, 0, &why };
	if (json_check(&j) < 0) {
		syntax_error(err, out->file, text, j.err_at, why.buf);
		sb_release(&why);
		return -1;
	}
	sb_release(&why);
	const char *end = NULL;
	out->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!out->root) {
		size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		syntax_error(err, out->file, text, off, "cannot parse");
		return -1;
	}
	return 0;
}

int cfg_load(const char *path, struct cfg *out, struct strbuf *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "<stdin>" : path;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (err)
			sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
		cfg_init(out, name);
		return -1;
	}
	struct strbuf text = SB_INIT;
	int r = sb_read_fd(&text, fd);
	int e = errno;
	if (!is_stdin)
		close(fd);
	if (r < 0) {
		if (err)
			sb_addf(err, "cannot read '%s': %s", name, strerror(e));
		sb_release(&text);
		cfg_init(out, name);
		return -1;
	}
	r = cfg_parse_string(name, text.buf, text.len, out, err);
	sb_release(&text);
	return r;
}

/* ---- errors and pointers ---------------------------------------------- */

static void vrecord(struct cfg *cfg, const char *ptr, size_t ptrlen, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void vrecord(struct cfg *cfg, const char *ptr, size_t ptrlen, const char *fmt, va_list ap)
{
	struct strbuf msg = SB_INIT;
	sb_vaddf(&msg, fmt, ap);
	add_escaped(&cfg->errors, cfg->file, strlen(cfg->file), 0);
	sb_addstr(&cfg->errors, ": ");
	if (ptr && ptrlen) {
		add_escaped(&cfg->errors, ptr, ptrlen, 0);
		sb_addstr(&cfg->errors, ": ");
	}
	add_escaped(&cfg->errors, msg.buf, msg.len, 0);
	sb_addch(&cfg->errors, '\n');
	cfg->nerrors++;
	sb_release(&msg);
}

void cfg_error(struct cfg *cfg, const char *ptr, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vrecord(cfg, ptr, ptr ? strlen(ptr) : 0, fmt, ap);
	va_end(ap);
}

/* Record an error about obj's member key (or obj itself when key is
 * NULL); the pointer is built only now, when it is needed. */
static void value_error(struct cfg *cfg, const char *ptr, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void value_error(struct cfg *cfg, const char *ptr, const char *key, const char *fmt, ...)
{
	struct strbuf p = SB_INIT;
	if (ptr)
		sb_addstr(&p, ptr);
	if (key)
		cfg_ptr_append(&p, key);
	va_list ap;
	va_start(ap, fmt);
	vrecord(cfg, p.buf, p.len, fmt, ap);
	va_end(ap);
	sb_release(&p);
}

int cfg_report(const struct cfg *cfg)
{
	error_lines(cfg->errors.buf, cfg->errors.len);
	return cfg->nerrors;
}

void cfg_ptr_append(struct strbuf *sb, const char *key)
{
	sb_addch(sb, '/');
	for (; *key; key++) {
		if (*key == '~')
			sb_addstr(sb, "~0");
		else if (*key == '/')
			sb_addstr(sb, "~1");
		else
			sb_addch(sb, *key);
	}
}

const char *cfg_ptr_key(struct cfg *cfg, const char *parent, const char *key)
{
	struct strbuf sb = SB_INIT;
	if (parent)
		sb_addstr(&sb, parent);
	cfg_ptr_append(&sb, key);
	return own(cfg, sb_detach(&sb, NULL));
}

const char *cfg_ptr_index(struct cfg *cfg, const char *parent, size_t i)
{
	return own(cfg, xasprintf("%s/%zu", parent ? parent : "", i));
}

cJSON *cfg_resolve(const cJSON *root, const char *ptr)
{
	const cJSON *node = root;
	if (!node || !ptr)
		return NULL;
	struct strbuf tok = SB_INIT;
	const char *p = ptr;
	if (*p && *p != '/')
		node = NULL;
	while (node && *p == '/') {
		p++;
		sb_reset(&tok);
		for (; *p && *p != '/'; p++) {
			if (*p != '~') {
				sb_addch(&tok, *p);
			} else if (p[1] == '0' || p[1] == '1') {
				sb_addch(&tok, p[1] == '0' ? '~' : '/');
				p++;
			} else {
				node = NULL;
				break;
			}
		}
		if (!node)
			break;
		if (cJSON_IsObject(node)) {
			node = cJSON_GetObjectItemCaseSensitive(node, tok.buf);
		} else if (cJSON_IsArray(node)) {
			char *end;
			errno = 0;
			unsigned long long i = strtoull(tok.buf, &end, 10);
			bool valid = tok.len && is_digit((unsigned char)tok.buf[0]) && !*end && !errno &&
				     (tok.len == 1 || tok.buf[0] != '0') && i < INT_MAX;
			node = valid ? cJSON_GetArrayItem(node, (int)i) : NULL;
		} else {
			node = NULL;
		}
	}
	sb_release(&tok);
	return (cJSON *)node;
}

/* ---- getters ---------------------------------------------------------- */

cJSON *cfg_root_object(struct cfg *cfg)
{
	if (!cfg->root)
		return NULL;
	if (cJSON_IsObject(cfg->root))
		return cfg->root;
	struct strbuf got = SB_INIT;
	add_got(&got, cfg->root);
	cfg_error(cfg, NULL, "the top level must be an object, got %s", got.buf);
	sb_release(&got);
	return NULL;
}

/* The value a getter checks: obj's member key, or obj itself when key is
 * NULL. NULL with *r = 0 when absent (or the parent unusable), with
 * *r = -1 when a required key is missing (recorded). */
static const cJSON *member(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
			   bool required, int *r)
{
	*r = 0;
	if (!obj)
		return NULL;
	if (!key)
		return obj;
	if (!cJSON_IsObject(obj))
		return NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v && required) {
		struct strbuf q = SB_INIT;
		add_quoted(&q, key);
		cfg_error(cfg, ptr, "missing required key %s", q.buf);
		sb_release(&q);
		*r = -1;
	}
	return v;
}

static int type_error(struct cfg *cfg, const char *ptr, const char *key, const char *want,
		      const cJSON *v)
{
	struct strbuf got = SB_INIT;
	add_got(&got, v);
	value_error(cfg, ptr, key, "must be %s, got %s", want, got.buf);
	sb_release(&got);
	return -1;
}

int cfg_get_object(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		   bool required, cJSON **out)
{
	int r;
	const cJSON *v = member(cfg, obj, ptr, key, required, &r);
	if (!v)
		return r;
	if (!cJSON_IsObject(v))
		return type_error(cfg, ptr, key, "an object", v);
	*out = (cJSON *)v;
	return 1;
}

int cfg_get_array(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		  bool required, cJSON **out)
{
	int r;
	const cJSON *v = member(cfg, obj, ptr, key, required, &r);
	if (!v)
		return r;
	if (!cJSON_IsArray(v))
		return type_error(cfg, ptr, key, "an array", v);
	*out = (cJSON *)v;
	return 1;
}

int cfg_get_string(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		   bool required, const char **out)
{
	int r;
	const cJSON *v = member(cfg, obj, ptr, key, required, &r);
	if (!v)
		return r;
	if (!cJSON_IsString(v))
		return type_error(cfg, ptr, key, "a string", v);
	*out = v->valuestring;
	return 1;
}

int cfg_get_text(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		 bool required, const char **out)
{
	const char *s = NULL;
	int r = cfg_get_string(cfg, obj, ptr, key, required, &s);
	if (r != 1)
		return r;
	if (!*s) {
		value_error(cfg, ptr, key, "must not be empty");
		return -1;
	}
	*out = s;
	return 1;
}

int cfg_get_bool(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		 bool required, bool *out)
{
	int r;
	const cJSON *v = member(cfg, obj, ptr, key, required, &r);
	if (!v)
		return r;
	if (!cJSON_IsBool(v))
		return type_error(cfg, ptr, key, "true or false", v);
	*out = cJSON_IsTrue(v);
	return 1;
}

/* "must be 0..100", "must be at least 0", "must be at most 100". */
static void add_range(struct strbuf *sb, double min, double max)
{
	if (min == -INFINITY && max == INFINITY)
		return;
	if (min == -INFINITY) {
		sb_addstr(sb, "must be at most ");
		add_number(sb, max);
	} else if (max == INFINITY) {
		sb_addstr(sb, "must be at least ");
		add_number(sb, min);
	} else {
		sb_addstr(sb, "must be ");
		add_number(sb, min);
		sb_addstr(sb, "..");
		add_number(sb, max);
	}
}

static int range_error(struct cfg *cfg, const char *ptr, const char *key, const char *range,
		       double got)
{
	struct strbuf g = SB_INIT;
	add_number(&g, got);
	value_error(cfg, ptr, key, "%s, got %s", range, g.buf);
	sb_release(&g);
	return -1;
}

int cfg_get_number(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		   bool required, double min, double max, double *out)
{
	int r;
	const cJSON *v = member(cfg, obj, ptr, key, required, &r);
	if (!v)
		return r;
	if (!cJSON_IsNumber(v))
		return type_error(cfg, ptr, key, "a number", v);
	double d = v->valuedouble;
	if (d < min || d > max) {
		struct strbuf range = SB_INIT;
		add_range(&range, min, max);
		r = range_error(cfg, ptr, key, range.buf, d);
		sb_release(&range);
		return r;
	}
	*out = d;
	return 1;
}

int cfg_get_int(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		bool required, int64_t min, int64_t max, int64_t *out)
{
	int r;
	const cJSON *v = member(cfg, obj, ptr, key, required, &r);
	if (!v)
		return r;
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
		return type_error(cfg, ptr, key, "an integer", v);
	double d = v->valuedouble;
	/* 2^63 is exact in a double; anything from there on is out. */
	bool fits = d >= -9223372036854775808.0 && d < 9223372036854775808.0;
	int64_t i = fits ? (int64_t)d : 0;
	if (!fits || i < min || i > max) {
		struct strbuf range = SB_INIT;
		if (min == INT64_MIN && max != INT64_MAX)
			sb_addf(&range, "must be at most %" PRId64, max);
		else if (max == INT64_MAX && min != INT64_MIN)
			sb_addf(&range, "must be at least %" PRId64, min);
		else if (min != INT64_MIN)
			sb_addf(&range, "must be %" PRId64 "..%" PRId64, min, max);
		else
			sb_addstr(&range, "must fit in 64 bits");
		r = range_error(cfg, ptr, key, range.buf, d);
		sb_release(&range);
		return r;
	}
	*out = i;
	return 1;
}

int cfg_get_duration(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		     bool required, int64_t *ns)
{
	int r;
	const cJSON *v = member(cfg, obj, ptr, key, required, &r);
	if (!v)
		return r;
	if (cJSON_IsString(v)) {
		struct strbuf err = SB_INIT;
		int64_t val;
		if (dur_parse(v->valuestring, &val, &err) < 0) {
			if (!err.len) {
				sb_addstr(&err, "invalid duration ");
				add_quoted(&err, v->valuestring);
			}
			value_error(cfg, ptr, key, "%s", err.buf);
			sb_release(&err);
			return -1;
		}
		sb_release(&err);
		*ns = val;
		return 1;
	}
	if (!cJSON_IsNumber(v))
		return type_error(cfg, ptr, key, "a duration (like \"250ms\") or a number of seconds",
				  v);
	double d = v->valuedouble;
	if (d < 0)
		return range_error(cfg, ptr, key, "must not be negative", d);
	/* INT64_MAX ns is about 9223372036.85 s. */
	if (d > 9223372036.0)
		return range_error(cfg, ptr, key, "must be at most 9223372036 seconds", d);
	*ns = llround(d * 1e9);
	return 1;
}

int cfg_get_enum(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		 bool required, const char *const *names, int *out)
{
	const char *s = NULL;
	int r = cfg_get_string(cfg, obj, ptr, key, required, &s);
	if (r <= 0)
		return r;
	size_t n = 0;
	for (; names[n]; n++) {
		if (strcmp(names[n], s) == 0) {
			*out = (int)n;
			return 1;
		}
	}
	struct strbuf msg = SB_INIT;
	sb_addstr(&msg, "must be one of ");
	for (size_t i = 0; i < n; i++) {
		add_quoted(&msg, names[i]);
		sb_addstr(&msg, i + 1 < n ? ", " : "");
	}
	sb_addstr(&msg, ", got ");
	add_quoted(&msg, s);
	const char *near = suggest_closest(s, names, n);
	if (near) {
		sb_addstr(&msg, "; did you mean ");
		add_quoted(&msg, near);
		sb_addch(&msg, '?');
	}
	value_error(cfg, ptr, key, "%s", msg.buf);
	sb_release(&msg);
	return -1;
}

/* A NULL-terminated copy of an array of strings. */
static char **argv_dup(const cJSON *arr)
{
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	char **argv = xcalloc(n + 1, sizeof(*argv));
	const cJSON *e;
	cJSON_ArrayForEach (e, arr)
		argv[i++] = xstrdup(e->valuestring);
	return argv;
}

int cfg_get_command(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		    bool required, char ***argv, char **shell)
{
	int r;
	const cJSON *v = member(cfg, obj, ptr, key, required, &r);
	if (!v)
		return r;
	if (cJSON_IsString(v)) {
		if (!*v->valuestring) {
			value_error(cfg, ptr, key, "must not be empty");
			return -1;
		}
		*shell = xstrdup(v->valuestring);
		return 1;
	}
	if (!cJSON_IsArray(v))
		return type_error(cfg, ptr, key, "an argv array of strings or a shell command string",
				  v);
	if (!v->child) {
		value_error(cfg, ptr, key, "must not be empty");
		return -1;
	}
	const char *cptr = key ? cfg_ptr_key(cfg, ptr, key) : ptr;
	bool bad = false;
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach (e, v) {
		const char *eptr = cfg_ptr_index(cfg, cptr, i);
		const char *s = NULL;
		if (cfg_get_string(cfg, e, eptr, NULL, true, &s) != 1) {
			bad = true;
		} else if (i == 0 && !*s) {
			cfg_error(cfg, eptr, "the program name must not be empty");
			bad = true;
		}
		i++;
	}
	if (bad)
		return -1;
	*argv = argv_dup(v);
	return 1;
}

int cfg_check_keys(struct cfg *cfg, const cJSON *obj, const char *ptr,
		   const char *const *allowed)
{
	if (!cJSON_IsObject(obj))
		return 0;
	size_t nallowed = 0;
	while (allowed[nallowed])
		nallowed++;
	int nerr = 0;
	struct ht *seen = ht_new();
	struct strbuf msg = SB_INIT;
	for (const cJSON *c = obj->child; c; c = c->next) {
		const char *k = c->string ? c->string : "";
		sb_reset(&msg);
		if (ht_has(seen, k)) {
			sb_addstr(&msg, "duplicate key ");
			add_quoted(&msg, k);
			value_error(cfg, ptr, k, "%s", msg.buf);
			nerr++;
			continue;
		}
		ht_put(seen, k, NULL);
		size_t i = 0;
		while (i < nallowed && strcmp(allowed[i], k) != 0)
			i++;
		if (i < nallowed)
			continue;
		sb_addstr(&msg, "unknown key ");
		add_quoted(&msg, k);
		const char *near = suggest_closest(k, allowed, nallowed);
		if (near) {
			sb_addstr(&msg, "; did you mean ");
			add_quoted(&msg, near);
			sb_addch(&msg, '?');
		}
		value_error(cfg, ptr, k, "%s", msg.buf);
		nerr++;
	}
	sb_release(&msg);
	ht_free(seen, NULL);
	return nerr;
}
