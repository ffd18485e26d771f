/*
 * test_scale_mix.c: unit tests for ofs-scale's cost.c: the cheapest mix
 * of instance types against a brute-force optimum over every count
 * vector, on many small random catalogues (fixed seed; 1-4 types, 1-3
 * metrics, prices drawn from a few cents so ties are common), hand
 * cases for the tie rules and infeasibility, large catalogues that must
 * still be solved (checked against the LP bound's neighbourhood: met,
 * and no dearer than the best single type), and the cost and budget
 * helpers.
 */
#include "common.h"
#include <math.h>

#include "../../cmd/ofs-scale/cost.h"
#include "../../cmd/ofs-scale/scale.h"
#include "tap.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static double mix_cost(size_t n, const double *price, const long *c)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += price[i] * (double)c[i];
	return s;
}

/* The best mix by trying every count vector up to what each type needs
 * alone; -1 when nothing covers. */
static int brute(size_t n, size_t m, const double *price, const double *cap, const double *dem,
		 long *best)
{
	long ub[8], cur[8] = { 0 };
	for (size_t i = 0; i < n; i++) {
		ub[i] = 0;
		for (size_t j = 0; j < m; j++)
			if (cap[i * m + j] > 0) {
				long k = (long)ceil(dem[j] / cap[i * m + j]);
				if (k > ub[i])
					ub[i] = k;
			}
	}
	bool have = false;
	for (;;) {
		if (sc_mix_covers(n, m, cap, dem, cur) &&
		    (!have || sc_mix_compare(n, price, cur, best) < 0)) {
			memcpy(best, cur, n * sizeof(*cur));
			have = true;
		}
		size_t i = 0;
		while (i < n && cur[i] == ub[i])
			cur[i++] = 0;
		if (i == n)
			break;
		cur[i]++;
	}
	return have ? 0 : -1;
}

static void fmt_counts(char *buf, size_t len, size_t n, const long *c)
{
	size_t off = 0;
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%ld", i ? "," : "", c[i]);
}

static void test_random(void)
{
	int agree = 0, total = 0;
	for (int t = 0; t < 600; t++) {
		size_t n = 1 + rnd(4), m = 1 + rnd(3);
		double price[8], cap[32], dem[4];
		for (size_t i = 0; i < n; i++) {
			price[i] = (double)(5 + rnd(20)) / 100; /* 0.05 .. 0.24: many ties */
			for (size_t j = 0; j < m; j++)
				cap[i * m + j] = rnd(4) ? (double)(1 + rnd(6)) : 0;
		}
		for (size_t j = 0; j < m; j++)
			dem[j] = rnd(5) ? (double)rnd(16) : 0;
		long want[8] = { 0 }, got[8] = { 0 };
		size_t unserved = 99;
		int rb = brute(n, m, price, cap, dem, want);
		int rs = sc_mix_solve(n, m, price, cap, dem, got, &unserved);
		total++;
		if (rb == rs && (rs < 0 || !memcmp(want, got, n * sizeof(*got)))) {
			agree++;
			continue;
		}
		char w[64], g[64];
		fmt_counts(w, sizeof(w), n, want);
		fmt_counts(g, sizeof(g), n, got);
		diag("case %d: %zu types, %zu metrics: brute %d [%s], solver %d [%s]", t, n, m, rb,
		     w, rs, g);
	}
	is_int(agree, total, "random catalogues: solver equals brute force");
}

static const struct {
	const char *name;
	size_t n, m;
	double price[4];
	double cap[12];
	double dem[3];
	int rc;
	long want[4];
} hand[] = {
	/* one family, price proportional to size: as cheap either way, so
	 * the fewest instances */
	{ "family 14400", 3, 1, { 0.096, 0.192, 0.384 }, { 200, 400, 800 }, { 14400 }, 0,
	  { 0, 0, 18 } },
	{ "family 1000", 3, 1, { 0.096, 0.192, 0.384 }, { 200, 400, 800 }, { 1000 }, 0,
	  { 1, 0, 1 } },
	{ "family 12000 x 1.2", 3, 1, { 0.096, 0.192, 0.384 }, { 200, 400, 800 },
	  { 12000 * 1.2 }, 0, { 0, 0, 18 } },
	/* identical types: the one listed first */
	{ "twins", 2, 1, { 0.1, 0.1 }, { 100, 100 }, { 250 }, 0, { 3, 0 } },
	/* equal cost: fewer instances */
	{ "fewer instances", 2, 1, { 0.2, 0.1 }, { 200, 100 }, { 300 }, 0, { 1, 1 } },
	/* a balanced type beats a mix of skewed ones */
	{ "two metrics", 3, 2, { 0.192, 0.17, 0.252 }, { 200, 200, 400, 100, 100, 400 },
	  { 800, 800 }, 0, { 4, 0, 0 } },
	/* the cheapest per unit is not the answer when it overshoots */
	{ "overshoot", 2, 1, { 1.0, 0.6 }, { 10, 5 }, { 15 }, 0, { 1, 1 } },
	{ "zero demand", 2, 2, { 0.1, 0.2 }, { 1, 0, 0, 1 }, { 0, 0 }, 0, { 0, 0 } },
	{ "unserved metric", 2, 2, { 0.1, 0.2 }, { 1, 0, 2, 0 }, { 5, 3 }, -1, { 0, 0 } },
	{ "unserved at zero", 2, 2, { 0.1, 0.2 }, { 1, 0, 2, 0 }, { 5, 0 }, 0, { 1, 2 } },
	{ "free type", 2, 1, { 0, 0.1 }, { 1, 100 }, { 10 }, 0, { 10, 0 } },
};

