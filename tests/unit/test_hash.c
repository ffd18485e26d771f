/*
 * test_hash.c: unit tests for hash.c: pinned hash values, avalanche and
 * bucket distribution of hash_bytes, and the ht table against a simple
 * reference model under random operations.
 */
#include "common.h"
#include <math.h>

#include "hash.h"
#include "rnd.h"
#include "strbuf.h"
#include "tap.h"

/* Pinned values: hash_bytes must give the same result on every machine
 * and in every release, because callers may store or compare them. */
static const struct {
	const char *in;
	size_t len;
	uint64_t seed;
	uint64_t want;
} pinned[] = {
	{ "", 0, 0, 0xec917113278cf901ULL },
	{ "a", 1, 0, 0x8bb313915ffd2033ULL },
	{ "orders", 6, 0, 0x3a47e86e3c4e35e2ULL },
	{ "payments", 8, 0, 0xb94711e5e2c6544fULL },
	{ "payments", 8, 1, 0x78ed29f5f27bbdb0ULL },
	{ "the quick brown fox jumps over the lazy dog", 43, 0, 0x08a12656611bacb1ULL },
	{ "the quick brown fox jumps over the lazy dog", 43, 42, 0xd55f2ecca5ec9b7fULL },
	{ "a\0b", 3, 0, 0x1598945a91c69a4bULL },
};

static void fill_random(unsigned char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)rnd_u64();
}

static void test_values(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(pinned); i++) {
		uint64_t got = hash_bytes(pinned[i].in, pinned[i].len, pinned[i].seed);
		if (!ok(got == pinned[i].want, "hash_bytes pinned value %zu", i))
			diag("got 0x%016" PRIx64, got);
	}
	is_int((long long)hash_str("orders"), (long long)hash_bytes("orders", 6, 0),
	       "hash_str is hash_bytes with seed 0");
	ok(hash_bytes("orders", 6, 7) != hash_bytes("orders", 6, 8), "the seed changes the hash");
	ok(hash_bytes(NULL, 0, 3) == hash_bytes("x", 0, 3), "an empty input may be NULL");

	/* Runs of zero bytes of every length up to 80 hash differently. */
	unsigned char zeros[80] = { 0 };
	uint64_t seen[81];
	int distinct = 1;
	for (size_t n = 0; n <= 80; n++) {
		seen[n] = hash_bytes(zeros, n, 0);
		for (size_t m = 0; m < n; m++)
			if (seen[m] == seen[n])
				distinct = 0;
	}
	ok(distinct, "zero runs of length 0..80 all hash differently");

	/* The result does not depend on the alignment of the input. */
	unsigned char buf[120];
	rnd_seed(1);
	fill_random(buf, sizeof(buf));
	int same = 1;
	for (size_t off = 1; off < 8; off++) {
		unsigned char moved[128];
		memcpy(moved + off, buf, 100);
		if (hash_bytes(moved + off, 100, 5) != hash_bytes(buf, 100, 5))
			same = 0;
	}
	ok(same, "hash is independent of input alignment");
}

/* Flip each input bit of many random keys of length len; check that each
 * input bit flips 20..44 output bits on average, and that every output
 * bit flips with a probability between 0.35 and 0.65 (strict avalanche). */
