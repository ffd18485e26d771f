/*
 * route.c: `ofs-split route`, each JSON Lines record to a variant by its
 * key, sticky, by weight.
 *
 * The key (at a JSON pointer) is hashed with the salt and placed in a
 * variant by weights.c, nginx's split_clients rule, so the same key,
 * salt and weights always give the same variant, here and in the nginx
 * configuration `ofs-split render` writes. Each record goes out with a
 * "variant" member added (or its value replaced) and its other bytes as
 * they came, to standard output or to its variant's --to target.
 *
 * The hot path allocates nothing: vscan_line (libcommon) validates the
 * line and finds the key and an existing variant member in one pass; the
 * member is inserted before the closing brace by copying the line in
 * pieces. Only a record that already holds the member is walked again,
 * to replace its value (and drop repeats of it, so that every reader,
 * whichever repeat it takes, sees the new value).
 */
#include "common.h"

#include "cmds.h"
#include "jsonl.h"
#include "jw.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "route.h"
#include "strbuf.h"
#include "vscan.h"
#include "weights.h"

enum { RO_FIELD = 256, RO_STRICT, RO_SUMMARY };

const struct opt route_opts[] = {
	{ RO_FIELD, 0, "field", "name", "the member that names the variant (default variant)", NULL,
	  0 },
	{ 'k', 'k', "key", "pointer",
	  "JSON pointer of the key that picks the variant (a string, number or boolean)", NULL,
	  OPT_REQUIRED },
	{ 's', 's', "salt", "salt",
	  "hashed after the key: another salt is another, independent split (default none)", NULL, 0 },
	{ RO_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ RO_SUMMARY, 0, "summary", NULL, "end with a split.route record: records per variant",
	  NULL, 0 },
	{ 't', 't', "to", "variant=target",
	  "write a variant's records to a file (gzip if .gz) or, as variant='|command', to a "
	  "command's input; repeatable",
	  NULL, 0 },
	{ 'w', 'w', "weights", "weights", "variants and percentages: legacy=90,new=10 (sum 100)",
	  NULL, OPT_REQUIRED },
	{ 0 },
};

struct route {
	struct split_weights w;
	struct vptr ptrs[2]; /* the key, the variant member */
	const char *field;
	const char *salt;
	size_t saltn;
	/* per variant: ,"FIELD":"NAME" and "NAME" */
	struct strbuf ins[SPLIT_MAX_VARIANTS];
	struct strbuf val[SPLIT_MAX_VARIANTS];
	struct route_sink *sink[SPLIT_MAX_VARIANTS];
	uint64_t count[SPLIT_MAX_VARIANTS];
	uint64_t records, rejected;
	bool strict;
	struct strbuf keybuf;
	struct strbuf rec; /* the record being written */
};

/* ---- members of a validated object ------------------------------------ */

struct member {
	const char *before; /* end of the previous member's value, or NULL */
	const char *value;  /* the value's first byte */
	const char *end;    /* one past its last byte */
};

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at a string's opening quote: one past its closing quote. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end && *p != '"'; p++)
		if (*p == '\\')
			p++;
	return p < end ? p + 1 : end;
}

static const char *skip_value(const char *p, const char *end)
{
	if (p >= end)
		return end;
	if (*p == '"')
		return skip_string(p, end);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < end) {
			if (*p == '"') {
				p = skip_string(p, end);
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if ((*p == '}' || *p == ']') && --depth == 0)
				return p + 1;
			p++;
		}
		return end;
	}
	while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
	       *p != '\n' && *p != '\r')
		p++;
	return p;
}

/*
 * The top-level members of a line already validated as one object whose
 * unescaped name is name, in order, into *m (grown as needed, *alloc
 * elements); returns how many.
 */
