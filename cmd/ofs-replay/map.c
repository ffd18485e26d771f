/*
 * map.c: `ofs-replay map --spec SPEC [--reverse] [file ...]`, records
 * translated between the legacy model and the new one.
 *
 * The spec (mapspec.h) is loaded and validated completely first; with
 * --reverse it is inverted, or refused naming each rule that cannot be
 * undone. Then each record is parsed and the rules are applied to its
 * tree in order; fields no rule names pass through unless the spec says
 * drop_unknown, in which case only the fields rules wrote or kept are
 * written. A record a rule cannot map (a value that does not convert, a
 * value outside an enum map, a template naming an absent field) is
 * reported as FILE:LINE with the rule's pointer and skipped, and the
 * command ends with status 3. Absent fields and null values are left
 * alone by rename, move, convert and enum: a rule only changes what is
 * there. Output: the mapped records, one per line, in input order.
 */
#include "common.h"

#include <math.h>

#include "cmds.h"
#include "jsonl.h"
#include "jw.h"
#include "mapspec.h"
#include "opt.h"
#include "out.h"
#include "timefmt.h"
#include "units.h"

enum {
	MOPT_STRICT = 256,
};

const struct opt map_opts[] = {
	{ 'r', 'r', "reverse", NULL, "apply the inverse of the spec (new model to legacy)", NULL, 0 },
	{ 's', 's', "spec", "file", "the map spec (JSON)", "@file", OPT_REQUIRED },
	{ MOPT_STRICT, 0, "strict", NULL, "stop at the first record that cannot be mapped", NULL,
	  0 },
	{ 0 },
};

/* ---- the tree at a pointer -------------------------------------------------- */

static cJSON *child(cJSON *node, const struct vptr *p, size_t i)
{
	if (cJSON_IsObject(node))
		return cJSON_GetObjectItemCaseSensitive(node, p->segs[i]);
	size_t idx;
	if (cJSON_IsArray(node) && vptr_index(p, i, &idx))
		return cJSON_GetArrayItem(node, (int)idx);
	return NULL;
}

/* The node at the first n tokens of p, or NULL. */
static cJSON *get_n(cJSON *root, const struct vptr *p, size_t n)
{
	cJSON *node = root;
	for (size_t i = 0; node && i < n; i++)
		node = child(node, p, i);
	return node;
}

static cJSON *get_at(cJSON *root, const struct vptr *p)
{
	return get_n(root, p, p->n);
}

/* Take the node at p out of root. Objects the removal leaves empty are
 * removed too, up to the root: the inverse of set_at creating them, so
 * that a move and its reverse give back the record they started from. */
static cJSON *detach_at(cJSON *root, const struct vptr *p)
{
	cJSON *parent = get_n(root, p, p->n - 1), *item = parent ? child(parent, p, p->n - 1) : NULL;
	if (!item)
		return NULL;
	cJSON_DetachItemViaPointer(parent, item);
	for (size_t n = p->n - 1; n > 0 && cJSON_IsObject(parent) && !parent->child; n--) {
		cJSON *up = get_n(root, p, n - 1);
		cJSON_Delete(cJSON_DetachItemViaPointer(up, parent));
		parent = up;
	}
	return item;
}

/* Put item (owned; freed on failure) at p, creating missing objects on
 * the way. Returns 0, or -1 with the reason in why. */
