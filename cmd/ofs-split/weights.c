/*
 * weights.c: parsing weights and placing keys in variants, nginx's
 * split_clients rule (see weights.h for the rule and why).
 */
#include "common.h"

#include "weights.h"

static int valid_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

/* Append n bytes of user text to sb for a message on one line: control
 * characters are shown as \xNN. */
static void add_shown(struct strbuf *sb, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f)
			sb_addf(sb, "\\x%02x", c);
		else
			sb_addch(sb, c);
	}
}

/* sb + "PREFIX'TEXT'SUFFIX" with TEXT shown by add_shown. */
static void add_quoted(struct strbuf *sb, const char *prefix, const char *p, size_t n,
		       const char *suffix)
{
	sb_addf(sb, "%s'", prefix);
	add_shown(sb, p, n);
	sb_addf(sb, "'%s", suffix);
}

/* A percentage with at most two decimals as basis points; -1 if it is
 * not one or is above 100. */
static long parse_bp(const char *s, size_t n)
{
	size_t i = 0;
	long whole = 0, frac = 0;
	int digits = 0, fdigits = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (whole > 100)
			return -1;
		whole = whole * 10 + (s[i++] - '0');
		digits++;
	}
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (fdigits == 2)
				return -1;
			frac = frac * 10 + (s[i++] - '0');
			fdigits++;
		}
		if (!fdigits)
			return -1;
	}
	if (!digits || i != n)
		return -1;
	if (fdigits == 1)
		frac *= 10;
	long bp = whole * 100 + frac;
	return bp > 10000 ? -1 : bp;
}

int weights_parse(struct split_weights *w, const char *text, struct strbuf *err)
{
	memset(w, 0, sizeof(*w));
	const char *p = text;
	long sum = 0;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		if (!eq) {
			add_quoted(err, "expected NAME=PERCENT, got ", p, len, "");
			return -1;
		}
		size_t nlen = (size_t)(eq - p);
		if (!nlen || nlen > SPLIT_NAME_MAX) {
			sb_addf(err, "variant name must be 1..%d characters, got ", SPLIT_NAME_MAX);
			add_quoted(err, "", p, nlen, "");
			return -1;
		}
		for (size_t i = 0; i < nlen; i++)
			if (!valid_name_char((unsigned char)p[i])) {
				add_quoted(err, "variant name ", p, nlen,
					   " may hold only letters, digits, '-', '_' and '.'");
				return -1;
			}
		long bp = parse_bp(eq + 1, len - nlen - 1);
		if (bp < 0) {
			add_quoted(err, "weight of ", p, nlen,
				   " must be a percentage 0..100 with at most two decimals, got ");
			add_quoted(err, "", eq + 1, len - nlen - 1, "");
			return -1;
		}
		for (size_t i = 0; i < w->n; i++)
			if (strlen(w->v[i].name) == nlen && !memcmp(w->v[i].name, p, nlen)) {
				sb_addf(err, "variant '%.*s' is named twice", (int)nlen, p);
				return -1;
			}
		if (w->n == SPLIT_MAX_VARIANTS) {
			sb_addf(err, "at most %d variants", SPLIT_MAX_VARIANTS);
			return -1;
		}
		struct split_variant *v = &w->v[w->n++];
		memcpy(v->name, p, nlen);
		v->name[nlen] = '\0';
		v->bp = (unsigned)bp;
		sum += bp;
		if (!end)
			break;
		p = end + 1;
	}
	if (sum != 10000) {
		struct strbuf got = SB_INIT;
		weights_percent(&got, (unsigned)sum);
		sb_addf(err, "weights must sum to 100, got %s (", got.buf);
		sb_release(&got);
		weights_format(err, w);
		sb_addch(err, ')');
		return -1;
	}
	/* nginx: each weighted part's bound is the running total of
	 * bp * 0xffffffff / 10000, truncated per part; the last is "*". */
	size_t last = 0;
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].bp)
			last = i;
	uint32_t upper = 0;
	for (size_t i = 0; i < w->n; i++) {
		if (!w->v[i].bp)
			continue;
		if (i == last) {
			w->v[i].catch_all = 1;
			w->v[i].upper = UINT32_MAX;
		} else {
			upper += (uint32_t)((uint64_t)w->v[i].bp * 0xffffffffu / 10000);
			w->v[i].upper = upper;
		}
	}
	return 0;
}

int weights_find(const struct split_weights *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->v[i].name, name))
			return (int)i;
	return -1;
}

size_t weights_pick(const struct split_weights *w, uint32_t hash)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].bp && (w->v[i].catch_all || hash < w->v[i].upper))
			return i;
	return 0; /* not reached: weights sum to 100, so one is the catch-all */
}

/* MurmurHash2's step over the bytes of two pieces read as one string. */
struct mm2 {
	uint32_t h;
	unsigned char tail[4];
	size_t ntail;
};

#define MM2_M 0x5bd1e995u

static void mm2_block(struct mm2 *s, const unsigned char *b)
{
	uint32_t k = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		     (uint32_t)b[3] << 24;
	k *= MM2_M;
	k ^= k >> 24;
	k *= MM2_M;
	s->h *= MM2_M;
	s->h ^= k;
}

static void mm2_feed(struct mm2 *s, const unsigned char *p, size_t n)
{
	while (n && s->ntail) {
		s->tail[s->ntail++] = *p++;
		n--;
		if (s->ntail == 4) {
			mm2_block(s, s->tail);
			s->ntail = 0;
		}
	}
	for (; n >= 4; p += 4, n -= 4)
		mm2_block(s, p);
	while (n--)
		s->tail[s->ntail++] = *p++;
}

uint32_t split_murmur2(const void *key, size_t n, const void *salt, size_t saltn)
{
	struct mm2 s = { (uint32_t)(n + saltn), { 0 }, 0 };
	if (n)
		mm2_feed(&s, key, n);
	if (saltn)
		mm2_feed(&s, salt, saltn);
	switch (s.ntail) {
	case 3:
		s.h ^= (uint32_t)s.tail[2] << 16;
		/* fallthrough */
	case 2:
		s.h ^= (uint32_t)s.tail[1] << 8;
		/* fallthrough */
	case 1:
		s.h ^= s.tail[0];
		s.h *= MM2_M;
		break;
	default:
		break;
	}
	s.h ^= s.h >> 13;
	s.h *= MM2_M;
	s.h ^= s.h >> 15;
	return s.h;
}

void weights_percent(struct strbuf *out, unsigned bp)
{
	if (bp % 100 == 0)
		sb_addf(out, "%u", bp / 100);
	else if (bp % 10 == 0)
		sb_addf(out, "%u.%u", bp / 100, bp / 10 % 10);
	else
		sb_addf(out, "%u.%02u", bp / 100, bp % 100);
}

void weights_format(struct strbuf *out, const struct split_weights *w)
{
	for (size_t i = 0; i < w->n; i++) {
		if (i)
			sb_addch(out, ',');
		sb_addf(out, "%s=", w->v[i].name);
		weights_percent(out, w->v[i].bp);
	}
}
