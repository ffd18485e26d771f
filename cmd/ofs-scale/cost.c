/*
 * cost.c: what replicas cost, how many the budget pays for, and the
 * cheapest mix of instance types that meets a demand (`size`).
 *
 * The mix is an integer covering problem: counts n_i minimising
 * sum(price_i n_i) with sum_i(cap_ij n_i) >= demand_j for every metric.
 * It is solved exactly by branch and bound. Types that another type
 * dominates (no dearer, no smaller anywhere) are dropped; the rest are
 * ordered by price per unit of (normalised) capacity and branched on in
 * that order, each count tried from "enough on its own" downwards. The
 * bound of a node is the LP relaxation of what is left, read from the
 * vertices of its dual polytope (enumerated once per depth, so a bound
 * costs a few multiplications), plus a bound on the instances still
 * needed; the cost bound is convex in the count being tried, so a depth
 * stops as soon as it rises past the best mix found. Prices are compared
 * as integers (micro-dollars, finer for tiny prices), so equal costs are
 * equal and the tie rules (fewer instances, then catalogue order) hold
 * exactly.
 */
#include "common.h"

#include <math.h>

#include "cost.h"
#include "scale.h"

/* ---- cost and budget ------------------------------------------------- */

static double round_nano(double x)
{
	return round(x * 1e9) / 1e9;
}

double sc_cost_per_hour(const struct sc_policy *p, int replicas)
{
	if (!p || p->instance < 0 || (size_t)p->instance >= p->ncatalogue)
		return -1;
	return round_nano(p->catalogue[p->instance].price_per_hour * replicas);
}

int sc_budget_max(const struct sc_policy *p)
{
	if (!p || p->instance < 0 || (size_t)p->instance >= p->ncatalogue ||
	    p->budget_per_hour <= 0)
		return INT32_MAX;
	double price = p->catalogue[p->instance].price_per_hour;
	if (price <= 0)
		return INT32_MAX;
	/* 0.96 / 0.096 is 9.999...: a budget that pays exactly n pays n */
	double n = floor(p->budget_per_hour / price * (1 + 1e-12));
	return n >= INT32_MAX ? INT32_MAX : (int)n;
}

/* ---- prices as integers ---------------------------------------------- */

/* The units prices are compared in: micro-dollars, or finer when the
 * cheapest price would be too coarse in them, keeping the dearest under
 * 1e9 units an hour. */
static double price_scale(size_t n, const double *price)
{
	double minpos = 0, maxp = 0;
	for (size_t i = 0; i < n; i++) {
		if (price[i] > 0 && (minpos == 0 || price[i] < minpos))
			minpos = price[i];
		if (price[i] > maxp)
			maxp = price[i];
	}
	double scale = 1e6;
	while (scale < 1e12 && minpos * scale < 1e4 && maxp * scale * 10 <= 1e9)
		scale *= 10;
	return scale;
}

static long long int_price(double price, double scale)
{
	return price > 0 ? llround(price * scale) : 0;
}

static int compare_int(size_t n, const long long *P, const long *a, const long *b)
{
	long long ca = 0, cb = 0;
	long na = 0, nb = 0;
	for (size_t i = 0; i < n; i++) {
		ca += P[i] * a[i];
		cb += P[i] * b[i];
		na += a[i];
		nb += b[i];
	}
	if (ca != cb)
		return ca < cb ? -1 : 1;
	if (na != nb)
		return na < nb ? -1 : 1;
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] > b[i] ? -1 : 1;
	return 0;
}

int sc_mix_compare(size_t ntypes, const double *price, const long *a, const long *b)
{
	double scale = price_scale(ntypes, price);
	long long *P = xcalloc(ntypes ? ntypes : 1, sizeof(*P));
	for (size_t i = 0; i < ntypes; i++)
		P[i] = int_price(price[i], scale);
	int r = compare_int(ntypes, P, a, b);
	free(P);
	return r;
}

static double cover_eps(double demand)
{
	return 1e-9 * (demand > 1 ? demand : 1);
}

bool sc_mix_covers(size_t ntypes, size_t nmetrics, const double *cap, const double *demand,
		   const long *counts)
{
	for (size_t j = 0; j < nmetrics; j++) {
		double have = 0;
		for (size_t i = 0; i < ntypes; i++)
			have += cap[i * nmetrics + j] * (double)counts[i];
		if (have < demand[j] - cover_eps(demand[j]))
			return false;
	}
	return true;
}