static void test_avalanche(size_t len, int nkeys)
{
	unsigned char key[64];
	size_t nbits = len * 8;
	double *flips = xcalloc(nbits * 64, sizeof(double));
	double total = 0;
	for (int k = 0; k < nkeys; k++) {
		fill_random(key, len);
		uint64_t h0 = hash_bytes(key, len, 0);
		for (size_t b = 0; b < nbits; b++) {
			key[b / 8] ^= (unsigned char)(1u << (b % 8));
			uint64_t d = h0 ^ hash_bytes(key, len, 0);
			key[b / 8] ^= (unsigned char)(1u << (b % 8));
			for (int o = 0; o < 64; o++)
				if (d >> o & 1)
					flips[b * 64 + (size_t)o] += 1;
		}
	}
	double worst_in = 32, worst_cell = 0.5;
	for (size_t b = 0; b < nbits; b++) {
		double sum = 0;
		for (int o = 0; o < 64; o++) {
			double p = flips[b * 64 + (size_t)o] / nkeys;
			sum += p;
			if (fabs(p - 0.5) > fabs(worst_cell - 0.5))
				worst_cell = p;
		}
		total += sum;
		if (fabs(sum - 32) > fabs(worst_in - 32))
			worst_in = sum;
	}
	double mean = total / (double)nbits;
	ok(worst_in >= 20 && worst_in <= 44,
	   "avalanche %zu-byte keys: every input bit flips 20..44 output bits (worst %.2f)", len,
	   worst_in);
	ok(mean >= 31 && mean <= 33, "avalanche %zu-byte keys: mean flipped bits %.3f is about 32",
	   len, mean);
	ok(worst_cell >= 0.35 && worst_cell <= 0.65,
	   "avalanche %zu-byte keys: each output bit flips with p in 0.35..0.65 (worst %.3f)", len,
	   worst_cell);
	free(flips);
}

/* 100k keys "key-%d" into 1024 buckets: the chi-square statistic (1023
 * degrees of freedom: mean 1023, sd 45) must be within 1023 +- 6 sd. */
static void test_distribution(void)
{
	enum { NKEYS = 100000, NB = 1024 };
	static unsigned low[NB], high[NB];
	char key[32];
	for (int i = 0; i < NKEYS; i++) {
		int n = snprintf(key, sizeof(key), "key-%d", i);
		uint64_t h = hash_bytes(key, (size_t)n, 0);
		low[h & (NB - 1)]++;
		high[h >> 54]++;
	}
	double expect = (double)NKEYS / NB, chi_low = 0, chi_high = 0;
	for (int b = 0; b < NB; b++) {
		chi_low += (low[b] - expect) * (low[b] - expect) / expect;
		chi_high += (high[b] - expect) * (high[b] - expect) / expect;
	}
	ok(chi_low > 753 && chi_low < 1293, "low 10 bits: chi-square %.1f within 1023 +- 270",
	   chi_low);
	ok(chi_high > 753 && chi_high < 1293, "high 10 bits: chi-square %.1f within 1023 +- 270",
	   chi_high);
}

static int freed;
static void count_free(void *p)
{
	freed++;
	free(p);
}

static void test_table_basics(void)
{
	struct ht *t = ht_new();
	is_int((long long)ht_len(t), 0, "a new table is empty");
	ok(ht_get(t, "x") == NULL && !ht_has(t, "x"), "get on an empty table finds nothing");
	ok(ht_del(t, "x") == NULL, "del on an empty table finds nothing");

	int a = 1, b = 2, c = 3;
	ok(ht_put(t, "orders", &a) == NULL, "put of a new key returns NULL");
	ok(ht_put(t, "payments", &b) == NULL, "put of a second key returns NULL");
	ok(ht_put(t, "orders", &c) == &a, "put of an existing key returns the old value");
	is_int((long long)ht_len(t), 2, "replacing a value keeps the length");
	ok(ht_get(t, "orders") == &c, "get returns the new value");
	ok(ht_put(t, "", &a) == NULL && ht_get(t, "") == &a, "the empty string is a key");
	ok(ht_put(t, "nil", NULL) == NULL && ht_has(t, "nil") && ht_get(t, "nil") == NULL,
	   "a NULL value is stored and ht_has sees it");
	void **ref = ht_ref(t, "payments");
	ok(ref && *ref == &b, "ref points at the stored value");
	*ref = &c;
	ok(ht_get(t, "payments") == &c, "a value can be changed through ref");
	ok(ht_ref(t, "absent") == NULL, "ref of an absent key is NULL");

	/* The table owns a copy of the key. */
	char buf[16];
	snprintf(buf, sizeof(buf), "temp");
	ht_put(t, buf, &b);
	buf[0] = 'T';
	ok(ht_get(t, "temp") == &b && ht_get(t, "Temp") == NULL, "keys are copied");

	/* Binary keys with NUL bytes are distinct from their prefixes. */
	ok(ht_put_b(t, "a\0b", 3, &a) == NULL, "put_b with an embedded NUL");
	ok(ht_put_b(t, "a\0c", 3, &b) == NULL, "put_b of a key differing after the NUL");
	ok(ht_get_b(t, "a\0b", 3) == &a && ht_get_b(t, "a\0c", 3) == &b,
	   "get_b tells keys apart after the NUL");
	ok(ht_get(t, "a") == NULL, "the prefix before the NUL is another key");
	ok(ht_get_b(t, "orders", 6) == &c, "get_b finds a string key by its length");
	ok(ht_del_b(t, "a\0b", 3) == &a && ht_get_b(t, "a\0b", 3) == NULL, "del_b removes");

	ok(ht_del(t, "orders") == &c, "del returns the value");
	ok(!ht_has(t, "orders"), "a deleted key is gone");
	ok(ht_del(t, "orders") == NULL, "deleting twice finds nothing");
	is_int((long long)ht_len(t), 5, "length after deletes");
	ht_free(t, NULL);

	t = ht_new();
	for (int i = 0; i < 100; i++) {
		char k[32];
		snprintf(k, sizeof(k), "v%d", i);
		ht_put(t, k, xstrdup(k));
	}
	free(ht_put(t, "v7", xstrdup("again")));
	freed = 0;
	ht_free(t, count_free);
	is_int(freed, 100, "ht_free calls the value callback once per key");
	ht_free(NULL, NULL);
}