static int set_at(cJSON *root, const struct vptr *p, cJSON *item, struct strbuf *why)
{
	cJSON *node = root;
	for (size_t i = 0; i + 1 < p->n; i++) {
		cJSON *next = child(node, p, i);
		if (!next) {
			if (!cJSON_IsObject(node)) {
				sb_addf(why, "cannot create '%s': no element %s in the array",
					p->text, p->segs[i]);
				cJSON_Delete(item);
				return -1;
			}
			next = cJSON_CreateObject();
			cJSON_AddItemToObject(node, p->segs[i], next);
		} else if (!cJSON_IsObject(next) && !cJSON_IsArray(next)) {
			sb_addf(why, "cannot create '%s': '%s' holds a %s", p->text, p->segs[i],
				cJSON_IsString(next) ? "string" :
				cJSON_IsNumber(next) ? "number" :
				cJSON_IsBool(next)   ? "boolean" :
						       "null");
			cJSON_Delete(item);
			return -1;
		}
		node = next;
	}
	const char *last = p->segs[p->n - 1];
	if (cJSON_IsObject(node)) {
		if (cJSON_GetObjectItemCaseSensitive(node, last))
			cJSON_ReplaceItemInObjectCaseSensitive(node, last, item);
		else
			cJSON_AddItemToObject(node, last, item);
		return 0;
	}
	size_t idx, size = (size_t)cJSON_GetArraySize(node);
	if (vptr_index(p, p->n - 1, &idx) && idx <= size) {
		if (idx == size)
			cJSON_AddItemToArray(node, item);
		else
			cJSON_ReplaceItemInArray(node, (int)idx, item);
		return 0;
	}
	sb_addf(why, "cannot create '%s': no element %s in the array", p->text, last);
	cJSON_Delete(item);
	return -1;
}

/* ---- conversions ------------------------------------------------------------ */

static const char *kind_of(const cJSON *v)
{
	return cJSON_IsString(v) ? "a string" :
	       cJSON_IsNumber(v) ? "a number" :
	       cJSON_IsBool(v)   ? "a boolean" :
	       cJSON_IsObject(v) ? "an object" :
	       cJSON_IsArray(v)  ? "an array" :
				   "null";
}

static void show(struct strbuf *sb, const cJSON *v)
{
	struct jw w;
	size_t start = sb->len;
	jw_init(&w, sb);
	jw_cjson(&w, v);
	if (sb->len - start > 60) {
		sb_setlen(sb, start + 57);
		sb_addstr(sb, "...");
	}
}

static const int64_t unit_us[] = { [MT_EPOCH_S] = 1000000, [MT_EPOCH_MS] = 1000,
				   [MT_EPOCH_US] = 1 };

/* The converted value of v (owned by the caller), or NULL with why. */
static cJSON *convert(const struct mr_rule *r, const cJSON *v, struct strbuf *why)
{
	static const enum mr_type want_of[] = {
		[MT_STRING] = MT_STRING, [MT_NUMBER] = MT_NUMBER, [MT_BOOLEAN] = MT_BOOLEAN,
		[MT_CENTS] = MT_NUMBER,  [MT_DECIMAL] = MT_NUMBER, [MT_EPOCH_S] = MT_NUMBER,
		[MT_EPOCH_MS] = MT_NUMBER, [MT_EPOCH_US] = MT_NUMBER, [MT_RFC3339] = MT_STRING,
	};
	enum mr_type want = want_of[r->from];
	bool ok = (want == MT_STRING && cJSON_IsString(v)) || (want == MT_NUMBER && cJSON_IsNumber(v)) ||
		  (want == MT_BOOLEAN && cJSON_IsBool(v));
	if (!ok) {
		show(why, v);
		sb_addf(why, " is %s, not %s", kind_of(v),
			want == MT_STRING ? "a string" : want == MT_NUMBER ? "a number" : "a boolean");
		return NULL;
	}
	switch (r->from) {
	case MT_STRING: {
		const char *s = v->valuestring;
		if (r->into == MT_NUMBER) {
			double d;
			if (num_parse_double(s, &d, NULL) < 0)
				break;
			return cJSON_CreateNumber(d);
		}
		if (!strcmp(s, "true") || !strcmp(s, "false"))
			return cJSON_CreateBool(s[0] == 't');
		break;
	}
	case MT_NUMBER: {
		char buf[32];
		size_t n = jw_format_double(v->valuedouble, buf);
		buf[n] = '\0';
		return cJSON_CreateString(buf);
	}
	case MT_BOOLEAN:
		return cJSON_CreateString(cJSON_IsTrue(v) ? "true" : "false");
	case MT_CENTS:
		return cJSON_CreateNumber(v->valuedouble / r->scale);
	case MT_DECIMAL: {
		double c = v->valuedouble * r->scale, w = round(c);
		if (fabs(c - w) > 1e-6 * (fabs(w) > 1 ? fabs(w) : 1) || fabs(w) > 9007199254740992.0) {
			sb_addf(why, "%g is not a whole number of cents at scale %g", v->valuedouble,
				r->scale);
			return NULL;
		}
		return cJSON_CreateNumber(w == 0 ? 0 : w);
	}
	case MT_EPOCH_S:
	case MT_EPOCH_MS:
	case MT_EPOCH_US: {
		/* Whole microseconds, so that a double's last bits never floor a
		 * timestamp into the previous microsecond. */
		double x = v->valuedouble, us;
		if (r->from == MT_EPOCH_S) {
			double sec = floor(x);
			us = sec * 1e6 + round((x - sec) * 1e6);
		} else {
			us = round(x * (double)unit_us[r->from]);
		}
		if (!(fabs(us) < 9.2e15)) {
			sb_addf(why, "%g is out of the range of timestamps", x);
			return NULL;
		}
		char ts[TS_BUFSZ];
		return cJSON_CreateString(ts_format((int64_t)us * 1000, ts));
	}
	case MT_RFC3339: {
		int64_t ns;
		if (ts_parse(v->valuestring, strlen(v->valuestring), &ns) < 0)
			break;
		int64_t per = unit_us[r->into] * 1000;
		double out = (ns % per == 0) ? (double)(ns / per) : (double)ns / (double)per;
		return cJSON_CreateNumber(out);
	}
	}
	/* The string did not read as the type asked for. */
	show(why, v);
	sb_addf(why, " is not %s", r->from == MT_STRING && r->into == MT_BOOLEAN ? "true or false" :
				   r->from == MT_STRING ? "a number" :
							  "an RFC 3339 timestamp");
	return NULL;
}