/* ---- the solver ------------------------------------------------------ */

/* The problem reduced to the useful types (in branching order) and the
 * metrics with a demand. */
struct mix {
	size_t n, m;           /* types, metrics */
	size_t ncat;           /* types in the catalogue */
	size_t *orig;          /* [n]: catalogue index of each type */
	long long *P;          /* [n]: integer prices */
	long long *Pcat;       /* [ncat]: integer prices, catalogue order */
	double *c;             /* [n * m]: capacities */
	double *eps;           /* [m]: what is close enough to met */
	double *maxcap;        /* [(n + 1) * m]: the largest capacity among types k.. */
	double **vert;         /* [n + 1]: dual vertices of types k.., m each */
	size_t *nvert;
	long *cur, *best;      /* [ncat] */
	long long best_cost;
	long best_count;
	bool have;
	long nodes;            /* counts tried, against SC_MIX_MAX_NODES */
};

/* Solve the s x s system a y = b in place (a row-major); 0, or -1 when
 * singular. */
static int solve_small(double *a, double *b, size_t s, double *y)
{
	for (size_t col = 0; col < s; col++) {
		size_t piv = col;
		for (size_t r = col + 1; r < s; r++)
			if (fabs(a[r * s + col]) > fabs(a[piv * s + col]))
				piv = r;
		if (fabs(a[piv * s + col]) < 1e-12)
			return -1;
		if (piv != col) {
			for (size_t k = 0; k < s; k++) {
				double t = a[col * s + k];
				a[col * s + k] = a[piv * s + k];
				a[piv * s + k] = t;
			}
			double t = b[col];
			b[col] = b[piv];
			b[piv] = t;
		}
		for (size_t r = col + 1; r < s; r++) {
			double f = a[r * s + col] / a[col * s + col];
			for (size_t k = col; k < s; k++)
				a[r * s + k] -= f * a[col * s + k];
			b[r] -= f * b[col];
		}
	}
	for (size_t r = s; r-- > 0;) {
		double v = b[r];
		for (size_t k = r + 1; k < s; k++)
			v -= a[r * s + k] * y[k];
		y[r] = v / a[r * s + r];
	}
	return 0;
}

/* The next k-subset of 0..n-1 in idx (lexicographic); false after the last. */
static bool next_comb(size_t *idx, size_t k, size_t n)
{
	size_t i = k;
	while (i-- > 0) {
		if (idx[i] < n - k + i) {
			idx[i]++;
			for (size_t j = i + 1; j < k; j++)
				idx[j] = idx[j - 1] + 1;
			return true;
		}
	}
	return false;
}

/*
 * A dual point y >= 0 with sum_j y_j c_ij <= P_i for every type i >= k
 * gives the bound sum_j y_j r_j on the cost of covering r with those
 * types; the best of the polytope's vertices is the LP relaxation. Try
 * y with support S (s metrics) tight on s types; keep the feasible ones.
 */
static void try_vertex(struct mix *x, size_t k, const size_t *S, const size_t *T, size_t s,
		       size_t *avert)
{
	double a[64], b[8], ys[8];
	for (size_t r = 0; r < s; r++) {
		for (size_t q = 0; q < s; q++)
			a[r * s + q] = x->c[(k + T[r]) * x->m + S[q]];
		b[r] = (double)x->P[k + T[r]];
	}
	if (solve_small(a, b, s, ys) < 0)
		return;
	for (size_t q = 0; q < s; q++) {
		if (ys[q] < -1e-9 * (1 + fabs(ys[q])))
			return;
		if (ys[q] < 0)
			ys[q] = 0;
	}
	double factor = 1;
	for (size_t i = k; i < x->n; i++) {
		double use = 0;
		for (size_t q = 0; q < s; q++)
			use += ys[q] * x->c[i * x->m + S[q]];
		if (use <= (double)x->P[i])
			continue;
		double f = (double)x->P[i] / use;
		if (f < 1 - 1e-9)
			return;
		if (f < factor)
			factor = f;
	}
	ALLOC_GROW(x->vert[k], (x->nvert[k] + 1) * x->m, *avert);
	double *y = x->vert[k] + x->nvert[k] * x->m;
	for (size_t j = 0; j < x->m; j++)
		y[j] = 0;
	for (size_t q = 0; q < s; q++)
		y[S[q]] = ys[q] * factor * (1 - 1e-12);
	x->nvert[k]++;
}