/* Insertion order, with deletes and re-inserts, and deletion of the
 * current key during iteration. */
static void test_iteration(void)
{
	static const char *const keys[] = { "e", "d", "c", "b", "a", "f" };
	struct ht *t = ht_new();
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		ht_put(t, keys[i], (void *)keys[i]);
	ht_del(t, "c");
	ht_put(t, "c", (void *)"c");
	ht_put(t, "d", (void *)"D");
	ht_del(t, "a");

	struct strbuf sb = SB_INIT;
	struct ht_iter it;
	for (ht_iter(&it, t); ht_next(&it);)
		sb_addf(&sb, "%s=%s/%zu ", it.key, (const char *)it.value, it.len);
	is_str(sb.buf, "e=e/1 d=D/1 b=b/1 f=f/1 c=c/1 ", "iteration follows insertion order");
	ok(!ht_next(&it), "next after the end stays at the end");

	sb_reset(&sb);
	for (ht_iter(&it, t); ht_next(&it);) {
		if (strcmp(it.key, "b") == 0 || strcmp(it.key, "f") == 0)
			ht_del(t, it.key);
		else
			ht_put(t, it.key, (void *)"x");
		sb_addstr(&sb, it.key ? "+" : "-");
	}
	is_str(sb.buf, "+++++", "deleting and updating during iteration visits every entry once");
	sb_reset(&sb);
	for (ht_iter(&it, t); ht_next(&it);)
		sb_addf(&sb, "%s=%s ", it.key, (const char *)it.value);
	is_str(sb.buf, "e=x d=x c=x ", "the changes made during iteration are kept");

	struct ht *empty = ht_new();
	ht_iter(&it, empty);
	ok(!ht_next(&it), "an empty table iterates nothing");
	ht_free(empty, NULL);
	sb_release(&sb);
	ht_free(t, NULL);
}

/* Random puts and deletes over 5000 possible keys, checked against an
 * array indexed by key number, with the load factor checked throughout. */
