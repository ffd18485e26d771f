/*
 * test_split_weights.c: unit tests for ofs-split's weights.c: parsing
 * and its error messages, nginx's bucket bounds at their edges, zero
 * weights, the percentage writer, and MurmurHash2 over a key and a salt
 * read as one string, checked against a plain one-buffer version of the
 * algorithm written here at every split point of many strings. (That
 * the hash is nginx's own is proved against a real nginx in
 * tests/ofs-split-render.bats.)
 */
#include "common.h"

#include "../../cmd/ofs-split/weights.h"
#include "tap.h"

/* MurmurHash2, 32 bits, seed 0, over one buffer, as published. */
static uint32_t murmur2_plain(const unsigned char *d, size_t n)
{
	const uint32_t m = 0x5bd1e995u;
	uint32_t h = (uint32_t)n;
	while (n >= 4) {
		uint32_t k = d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
		k *= m;
		k ^= k >> 24;
		k *= m;
		h *= m;
		h ^= k;
		d += 4;
		n -= 4;
	}
	if (n == 3)
		h ^= (uint32_t)d[2] << 16;
	if (n >= 2)
		h ^= (uint32_t)d[1] << 8;
	if (n >= 1) {
		h ^= d[0];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return h;
}

static const struct {
	const char *text, *err;
} bad[] = {
	{ "legacy=90,new=5", "weights must sum to 100, got 95 (legacy=90,new=5)" },
	{ "legacy=90,new=20", "weights must sum to 100, got 110 (legacy=90,new=20)" },
	{ "legacy=110,new=-10",
	  "weight of 'legacy' must be a percentage 0..100 with at most two decimals, got '110'" },
	{ "legacy=100,new=-0",
	  "weight of 'new' must be a percentage 0..100 with at most two decimals, got '-0'" },
	{ "a=33.333,b=66.667",
	  "weight of 'a' must be a percentage 0..100 with at most two decimals, got '33.333'" },
	{ "a=50.,b=50", "weight of 'a' must be a percentage 0..100 with at most two decimals, got '50.'" },
	{ "a=,b=100", "weight of 'a' must be a percentage 0..100 with at most two decimals, got ''" },
	{ "a=1e2", "weight of 'a' must be a percentage 0..100 with at most two decimals, got '1e2'" },
	{ "a=50,a=50", "variant 'a' is named twice" },
	{ "legacy", "expected NAME=PERCENT, got 'legacy'" },
	{ "", "expected NAME=PERCENT, got ''" },
	{ "a=100,", "expected NAME=PERCENT, got ''" },
	{ "=100", "variant name must be 1..64 characters, got ''" },
	{ "a b=100", "variant name 'a b' may hold only letters, digits, '-', '_' and '.'" },
	{ "a\nb=100", "variant name 'a\\x0ab' may hold only letters, digits, '-', '_' and '.'" },
	{ "a=1\t", "weight of 'a' must be a percentage 0..100 with at most two decimals, got '1\\x09'" },
	{ "a=0,b=0", "weights must sum to 100, got 0 (a=0,b=0)" },
};

int main(void)
{
	struct split_weights w;
	struct strbuf err = SB_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		sb_reset(&err);
		is_int(weights_parse(&w, bad[i].text, &err), -1, "bad weights rejected");
		is_str(err.buf, bad[i].err, "its message");
	}

	sb_reset(&err);
	is_int(weights_parse(&w, "legacy=90,new=10", &err), 0, "legacy=90,new=10");
	is_int((long long)w.n, 2, "two variants");
	is_int(weights_find(&w, "new"), 1, "find new");
	is_int(weights_find(&w, "old"), -1, "find an unknown variant");
	/* nginx: 9000 * 0xffffffff / 10000 = 3865470565 (truncated). */
	is_int(w.v[0].upper, 3865470565u, "legacy's bound");
	is_int((long long)weights_pick(&w, 0), 0, "hash 0 is legacy");
	is_int((long long)weights_pick(&w, 3865470564u), 0, "below the bound is legacy");
	is_int((long long)weights_pick(&w, 3865470565u), 1, "the bound itself is new");
	is_int((long long)weights_pick(&w, UINT32_MAX), 1, "the top hash is new (catch-all)");

	/* Bounds accumulate truncated per part: 0.5% then 2% (nginx's
	 * documented example: 0..21474835, then up to 107374180). */
	is_int(weights_parse(&w, "one=0.5,two=2,rest=97.5", &err), 0, "three variants");
	is_int(w.v[0].upper, 21474836u, "0.5% bound");
	is_int(w.v[1].upper, 21474836u + 85899345u, "2% bound accumulated");
	is_int((long long)weights_pick(&w, 21474835u), 0, "21474835 is the first");
	is_int((long long)weights_pick(&w, 21474836u), 1, "21474836 is the second");
	is_int((long long)weights_pick(&w, 107374180u), 1, "107374180 is the second");
	is_int((long long)weights_pick(&w, 107374181u), 2, "107374181 is the rest");

	/* Zero weights take nothing; the last weighted variant is the catch-all. */
	is_int(weights_parse(&w, "a=0,b=100,c=0", &err), 0, "zero weights");
	for (uint32_t h = 0; h < 0xf0000000u; h += 0x10000001u)
		is_int((long long)weights_pick(&w, h), 1, "every hash is b");
	is_int((long long)weights_pick(&w, UINT32_MAX), 1, "the top hash is b");
	is_int(weights_parse(&w, "a=99.99,b=0.01", &err), 0, "basis points");
	is_int((long long)weights_pick(&w, UINT32_MAX - 100), 1, "the last 0.01% is b");

	struct strbuf sb = SB_INIT;
	is_int(weights_parse(&w, "a=12.5,b=0.05,c=87.45,d=0", &err), 0, "decimals");
	weights_format(&sb, &w);
	is_str(sb.buf, "a=12.5,b=0.05,c=87.45,d=0", "written back without needless zeros");
	sb_reset(&sb);
	is_int(weights_parse(&w, "a=12.50,b=87.50", &err), 0, "trailing zeros");
	weights_format(&sb, &w);
	is_str(sb.buf, "a=12.5,b=87.5", "trailing zeros dropped");

	/* The hash of key then salt is the hash of the two read as one. */
	unsigned char text[40];
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (unsigned char)(i * 37 + 11);
	int same = 1;
	for (size_t n = 0; n <= sizeof(text); n++)
		for (size_t cut = 0; cut <= n; cut++)
			if (split_murmur2(text, cut, text + cut, n - cut) != murmur2_plain(text, n))
				same = 0;
	ok(same, "every split of 0..40 bytes hashes as the plain algorithm");
	is_int(split_murmur2("", 0, "", 0), murmur2_plain((const unsigned char *)"", 0),
	       "the empty string");
	ok(split_murmur2("customer-1", 10, "AAA", 3) != split_murmur2("customer-1", 10, "BBB", 3),
	   "the salt changes the hash");

	sb_release(&sb);
	sb_release(&err);
	return tap_done();
}