static void dual_vertices(struct mix *x, size_t k)
{
	size_t left = x->n - k, avert = 0;
	/* every support size up to 4 metrics; with more, up to 3 (still valid
	 * bounds, only weaker) so setting up stays instant */
	size_t smax = x->m <= 4 ? x->m : 3;
	if (smax > left)
		smax = left;
	for (size_t s = 1; s <= smax; s++) {
		size_t S[8], T[8];
		for (size_t q = 0; q < s; q++)
			S[q] = q;
		do {
			for (size_t q = 0; q < s; q++)
				T[q] = q;
			do
				try_vertex(x, k, S, T, s, &avert);
			while (next_comb(T, s, left));
		} while (next_comb(S, s, x->m));
	}
}

static double cost_bound(const struct mix *x, size_t k, const double *r)
{
	double lb = 0;
	for (size_t v = 0; v < x->nvert[k]; v++) {
		const double *y = x->vert[k] + v * x->m;
		double s = 0;
		for (size_t j = 0; j < x->m; j++)
			s += y[j] * r[j];
		if (s > lb)
			lb = s;
	}
	return lb;
}

/* Instances types k.. need at least to cover r; -1 when they cannot. */
static long count_bound(const struct mix *x, size_t k, const double *r)
{
	long need = 0;
	for (size_t j = 0; j < x->m; j++) {
		if (r[j] <= x->eps[j])
			continue;
		double mc = x->maxcap[k * x->m + j];
		if (mc <= 0)
			return -1;
		long n = (long)ceil((r[j] - x->eps[j]) / mc);
		if (n > need)
			need = n;
	}
	return need;
}

static bool all_met(const struct mix *x, const double *r)
{
	for (size_t j = 0; j < x->m; j++)
		if (r[j] > x->eps[j])
			return false;
	return true;
}

static void consider(struct mix *x, long long cost, long count)
{
	if (x->have && (cost > x->best_cost || (cost == x->best_cost && count > x->best_count)))
		return;
	if (x->have && cost == x->best_cost && count == x->best_count &&
	    compare_int(x->ncat, x->Pcat, x->cur, x->best) >= 0)
		return;
	memcpy(x->best, x->cur, x->ncat * sizeof(*x->cur));
	x->best_cost = cost;
	x->best_count = count;
	x->have = true;
}

/* Whether a subtree whose cost is at least lb and whose instances are at
 * least cnt can hold nothing better than the best mix. */
static double bound_err(double lb)
{
	return 1e-12 * (lb > 1 ? lb : 1) + 1e-9;
}

/* Whether a subtree whose cost is at least lb costs more than the best. */
static bool dearer(const struct mix *x, double lb)
{
	return x->have && lb - bound_err(lb) > (double)x->best_cost;
}

static bool hopeless(const struct mix *x, double lb, long cnt)
{
	if (!x->have)
		return false;
	double err = bound_err(lb);
	if (lb - err > (double)x->best_cost)
		return true;
	/* no cheaper mix in there, and none with as few instances */
	return lb - err > (double)x->best_cost - 1 && cnt > x->best_count;
}

/* One count n of type k at a node: the residual demand into r2, the
 * cost so far into *c2, and the bound on the best mix below (convex in
 * n; INFINITY when the later types cannot meet r2). *cnt gets the
 * instances still needed below, -1 when r2 is met. */
struct node {
	struct mix *x;
	size_t k;
	long long cost;
	const double *r;
	double *r2;
};

static double try_count(const struct node *nd, long n, long long *c2, long *cnt)
{
	struct mix *x = nd->x;
	x->nodes++;
	const double *ck = x->c + nd->k * x->m;
	for (size_t j = 0; j < x->m; j++) {
		nd->r2[j] = nd->r[j] - ck[j] * (double)n;
		if (nd->r2[j] < 0)
			nd->r2[j] = 0;
	}
	*c2 = nd->cost + x->P[nd->k] * n;
	if (all_met(x, nd->r2)) {
		*cnt = -1;
		return (double)*c2;
	}
	*cnt = count_bound(x, nd->k + 1, nd->r2);
	if (*cnt < 0)
		return INFINITY;
	return (double)*c2 + cost_bound(x, nd->k + 1, nd->r2);
}