static size_t find_members(const char *line, size_t len, const char *name, size_t namelen,
			   struct member **m, size_t *alloc)
{
	static struct strbuf tmp = SB_INIT;
	const char *end = line + len, *p = skip_ws(line, end), *prev = NULL;
	size_t n = 0;
	if (p >= end || *p != '{')
		return 0;
	p = skip_ws(p + 1, end);
	while (p < end && *p == '"') {
		const char *ns = p;
		p = skip_string(p, end);
		const char *nm = ns + 1;
		size_t nl = (size_t)(p - ns) - 2;
		if (memchr(nm, '\\', nl)) {
			sb_reset(&tmp);
			vscan_unescape(ns, (size_t)(p - ns), &tmp);
			nm = tmp.buf;
			nl = tmp.len;
		}
		bool match = nl == namelen && !memcmp(nm, name, nl);
		p = skip_ws(p, end);
		if (p < end && *p == ':')
			p = skip_ws(p + 1, end);
		const char *vs = p;
		p = skip_value(p, end);
		if (match) {
			ALLOC_GROW(*m, n + 1, *alloc);
			(*m)[n++] = (struct member){ prev, vs, p };
		}
		prev = p;
		p = skip_ws(p, end);
		if (p >= end || *p != ',')
			break;
		p = skip_ws(p + 1, end);
	}
	return n;
}

/* ---- one record ---------------------------------------------------------- */

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Into rt->rec: the record with the member added before its closing brace. */
static void add_member(struct route *rt, size_t v, const char *line, size_t len)
{
	struct strbuf *s = &rt->rec;
	size_t brace = len;
	while (brace && is_ws(line[brace - 1]))
		brace--;
	brace--; /* vscan made sure it is the object's '}' */
	size_t b = brace;
	while (b && is_ws(line[b - 1]))
		b--;
	bool empty = b && line[b - 1] == '{';
	sb_add(s, line, brace);
	sb_add(s, rt->ins[v].buf + empty, rt->ins[v].len - empty);
	sb_add(s, line + brace, len - brace);
	sb_addch(s, '\n');
}

/* Into rt->rec: the record with the member's value replaced, its repeats dropped. */
static void replace_member(struct route *rt, size_t v, const char *line, size_t len)
{
	static struct member *m;
	static size_t alloc;
	struct strbuf *s = &rt->rec;
	size_t n = find_members(line, len, rt->field, strlen(rt->field), &m, &alloc);
	if (!n) { /* not reached: vscan found it */
		add_member(rt, v, line, len);
		return;
	}
	sb_add(s, line, (size_t)(m[0].value - line));
	sb_add(s, rt->val[v].buf, rt->val[v].len);
	const char *at = m[0].end;
	for (size_t i = 1; i < n; i++) {
		sb_add(s, at, (size_t)(m[i].before - at));
		at = m[i].end;
	}
	sb_add(s, at, (size_t)(line + len - at));
	sb_addch(s, '\n');
}

static const char *kind_name(char kind)
{
	switch (kind) {
	case 'o': return "an object";
	case 'a': return "an array";
	default: return "null";
	}
}

/* Route one line; -1 when it was rejected and --strict says stop. */
static int route_line(struct route *rt, struct jsonl_reader *r, const char *line, size_t len)
{
	struct vspan spans[2];
	char why[200];
	if (vscan_line(line, len, rt->ptrs, 2, spans, why, sizeof(why)) < 0)
		goto reject;
	const struct vspan *k = &spans[0];
	const char *key;
	size_t keyn;
	switch (k->p ? k->kind : 0) {
	case 's':
		key = k->p + 1;
		keyn = k->len - 2;
		if (memchr(key, '\\', keyn)) {
			sb_reset(&rt->keybuf);
			vscan_unescape(k->p, k->len, &rt->keybuf);
			key = rt->keybuf.buf;
			keyn = rt->keybuf.len;
		}
		break;
	case 'n':
	case 't':
	case 'f':
		key = k->p;
		keyn = k->len;
		break;
	case 0:
		snprintf(why, sizeof(why), "no key at '%s'", rt->ptrs[0].text);
		goto reject;
	default:
		snprintf(why, sizeof(why), "key at '%s' is %s, not a string or number",
			 rt->ptrs[0].text, kind_name(k->kind));
		goto reject;
	}
	size_t v = weights_pick(&rt->w, split_murmur2(key, keyn, rt->salt, rt->saltn));
	rt->count[v]++;
	rt->records++;
	/* The record is made whole, then written in one piece: outputs are
	 * flushed between records only, so whatever stops the program, what
	 * it wrote is whole lines. */
	sb_reset(&rt->rec);
	if (spans[1].p)
		replace_member(rt, v, line, len);
	else
		add_member(rt, v, line, len);
	route_sink_write(rt->sink[v], rt->rec.buf, rt->rec.len);
	return 0;
reject:
	rt->rejected++;
	return jsonl_reject(r, "%s", why);
}