/* ---- rules -------------------------------------------------------------------- */

static int compute(const struct mr_rule *r, cJSON *root, struct strbuf *why)
{
	struct strbuf out = SB_INIT;
	for (size_t i = 0; i < r->npieces; i++) {
		const struct mr_piece *pc = &r->pieces[i];
		if (pc->text) {
			sb_addstr(&out, pc->text);
			continue;
		}
		const cJSON *v = get_at(root, &pc->ptr);
		if (!v) {
			sb_addf(why, "no value at '%s'", pc->ptr.text);
		} else if (cJSON_IsString(v)) {
			sb_addstr(&out, v->valuestring);
			continue;
		} else if (cJSON_IsNumber(v)) {
			char buf[32];
			size_t n = jw_format_double(v->valuedouble, buf);
			sb_add(&out, buf, n);
			continue;
		} else if (cJSON_IsBool(v)) {
			sb_addstr(&out, cJSON_IsTrue(v) ? "true" : "false");
			continue;
		} else {
			sb_addf(why, "'%s' is %s, not a string, number or boolean", pc->ptr.text,
				kind_of(v));
		}
		sb_release(&out);
		return -1;
	}
	cJSON *s = cJSON_CreateString(out.buf);
	sb_release(&out);
	return set_at(root, &r->path, s, why);
}

/* Apply one rule to root. Returns 0, or -1 with why. */
static int apply(const struct mr_rule *r, cJSON *root, struct strbuf *why)
{
	cJSON *v;
	switch (r->op) {
	case MR_RENAME:
	case MR_MOVE:
		if (!get_at(root, &r->path))
			return 0;
		if (get_at(root, &r->to)) {
			sb_addf(why, "'%s' already exists", r->to.text);
			return -1;
		}
		return set_at(root, &r->to, detach_at(root, &r->path), why);
	case MR_CONVERT: {
		v = get_at(root, &r->path);
		if (!v || cJSON_IsNull(v))
			return 0;
		cJSON *nv = convert(r, v, why);
		if (!nv)
			return -1;
		return set_at(root, &r->path, nv, why);
	}
	case MR_ENUM:
		v = get_at(root, &r->path);
		if (!v)
			return 0;
		for (size_t i = 0; i < r->npairs; i++)
			if (cJSON_Compare(r->pair_from[i], v, true))
				return set_at(root, &r->path, cJSON_Duplicate(r->pair_to[i], true), why);
		show(why, v);
		sb_addstr(why, " is not in the map");
		return -1;
	case MR_COMPUTE:
		return compute(r, root, why);
	case MR_DEFAULT:
		if (get_at(root, &r->path))
			return 0;
		return set_at(root, &r->path, cJSON_Duplicate(r->value, true), why);
	case MR_DROP:
		cJSON_Delete(detach_at(root, &r->path));
		return 0;
	case MR_KEEP:
		return 0;
	}
	return 0;
}