static void test_hand(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(hand); i++) {
		long got[4] = { -1, -1, -1, -1 };
		size_t unserved = 99;
		int rc = sc_mix_solve(hand[i].n, hand[i].m, hand[i].price, hand[i].cap, hand[i].dem,
				      got, &unserved);
		char w[64], g[64], name[128];
		fmt_counts(w, sizeof(w), hand[i].n, hand[i].want);
		fmt_counts(g, sizeof(g), hand[i].n, got);
		snprintf(name, sizeof(name), "%s: rc", hand[i].name);
		is_int(rc, hand[i].rc, name);
		snprintf(name, sizeof(name), "%s: counts", hand[i].name);
		is_str(g, w, name);
		if (hand[i].rc < 0)
			is_int((long long)unserved, 1, "unserved: the metric no type serves");
	}
}

/* Larger problems the brute force cannot check: met, and no dearer than
 * covering with any one type alone. */
static void test_large(void)
{
	int good = 0;
	for (int t = 0; t < 20; t++) {
		size_t n = 20, m = 1 + (size_t)(t % 3);
		double price[20], cap[60], dem[3];
		for (size_t i = 0; i < n; i++) {
			double size = (double)(1 << rnd(5));
			price[i] = 0.05 * size * (0.9 + (double)rnd(20) / 100);
			for (size_t j = 0; j < m; j++)
				cap[i * m + j] = size * (50 + rnd(200));
		}
		for (size_t j = 0; j < m; j++)
			dem[j] = 100000 + rnd(900000); /* thousands of the small types */
		long got[20];
		if (sc_mix_solve(n, m, price, cap, dem, got, NULL) < 0 ||
		    !sc_mix_covers(n, m, cap, dem, got))
			continue;
		bool cheap = true;
		for (size_t i = 0; i < n; i++) {
			long alone[20] = { 0 };
			for (size_t j = 0; j < m; j++) {
				long k = (long)ceil(dem[j] / cap[i * m + j]);
				if (k > alone[i])
					alone[i] = k;
			}
			if (mix_cost(n, price, alone) < mix_cost(n, price, got) - 1e-9)
				cheap = false;
		}
		good += cheap;
	}
	is_int(good, 20, "20 types, demands of thousands of instances: met and cheap");
}

static void test_cost(void)
{
	char *capn[] = { (char *)"cpu" };
	double capv[] = { 200 };
	struct sc_instance_type it[] = {
		{ (char *)"m5.large", 0.096, capn, capv, 1 },
		{ (char *)"m5.xlarge", 0.192, capn, capv, 1 },
	};
	struct sc_policy p;
	memset(&p, 0, sizeof(p));
	p.catalogue = it;
	p.ncatalogue = 2;
	p.instance = -1;
	is_double(sc_cost_per_hour(&p, 3), -1, 0, "no instance type: -1");
	is_int(sc_budget_max(&p), INT32_MAX, "no instance type: no cap");
	p.instance = 0;
	is_double(sc_cost_per_hour(&p, 7), 0.672, 0, "7 x 0.096 is 0.672 exactly");
	is_double(sc_cost_per_hour(&p, 0), 0, 0, "0 replicas cost nothing");
	is_int(sc_budget_max(&p), INT32_MAX, "no budget: no cap");
	p.budget_per_hour = 5;
	is_int(sc_budget_max(&p), 52, "5/h buys 52 at 0.096");
	p.budget_per_hour = 0.96;
	is_int(sc_budget_max(&p), 10, "0.96/h buys exactly 10");
	p.instance = 1;
	is_int(sc_budget_max(&p), 5, "0.96/h buys 5 at 0.192");
	p.budget_per_hour = 0.1;
	is_int(sc_budget_max(&p), 0, "a budget below one replica buys none");
}

static void test_compare(void)
{
	double price[] = { 0.1, 0.2, 0.3 };
	long a[] = { 3, 0, 0 }, b[] = { 1, 1, 0 }, c[] = { 0, 0, 1 }, d[] = { 1, 0, 0 };
	ok(sc_mix_compare(3, price, d, a) < 0, "cheaper wins");
	ok(sc_mix_compare(3, price, c, b) < 0, "same cost (0.1+0.2 = 0.3): fewer instances");
	ok(sc_mix_compare(3, price, b, a) < 0, "same cost: 2 instances before 3");
	ok(sc_mix_compare(3, price, a, a) == 0, "equal");
	double twin[] = { 0.1, 0.1 };
	long e[] = { 1, 0 }, f[] = { 0, 1 };
	ok(sc_mix_compare(2, twin, e, f) < 0, "all equal: the earlier type");
}

int main(void)
{
	test_compare();
	test_hand();
	test_random();
	test_large();
	test_cost();
	return tap_done();
}