/* Read one input; -1 when --strict stopped at a bad line. */
static int route_file(struct route *rt, const char *path)
{
	struct strbuf err = SB_INIT;
	struct jsonl_reader *r = jsonl_open(path, rt->strict ? JSONL_STRICT : 0, &err);
	if (!r) {
		error("%s", err.buf);
		sb_release(&err);
		return 0;
	}
	sb_release(&err);
	const char *line;
	size_t len;
	int got, rc = 0;
	while ((got = jsonl_next_line(r, &line, &len)) > 0)
		if (route_line(rt, r, line, len) < 0) {
			rc = -1;
			break;
		}
	jsonl_close(r);
	return rc;
}

/* ---- options ------------------------------------------------------------- */

/* The variants' names for messages: "legacy, new" (static: it may be
 * the last thing made before a usage error exits). */
static const char *variant_names(const struct split_weights *w)
{
	static struct strbuf sb = SB_INIT;
	sb_reset(&sb);
	for (size_t i = 0; i < w->n; i++)
		sb_addf(&sb, "%s%s", i ? ", " : "", w->v[i].name);
	return sb.buf;
}

/* The variant named by the n bytes at name, or -1. */
static int find_variant(const struct split_weights *w, const char *name, size_t n)
{
	for (size_t i = 0; i < w->n; i++)
		if (strlen(w->v[i].name) == n && !memcmp(w->v[i].name, name, n))
			return (int)i;
	return -1;
}

/* Open the --to targets (VARIANT=TARGET); a target named twice is shared. */
static void open_targets(struct route *rt, struct opt_parser *p, char **to, size_t nto)
{
	for (size_t i = 0; i < nto; i++) {
		const char *eq = strchr(to[i], '=');
		if (!eq || eq == to[i] || !eq[1] || (eq[1] == '|' && !eq[2]))
			opt_usage_error(p, "--to: expected VARIANT=FILE or VARIANT='|COMMAND', got '%s'",
					to[i]);
		int n = (int)(eq - to[i]), v = find_variant(&rt->w, to[i], (size_t)n);
		if (v < 0)
			opt_usage_error(p, "--to: unknown variant '%.*s' (weights name %s)", n, to[i],
					variant_names(&rt->w));
		for (size_t j = 0; j < i; j++)
			if (!strncmp(to[j], to[i], (size_t)n + 1))
				opt_usage_error(p, "--to: variant '%.*s' is given twice", n, to[i]);
	}
	/* Everything is checked: now create the files and start the commands. */
	for (size_t i = 0; i < nto; i++) {
		const char *eq = strchr(to[i], '='), *target = eq + 1;
		int v = find_variant(&rt->w, to[i], (size_t)(eq - to[i]));
		for (size_t j = 0; j < i && !rt->sink[v]; j++) {
			const char *eqj = strchr(to[j], '=');
			if (!strcmp(eqj + 1, target))
				rt->sink[v] = rt->sink[find_variant(&rt->w, to[j], (size_t)(eqj - to[j]))];
		}
		if (!rt->sink[v])
			rt->sink[v] = route_sink_open(target, rt->w.v[v].name);
	}
}

static void write_summary(struct route *rt)
{
	struct strbuf sb = SB_INIT, weights = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "split.route");
	weights_format(&weights, &rt->w);
	jw_kv_str(&w, "weights", weights.buf);
	jw_key(&w, "salt");
	jw_strn(&w, rt->salt, rt->saltn);
	jw_kv_int(&w, "records", (int64_t)rt->records);
	jw_kv_int(&w, "rejected", (int64_t)rt->rejected);
	jw_key(&w, "variants");
	jw_obj_begin(&w);
	for (size_t i = 0; i < rt->w.n; i++)
		jw_kv_int(&w, rt->w.v[i].name, (int64_t)rt->count[i]);
	jw_obj_end(&w);
	rec_end(&w, out_stdout());
	sb_release(&sb);
	sb_release(&weights);
}

