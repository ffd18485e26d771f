/*
 * report_out.c: what `ofs-split report` writes once the figures are
 * judged (report.c): one split.report record per endpoint, by name, and
 * a split.verdict record last (JSON Lines, the default and the contract);
 * or, with -o text, an aligned table for people with the verdict on the
 * last line. Numbers in reasons and in the table go through report_num,
 * so "12.5% > 1%" never reads as "1% > 1%" through rounding.
 */
#include "common.h"
#include <math.h>

#include "jw.h"
#include "out.h"
#include "record.h"
#include "report.h"

/* ---- numbers ----------------------------------------------------------- */

/* v with d decimals, trailing zeros and a bare point dropped. */
static void fixed(char *buf, size_t n, double v, int d)
{
	snprintf(buf, n, "%.*f", d, v);
	if (strchr(buf, '.')) {
		size_t len = strlen(buf);
		while (buf[len - 1] == '0')
			buf[--len] = '\0';
		if (buf[len - 1] == '.')
			buf[--len] = '\0';
	}
	if (!strcmp(buf, "-0"))
		memmove(buf, buf + 1, 2);
}

void report_num(struct strbuf *sb, double v, int decimals, double above)
{
	char a[400], b[400];
	if (!isfinite(v)) {
		sb_addch(sb, '-');
		return;
	}
	int d = decimals;
	for (;;) {
		fixed(a, sizeof(a), v, d);
		bool more = v != 0 && !strcmp(a, "0");
		if (!more && !isnan(above)) {
			fixed(b, sizeof(b), above, d);
			more = !strcmp(a, b);
		}
		if (!more || d >= 6)
			break;
		d++;
	}
	sb_addstr(sb, a);
}

/* ---- JSON Lines ---------------------------------------------------------- */

static void write_counts(struct jw *w, const struct report_ep *e)
{
	jw_kv_int(w, "requests", (int64_t)e->requests);
	jw_kv_int(w, "compared", (int64_t)e->compared);
	jw_kv_int(w, "matched", (int64_t)e->matched);
	jw_kv_int(w, "mismatched", (int64_t)e->mismatched);
	jw_kv_int(w, "ignored", (int64_t)e->ignored);
	jw_kv_int(w, "skipped", (int64_t)e->skipped);
	jw_kv_int(w, "failed", (int64_t)e->failed);
	jw_kv_int(w, "sent", (int64_t)e->sent);
	jw_kv_int(w, "errors", (int64_t)e->errors);
	jw_kv_int(w, "primary_errors", (int64_t)e->primary_errors);
	jw_kv_double(w, "mismatch_rate", e->mismatch_rate);
	jw_kv_double(w, "error_rate", e->error_rate);
}

static void write_strings(struct jw *w, const char *key, char *const *list, size_t n)
{
	jw_key(w, key);
	jw_arr_begin(w);
	for (size_t i = 0; i < n; i++)
		jw_str(w, list[i]);
	jw_arr_end(w);
}

void report_write_jsonl(const struct report *rep)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	struct out *o = out_stdout();
	jw_init(&w, &sb);
	for (size_t i = 0; i < rep->nsorted; i++) {
		const struct report_ep *e = rep->sorted[i];
		rec_begin(&w, "split.report");
		jw_kv_str(&w, "endpoint", e->name);
		write_counts(&w, e);
		jw_kv_double(&w, "primary_p50_ms", e->lat[REPORT_PRIMARY].p50);
		jw_kv_double(&w, "primary_p99_ms", e->lat[REPORT_PRIMARY].p99);
		jw_kv_double(&w, "candidate_p50_ms", e->lat[REPORT_CANDIDATE].p50);
		jw_kv_double(&w, "candidate_p99_ms", e->lat[REPORT_CANDIDATE].p99);
		jw_kv_double(&w, "p99_ratio", e->p99_ratio);
		jw_kv_bool(&w, "percentiles_exact",
			   e->lat[REPORT_PRIMARY].exact && e->lat[REPORT_CANDIDATE].exact);
		jw_key(&w, "fields");
		jw_arr_begin(&w);
		for (size_t k = 0; k < e->ntop; k++) {
			jw_obj_begin(&w);
			jw_kv_str(&w, "pointer", e->top[k].pointer);
			jw_kv_int(&w, "count", (int64_t)e->top[k].count);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_kv_str(&w, "verdict", e->go ? "go" : "no-go");
		write_strings(&w, "reasons", e->reasons, e->nreasons);
		rec_end(&w, o);
	}
	rec_begin(&w, "split.verdict");
	jw_kv_str(&w, "verdict", rep->go ? "go" : "no-go");
	jw_kv_int(&w, "endpoints", (int64_t)rep->nsorted);
	jw_key(&w, "no_go");
	jw_arr_begin(&w);
	for (size_t i = 0; i < rep->nsorted; i++)
		if (!rep->sorted[i]->go)
			jw_str(&w, rep->sorted[i]->name);
	jw_arr_end(&w);
	write_strings(&w, "reasons", rep->reasons, rep->nreasons);
	write_counts(&w, &rep->total);
	jw_key(&w, "thresholds");
	jw_obj_begin(&w);
	jw_kv_double(&w, "max_mismatch_rate", rep->max_mismatch / 100.0);
	jw_kv_double(&w, "max_error_rate", rep->max_errors / 100.0);
	jw_kv_double(&w, "max_latency_ratio",
		     rep->max_latency_ratio > 0 ? rep->max_latency_ratio : NAN);
	jw_kv_int(&w, "min_requests", (int64_t)rep->min_requests);
	jw_obj_end(&w);
	rec_end(&w, o);
	sb_release(&sb);
}

