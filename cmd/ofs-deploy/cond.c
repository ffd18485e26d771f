/*
 * cond.c: the success and failure conditions of analysis metrics:
 * `result OP NUMBER` terms joined by && and ||, compiled once when the
 * spec is loaded and evaluated on every measurement.
 *
 * Argo Rollouts takes a full expression language here; what a deploy
 * gate needs is a threshold or two ("result < 0.05", "result >= 0.99 &&
 * result <= 1"), and a tiny grammar can be checked completely before
 * anything runs, with the column of a mistake in the message. So:
 *   COND := TERM { ("&&" | "||") TERM }      && binds tighter than ||
 *   TERM := "result" OP NUMBER               OP: < <= > >= == !=
 * with blanks allowed anywhere between tokens, no parentheses, and
 * NUMBER a decimal number ("-1", "0.05", "1e3"). A NaN result makes the
 * condition an error rather than false: a value that is not a number
 * must never pass a gate by accident.
 */
#include "common.h"
#include <math.h>

#include "deploy.h"
#include "units.h"

struct cparse {
	const char *s;
	size_t pos;
	struct strbuf *err;
};

/* The 1-based column (in characters) of byte offset pos. */
static size_t column(const char *s, size_t pos)
{
	size_t col = 1;
	for (size_t i = 0; i < pos; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			col++;
	return col;
}

static int fail(struct cparse *p, const char *what)
{
	sb_addf(p->err, "%s at column %zu", what, column(p->s, p->pos));
	return -1;
}

static void skip_blanks(struct cparse *p)
{
	while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t')
		p->pos++;
}

static int parse_op(struct cparse *p, enum dp_op *op)
{
	static const struct {
		const char *text;
		enum dp_op op;
	} ops[] = { { "<=", DP_LE }, { ">=", DP_GE }, { "==", DP_EQ },
		    { "!=", DP_NE }, { "<", DP_LT },  { ">", DP_GT } };
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		size_t n = strlen(ops[i].text);
		if (strncmp(p->s + p->pos, ops[i].text, n) == 0) {
			*op = ops[i].op;
			p->pos += n;
			return 0;
		}
	}
	fail(p, "expected a comparison operator");
	if (p->s[p->pos] == '=')
		sb_addstr(p->err, " (use '==' to compare)");
	return -1;
}

static int parse_number(struct cparse *p, double *v)
{
	size_t start = p->pos, end = start;
	while (p->s[end] && strchr("+-0123456789.eE", p->s[end]))
		end++;
	if (end == start)
		return fail(p, "expected a number");
	char *tok = xstrndup(p->s + start, end - start);
	int r = num_parse_double(tok, v, NULL);
	free(tok);
	if (r < 0)
		return fail(p, "invalid number");
	p->pos = end;
	return 0;
}

static int parse_term(struct cparse *p, struct dp_term *t)
{
	skip_blanks(p);
	if (strncmp(p->s + p->pos, "result", 6) != 0)
		return fail(p, "expected 'result'");
	p->pos += 6;
	skip_blanks(p);
	if (parse_op(p, &t->op) < 0)
		return -1;
	skip_blanks(p);
	if (parse_number(p, &t->value) < 0)
		return -1;
	skip_blanks(p);
	return 0;
}

int dp_cond_parse(const char *text, struct dp_cond *c, struct strbuf *err)
{
	struct cparse p = { text, 0, err };
	size_t alloc = 0;
	memset(c, 0, sizeof(*c));
	for (;;) {
		ALLOC_GROW(c->term, c->n + 1, alloc);
		struct dp_term *t = &c->term[c->n++];
		memset(t, 0, sizeof(*t));
		if (parse_term(&p, t) < 0)
			goto fail;
		if (!text[p.pos])
			break;
		if (strncmp(text + p.pos, "&&", 2) == 0) {
			t->or_next = false;
		} else if (strncmp(text + p.pos, "||", 2) == 0) {
			t->or_next = true;
		} else {
			fail(&p, "expected '&&' or '||'");
			goto fail;
		}
		p.pos += 2;
	}
	c->text = xstrdup(text);
	return 0;
fail:
	dp_cond_release(c);
	return -1;
}

void dp_cond_release(struct dp_cond *c)
{
	free(c->text);
	free(c->term);
	memset(c, 0, sizeof(*c));
}

static bool compare(enum dp_op op, double v, double x)
{
	switch (op) {
	case DP_LT:
		return v < x;
	case DP_LE:
		return v <= x;
	case DP_GT:
		return v > x;
	case DP_GE:
		return v >= x;
	case DP_EQ:
		return v == x;
	case DP_NE:
		return v != x;
	}
	return false;
}

/* An || of && groups: true as soon as one group holds throughout. */
enum an_cond dp_cond_eval(const struct dp_cond *c, double v)
{
	if (!c || !c->text || !c->n)
		return AN_COND_NONE;
	if (isnan(v))
		return AN_COND_ERROR;
	bool group = true;
	for (size_t i = 0; i < c->n; i++) {
		group = group && compare(c->term[i].op, v, c->term[i].value);
		if (c->term[i].or_next || i + 1 == c->n) {
			if (group)
				return AN_COND_TRUE;
			group = true;
		}
	}
	return AN_COND_FALSE;
}