static void test_random_ops(void)
{
	enum { NKEYS = 5000, NOPS = 200000 };
	static intptr_t model[NKEYS]; /* 0 = absent, else the value */
	static int created[NKEYS];    /* the op that last created the key */
	struct ht *t = ht_new();
	size_t live = 0;
	int mismatches = 0, overloaded = 0;
	char k[32];
	rnd_seed(99);
	for (int op = 0; op < NOPS; op++) {
		int i = (int)rnd_below(NKEYS);
		snprintf(k, sizeof(k), "service-%d", i);
		uint64_t what = rnd_below(10);
		if (what < 6) {
			intptr_t v = op + 1;
			void *old = ht_put(t, k, (void *)v);
			if ((intptr_t)old != model[i])
				mismatches++;
			if (!model[i]) {
				live++;
				created[i] = op;
			}
			model[i] = v;
		} else if (what < 9) {
			void *old = ht_del(t, k);
			if ((intptr_t)old != model[i])
				mismatches++;
			if (model[i])
				live--;
			model[i] = 0;
		} else {
			if ((intptr_t)ht_get(t, k) != model[i])
				mismatches++;
		}
		if (ht_len(t) * 4 > (t->mask + 1) * 3)
			overloaded++;
	}
	is_int(mismatches, 0, "200k random operations agree with the model");
	is_int(overloaded, 0, "the slots never exceed a load factor of 0.75");
	is_int((long long)ht_len(t), (long long)live, "length agrees with the model");
	ok(((t->mask + 1) & t->mask) == 0, "the slot count is a power of two");
	for (int i = 0; i < NKEYS; i++) {
		snprintf(k, sizeof(k), "service-%d", i);
		if ((intptr_t)ht_get(t, k) != model[i] || ht_has(t, k) != (model[i] != 0))
			mismatches++;
	}
	is_int(mismatches, 0, "every key agrees with the model at the end");

	size_t n = 0;
	int prev = -1, in_order = 1, current = 1;
	struct ht_iter it;
	for (ht_iter(&it, t); ht_next(&it); n++) {
		int idx = (int)strtol(it.key + strlen("service-"), NULL, 10);
		if (model[idx] != (intptr_t)it.value)
			current = 0;
		if (created[idx] <= prev)
			in_order = 0;
		prev = created[idx];
	}
	is_int((long long)n, (long long)live, "iteration visits every live key once");
	ok(current, "iteration yields each key with its current value");
	ok(in_order, "iteration follows the order in which keys were created");

	/* Deleting everything leaves an empty, reusable table. */
	for (int i = 0; i < NKEYS; i++) {
		snprintf(k, sizeof(k), "service-%d", i);
		ht_del(t, k);
	}
	is_int((long long)ht_len(t), 0, "deleting every key empties the table");
	ht_iter(&it, t);
	ok(!ht_next(&it), "an emptied table iterates nothing");
	ht_put(t, "again", (void *)1);
	ok(ht_get(t, "again") == (void *)1 && ht_len(t) == 1, "an emptied table is reusable");
	ht_free(t, NULL);
}

/* Probe runs wrap around the end of the slot array and the backward
 * shift must handle that: fill small tables (8 or 16 slots), delete the
 * keys in a scrambled order and check every key after every delete. */
static void test_wrapping_deletes(void)
{
	int bad = 0;
	for (int round = 0; round < 300; round++) {
		struct ht *t = ht_new();
		char k[32];
		int n = 4 + round % 9, gone[16] = { 0 };
		for (int i = 0; i < n; i++) {
			snprintf(k, sizeof(k), "%d.%d", round, i);
			ht_put(t, k, (void *)(intptr_t)(i + 1));
		}
		for (int step = 0; step < n; step++) {
			int victim = (step * 13 + round) % n; /* 13 is prime to n <= 12 */
			snprintf(k, sizeof(k), "%d.%d", round, victim);
			if (ht_del(t, k) != (void *)(intptr_t)(victim + 1))
				bad++;
			gone[victim] = 1;
			for (int i = 0; i < n; i++) {
				snprintf(k, sizeof(k), "%d.%d", round, i);
				if (ht_get(t, k) != (gone[i] ? NULL : (void *)(intptr_t)(i + 1)))
					bad++;
			}
		}
		if (ht_len(t) != 0)
			bad++;
		ht_free(t, NULL);
	}
	is_int(bad, 0, "scrambled deletes in small tables keep every survivor findable");
}

int main(void)
{
	test_values();
	rnd_seed(2026);
	test_avalanche(32, 1000);
	test_avalanche(8, 2000);
	test_avalanche(13, 2000);
	test_avalanche(64, 300);
	test_distribution();
	test_table_basics();
	test_iteration();
	test_random_ops();
	test_wrapping_deletes();
	return tap_done();
}