/* ---- text ------------------------------------------------------------- */

enum { COLS = 8 };

static const char *const heads[COLS] = { "ENDPOINT", "REQUESTS", "COMPARED", "MISMATCH",
					 "ERRORS",   "P50 MS",   "P99 MS",   "VERDICT" };
/* Numbers are right-aligned; the endpoint, latencies and verdict left. */
static const bool right[COLS] = { false, true, true, true, true, false, false, false };

/* Display width: code points, not bytes (the arrow is three bytes). */
static size_t width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* A table cell: control characters (which would break the layout) as '?'. */
static char *cell(const char *s)
{
	char *c = xstrdup(s);
	for (char *p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

static char *cell_count(uint64_t v)
{
	return xasprintf("%" PRIu64, v);
}

static char *cell_pct(double rate)
{
	struct strbuf sb = SB_INIT;
	if (isnan(rate)) {
		sb_addch(&sb, '-');
	} else {
		report_num(&sb, rate * 100.0, 2, NAN);
		sb_addch(&sb, '%');
	}
	return sb_detach(&sb, NULL);
}

static char *cell_lat(double primary, double candidate)
{
	struct strbuf sb = SB_INIT;
	report_num(&sb, primary, 3, NAN);
	sb_addstr(&sb, "\xe2\x86\x92" /* U+2192, the arrow */);
	report_num(&sb, candidate, 3, NAN);
	return sb_detach(&sb, NULL);
}

static void pad(struct strbuf *sb, size_t n)
{
	while (n--)
		sb_addch(sb, ' ');
}

void report_write_text(const struct report *rep)
{
	size_t rows = rep->nsorted + 1;
	char **cells = xcalloc(rows * COLS, sizeof(*cells));
	size_t w[COLS] = { 0 };
	for (int c = 0; c < COLS; c++)
		cells[c] = xstrdup(heads[c]);
	for (size_t i = 0; i < rep->nsorted; i++) {
		const struct report_ep *e = rep->sorted[i];
		char **row = cells + (i + 1) * COLS;
		row[0] = cell(e->name);
		row[1] = cell_count(e->requests);
		row[2] = cell_count(e->compared);
		row[3] = cell_pct(e->mismatch_rate);
		row[4] = cell_pct(e->error_rate);
		row[5] = cell_lat(e->lat[REPORT_PRIMARY].p50, e->lat[REPORT_CANDIDATE].p50);
		row[6] = cell_lat(e->lat[REPORT_PRIMARY].p99, e->lat[REPORT_CANDIDATE].p99);
		row[7] = xstrdup(e->go ? "go" : "no-go");
	}
	for (size_t r = 0; r < rows; r++)
		for (int c = 0; c < COLS; c++) {
			size_t n = width(cells[r * COLS + c]);
			if (n > w[c])
				w[c] = n;
		}
	struct strbuf sb = SB_INIT;
	struct out *o = out_stdout();
	/* The table only when there is something in it. */
	for (size_t r = 0; r < rows && rep->nsorted; r++) {
		for (int c = 0; c < COLS; c++) {
			const char *s = cells[r * COLS + c];
			size_t gap = w[c] - width(s);
			if (c)
				sb_addstr(&sb, "  ");
			if (right[c])
				pad(&sb, gap);
			sb_addstr(&sb, s);
			if (!right[c] && c < COLS - 1)
				pad(&sb, gap);
		}
		sb_addch(&sb, '\n');
		out_write(o, sb.buf, sb.len);
		sb_reset(&sb);
	}
	if (rep->go) {
		sb_addstr(&sb, "GO\n");
	} else {
		sb_addstr(&sb, "NO-GO:");
		for (size_t i = 0; i < rep->nreasons; i++) {
			char *c = cell(rep->reasons[i]);
			sb_addstr(&sb, i ? "; " : " ");
			sb_addstr(&sb, c);
			free(c);
		}
		sb_addch(&sb, '\n');
	}
	out_write(o, sb.buf, sb.len);
	sb_release(&sb);
	for (size_t i = 0; i < rows * COLS; i++)
		free(cells[i]);
	free(cells);
}