/* The pointer a rule leaves its result at (NULL for drop). */
static const struct vptr *target(const struct mr_rule *r)
{
	switch (r->op) {
	case MR_RENAME:
	case MR_MOVE:
		return &r->to;
	case MR_DROP:
		return NULL;
	default:
		return &r->path;
	}
}

/* map_record: apply the spec to *rec (replaced when drop_unknown). */
static int map_record(const struct mapspec *ms, cJSON **rec, struct strbuf *why)
{
	for (size_t i = 0; i < ms->n; i++) {
		const struct mr_rule *r = &ms->rules[i];
		size_t at = why->len;
		if (apply(r, *rec, why) < 0) {
			struct strbuf msg = SB_INIT;
			sb_addf(&msg, "%s: %s '%s': %s", r->where, mr_op_name(r->op), r->path.text,
				why->buf + at);
			sb_setlen(why, at);
			sb_add(why, msg.buf, msg.len);
			sb_release(&msg);
			return -1;
		}
	}
	if (ms->drop_unknown) {
		cJSON *kept = cJSON_CreateObject();
		for (size_t i = 0; i < ms->n; i++) {
			const struct vptr *t = target(&ms->rules[i]);
			const cJSON *v = t ? get_at(*rec, t) : NULL;
			if (v && !get_at(kept, t) && set_at(kept, t, cJSON_Duplicate(v, true), why) < 0)
				sb_reset(why); /* an array index past the end: leave it out */
		}
		cJSON_Delete(*rec);
		*rec = kept;
	}
	return 0;
}

int cmd_map(int argc, char **argv)
{
	const char *spec = NULL;
	bool reverse = false, strict = false;
	struct opt_parser p;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'r':
			reverse = true;
			break;
		case 's':
			spec = p.arg;
			break;
		case MOPT_STRICT:
			strict = true;
			break;
		}
	}
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (!spec)
		opt_usage_error(&p, "--spec is required");
	struct mapspec ms;
	struct strbuf err = SB_INIT;
	if (mapspec_load(spec, &ms, &err) < 0 || (reverse && mapspec_reverse(&ms, &err) < 0)) {
		error_lines(err.buf, err.len);
		sb_release(&err);
		mapspec_free(&ms);
		opt_end(&p);
		return EXIT_USAGE;
	}
	static char *stdin_only[] = { "-" };
	if (!nops) {
		ops = stdin_only;
		nops = 1;
	}
	struct out *o = out_stdout();
	struct strbuf sb = SB_INIT, why = SB_INIT;
	struct jw w;
	int status = EXIT_OK;
	for (int i = 0; i < nops && status == EXIT_OK; i++) {
		sb_reset(&err);
		struct jsonl_reader *r = jsonl_open(ops[i], strict ? JSONL_STRICT : 0, &err);
		if (!r) {
			error("%s", err.buf);
			continue;
		}
		cJSON *rec;
		int got;
		while ((got = jsonl_next(r, &rec)) > 0) {
			sb_reset(&why);
			if (map_record(&ms, &rec, &why) < 0) {
				cJSON_Delete(rec);
				if (jsonl_reject(r, "%s", why.buf) < 0) {
					got = -1;
					break;
				}
				continue;
			}
			jw_init(&w, &sb);
			jw_cjson(&w, rec);
			out_record(o, &sb);
			cJSON_Delete(rec);
		}
		if (got < 0 && strict)
			status = EXIT_REJECTED;
		jsonl_close(r);
	}
	sb_release(&sb);
	sb_release(&why);
	sb_release(&err);
	mapspec_free(&ms);
	opt_end(&p);
	return jsonl_exit_status(status);
}