int cmd_route(int argc, char **argv)
{
	struct route *rt = xcalloc(1, sizeof(*rt));
	struct strbuf err = SB_INIT;
	const char *key = NULL, *weights = NULL;
	char **to = NULL;
	size_t nto = 0;
	bool summary = false;
	rt->field = "variant";
	rt->salt = "";
	struct opt_parser p;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'k': key = p.arg; break;
		case 's': rt->salt = p.arg; break;
		case 't':
			to = xreallocarray(to, nto + 1, sizeof(*to));
			to[nto++] = (char *)p.arg;
			break;
		case 'w': weights = p.arg; break;
		case RO_FIELD:
			if (!*p.arg)
				opt_usage_error(&p, "--field: empty name");
			rt->field = p.arg;
			break;
		case RO_STRICT: rt->strict = true; break;
		case RO_SUMMARY: summary = true; break;
		default: break;
		}
	}
	if (!key)
		opt_usage_error(&p, "--key is required");
	if (!weights)
		opt_usage_error(&p, "--weights is required");
	if (vptr_parse(&rt->ptrs[0], key, &err) < 0)
		opt_usage_error(&p, "--key: %s", err.buf);
	if (!rt->ptrs[0].n)
		opt_usage_error(&p, "--key: the key cannot be the whole record");
	if (weights_parse(&rt->w, weights, &err) < 0)
		opt_usage_error(&p, "--weights: %s", err.buf);
	rt->saltn = strlen(rt->salt);

	/* The variant member as a pointer ("/" and the name, ~ and / escaped),
	 * and the bytes written for it. */
	struct strbuf fp = SB_INIT, fq = SB_INIT;
	sb_addch(&fp, '/');
	for (const char *q = rt->field; *q; q++) {
		if (*q == '~')
			sb_addstr(&fp, "~0");
		else if (*q == '/')
			sb_addstr(&fp, "~1");
		else
			sb_addch(&fp, *q);
	}
	if (vptr_parse(&rt->ptrs[1], fp.buf, &err) < 0)
		die("--field: %s", err.buf); /* not reached: the pointer is made escaped */
	jw_escape(&fq, rt->field, strlen(rt->field));
	for (size_t i = 0; i < rt->w.n; i++) {
		sb_init(&rt->val[i], 0);
		sb_addf(&rt->val[i], "\"%s\"", rt->w.v[i].name); /* names need no escape */
		sb_init(&rt->ins[i], 0);
		sb_addf(&rt->ins[i], ",%s:%s", fq.buf, rt->val[i].buf);
	}
	sb_release(&fp);
	sb_release(&fq);

	open_targets(rt, &p, to, nto);
	for (size_t i = 0; i < rt->w.n; i++)
		if (!rt->sink[i])
			rt->sink[i] = route_sink_stdout();

	char **files;
	int nfiles = opt_operands(&p, &files);
	for (int i = 0; i < (nfiles ? nfiles : 1); i++)
		if (route_file(rt, nfiles ? files[i] : "-") < 0)
			break;

	/* Close each target once (several variants may share one). */
	int status = EXIT_OK;
	for (size_t i = 0; i < rt->w.n; i++) {
		struct route_sink *s = rt->sink[i];
		if (!s)
			continue;
		for (size_t j = i + 1; j < rt->w.n; j++)
			if (rt->sink[j] == s)
				rt->sink[j] = NULL;
		sb_reset(&err);
		if (route_sink_close(s, &err) < 0) {
			error("%s", err.buf);
			status = EXIT_SYSTEM;
		}
	}
	if (summary)
		write_summary(rt);

	for (size_t i = 0; i < rt->w.n; i++) {
		sb_release(&rt->ins[i]);
		sb_release(&rt->val[i]);
	}
	vptr_free(&rt->ptrs[0]);
	vptr_free(&rt->ptrs[1]);
	sb_release(&rt->keybuf);
	sb_release(&rt->rec);
	sb_release(&err);
	free(to);
	free(rt);
	opt_end(&p);
	return jsonl_exit_status(status);
}