static double bound_at(const struct node *nd, long n)
{
	long long c2;
	long cnt;
	return try_count(nd, n, &c2, &cnt);
}

/* The count of type k with the least bound (the bound is convex in n). */
static long best_count(const struct node *nd, long hi)
{
	long lo = 0, top = hi;
	while (lo < top) {
		long mid = lo + (top - lo) / 2;
		double a = bound_at(nd, mid), b = bound_at(nd, mid + 1);
		if (!isinf(a) && b >= a)
			top = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void branch(struct mix *x, size_t k, long long cost, long count, const double *r);

/* Try n of type k; returns its bound. */
static double visit(const struct node *nd, long count, long n)
{
	struct mix *x = nd->x;
	long long c2;
	long cnt;
	double lb = try_count(nd, n, &c2, &cnt);
	if (isinf(lb))
		return lb;
	x->cur[x->orig[nd->k]] = n;
	if (cnt < 0)
		consider(x, c2, count + n);
	else if (!hopeless(x, lb, count + n + cnt))
		branch(x, nd->k + 1, c2, count + n, nd->r2);
	x->cur[x->orig[nd->k]] = 0;
	return lb;
}

/*
 * Counts of type k are tried from the one with the least bound outwards,
 * the side with the smaller bound first, so the first dive follows the
 * LP and finds a good mix early; a side ends where its bound passes the
 * best mix found (convexity: further only costs more) or the later types
 * can no longer meet the rest.
 */
static void branch(struct mix *x, size_t k, long long cost, long count, const double *r)
{
	if (all_met(x, r)) {
		consider(x, cost, count);
		return;
	}
	if (k == x->n || count_bound(x, k, r) < 0 || x->nodes >= SC_MIX_MAX_NODES)
		return;
	const double *ck = x->c + k * x->m;
	long hi = 0;
	for (size_t j = 0; j < x->m; j++) {
		if (r[j] <= x->eps[j] || ck[j] <= 0)
			continue;
		long n = (long)ceil((r[j] - x->eps[j]) / ck[j]);
		if (n > hi)
			hi = n;
	}
	struct node nd = { x, k, cost, r, xmalloc(x->m * sizeof(double)) };
	long mid = best_count(&nd, hi);
	visit(&nd, count, mid);
	long down = mid - 1, up = mid + 1;
	double fdown = down >= 0 ? bound_at(&nd, down) : INFINITY;
	double fup = up <= hi ? bound_at(&nd, up) : INFINITY;
	for (;;) {
		bool dead_down = isinf(fdown) || dearer(x, fdown);
		bool dead_up = isinf(fup) || dearer(x, fup);
		if ((dead_down && dead_up) || x->nodes >= SC_MIX_MAX_NODES)
			break;
		if (!dead_down && (dead_up || fdown <= fup)) {
			visit(&nd, count, down);
			down--;
			fdown = down >= 0 ? bound_at(&nd, down) : INFINITY;
		} else {
			visit(&nd, count, up);
			up++;
			fup = up <= hi ? bound_at(&nd, up) : INFINITY;
		}
	}
	free(nd.r2);
}

/* Whether type t makes type i useless: never dearer, never smaller, and
 * cheaper or listed first (so swapping i for t only improves a mix). */
static bool dominates(const struct mix *x, const double *cap, size_t nmetrics,
		      const size_t *act, size_t t, size_t i)
{
	if (x->Pcat[t] > x->Pcat[i])
		return false;
	for (size_t q = 0; q < x->m; q++)
		if (cap[t * nmetrics + act[q]] < cap[i * nmetrics + act[q]])
			return false;
	return x->Pcat[t] < x->Pcat[i] || t < i;
}

struct order {
	double eff, size;
	size_t idx;
};

static int by_efficiency(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	if (x->eff != y->eff)
		return x->eff < y->eff ? -1 : 1;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void mix_setup(struct mix *x, size_t ntypes, size_t nmetrics, const double *price,
		      const double *cap, const double *demand, const size_t *act)
{
	double scale = price_scale(ntypes, price);
	x->ncat = ntypes;
	x->Pcat = xcalloc(ntypes, sizeof(*x->Pcat));
	for (size_t i = 0; i < ntypes; i++)
		x->Pcat[i] = int_price(price[i], scale);
	struct order *ord = xcalloc(ntypes, sizeof(*ord));
	for (size_t i = 0; i < ntypes; i++) {
		double size = 0;
		for (size_t q = 0; q < x->m; q++)
			size += cap[i * nmetrics + act[q]] / demand[act[q]];
		if (size <= 0)
			continue;
		bool dominated = false;
		for (size_t t = 0; t < ntypes && !dominated; t++)
			dominated = t != i && dominates(x, cap, nmetrics, act, t, i);
		if (dominated)
			continue;
		ord[x->n].eff = (double)x->Pcat[i] / size;
		ord[x->n].size = size;
		ord[x->n].idx = i;
		x->n++;
	}
	qsort(ord, x->n, sizeof(*ord), by_efficiency);
	x->orig = xcalloc(x->n + 1, sizeof(*x->orig));
	x->P = xcalloc(x->n + 1, sizeof(*x->P));
	x->c = xcalloc((x->n + 1) * x->m, sizeof(*x->c));
	for (size_t k = 0; k < x->n; k++) {
		x->orig[k] = ord[k].idx;
		x->P[k] = x->Pcat[ord[k].idx];
		for (size_t q = 0; q < x->m; q++)
			x->c[k * x->m + q] = cap[ord[k].idx * nmetrics + act[q]];
	}
	free(ord);
	x->maxcap = xcalloc((x->n + 1) * x->m, sizeof(*x->maxcap));
	for (size_t k = x->n; k-- > 0;)
		for (size_t q = 0; q < x->m; q++) {
			double a = x->c[k * x->m + q], b = x->maxcap[(k + 1) * x->m + q];
			x->maxcap[k * x->m + q] = a > b ? a : b;
		}
	x->vert = xcalloc(x->n + 1, sizeof(*x->vert));
	x->nvert = xcalloc(x->n + 1, sizeof(*x->nvert));
	for (size_t k = 0; k < x->n; k++)
		dual_vertices(x, k);
	x->cur = xcalloc(ntypes, sizeof(*x->cur));
	x->best = xcalloc(ntypes, sizeof(*x->best));
}

static void mix_release(struct mix *x)
{
	for (size_t k = 0; k <= x->n; k++)
		free(x->vert[k]);
	free(x->vert);
	free(x->nvert);
	free(x->orig);
	free(x->P);
	free(x->Pcat);
	free(x->c);
	free(x->eps);
	free(x->maxcap);
	free(x->cur);
	free(x->best);
}

int sc_mix_solve(size_t ntypes, size_t nmetrics, const double *price, const double *cap,
		 const double *demand, long *counts, size_t *unserved)
{
	for (size_t i = 0; i < ntypes; i++)
		counts[i] = 0;
	size_t *act = xcalloc(nmetrics + 1, sizeof(*act));
	struct mix x = { 0 };
	for (size_t j = 0; j < nmetrics; j++) {
		if (!(demand[j] > 0))
			continue;
		bool served = false;
		for (size_t i = 0; i < ntypes && !served; i++)
			served = cap[i * nmetrics + j] > 0;
		if (!served) {
			if (unserved)
				*unserved = j;
			free(act);
			return -1;
		}
		act[x.m++] = j;
	}
	if (!x.m || !ntypes) {
		free(act);
		return 0;
	}
	x.eps = xcalloc(x.m, sizeof(*x.eps));
	double *r = xcalloc(x.m, sizeof(*r));
	for (size_t q = 0; q < x.m; q++) {
		r[q] = demand[act[q]];
		x.eps[q] = cover_eps(r[q]);
	}
	mix_setup(&x, ntypes, nmetrics, price, cap, demand, act);
	branch(&x, 0, 0, 0, r);
	if (x.have)
		memcpy(counts, x.best, ntypes * sizeof(*counts));
	int rc = x.nodes >= SC_MIX_MAX_NODES ? 1 : 0;
	free(r);
	free(act);
	mix_release(&x);
	return rc;
}
