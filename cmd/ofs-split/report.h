/*
 * report.h: what `ofs-split report` shares between its files: the
 * figures gathered per endpoint from split.compare records (report.c),
 * the verdict reached on them (report.c), and the writers of the
 * split.report and split.verdict records and of the text table
 * (report_out.c).
 */
#ifndef OFS_SPLIT_REPORT_H
#define OFS_SPLIT_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "sketch.h"
#include "strbuf.h"

/* Latencies kept exactly per endpoint and side; past this many values
 * the percentiles come from the sketch (1 % relative error). */
#define REPORT_EXACT_MAX 100000
/* How many differing field pointers a split.report lists. */
#define REPORT_TOP_FIELDS 5

enum { REPORT_PRIMARY, REPORT_CANDIDATE };

/* The latencies of one side of one endpoint. */
struct report_lat {
	struct sketch *sk; /* every value */
	double *v;         /* every value too while exact; NULL after */
	size_t n, alloc;
	bool exact;        /* v holds all the values */
	double p50, p99;   /* filled by report_judge (ms, rounded to 1 us; NaN: none) */
};

struct report_field {
	const char *pointer; /* owned by the endpoint's table */
	uint64_t count;
};

/* The figures and verdict of one endpoint. */
struct report_ep {
	char *name;
	uint64_t requests, matched, mismatched, ignored, skipped, failed;
	uint64_t sent, errors, primary_errors;
	struct report_lat lat[2];
	struct ht *fields; /* pointer -> count (uintptr_t) */
	/* filled by report_judge */
	uint64_t compared;
	double mismatch_rate, error_rate, p99_ratio; /* NaN: no denominator */
	struct report_field top[REPORT_TOP_FIELDS];
	size_t ntop;
	bool go;
	char **reasons;
	size_t nreasons, areasons;
};

/* The thresholds (from the options) and the figures of one run. */
struct report {
	double max_mismatch;      /* percent */
	double max_errors;        /* percent */
	double max_latency_ratio; /* 0: not checked */
	uint64_t min_requests;
	bool text;

	struct ht *eps;         /* name -> struct report_ep * */
	struct report_ep **sorted; /* by name, after report_judge */
	size_t nsorted;

	/* totals, after report_judge */
	struct report_ep total; /* counts and rates only; name NULL */
	bool go;
	char **reasons; /* "ENDPOINT: reason", or "no compared requests" */
	size_t nreasons, areasons;
};

/*
 * report_num: append v with at most decimals digits after the point and
 * no trailing zeros ("12.5", "1", "0.07"); a value that is not zero is
 * never written as "0" (more digits are used, up to six). When above is
 * not NaN, v is meant to be shown as greater than it, so digits are also
 * added (up to six) while both would read the same ("1.004" against "1").
 */
void report_num(struct strbuf *sb, double v, int decimals, double above);

/* report_write_jsonl / report_write_text: the output of a judged run on
 * stdout. Write errors end the process (out.h). */
void report_write_jsonl(const struct report *rep);
void report_write_text(const struct report *rep);

#endif
