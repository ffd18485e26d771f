/*
 * convert.c: `ofs-trace convert --to FORMAT`, spans from any of the three
 * formats (mixed freely) rewritten in one: native records one per line,
 * OTLP TracesData objects (the collector's file-exporter form) or Zipkin
 * v2 arrays, each line a batch of up to CONVERT_BATCH spans. Streaming:
 * at most one batch is held in memory.
 */
#include "common.h"

#include "jw.h"
#include "out.h"
#include "strbuf.h"
#include "trace.h"
#include "traces.h"

#define CONVERT_BATCH 512

enum { CV_TO = 1000, CV_STRICT };

const struct opt convert_opts[] = {
	{ 'o', 'o', "output", "file", "write to file (.gz: compressed)", "@file", 0 },
	{ CV_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ CV_TO, 0, "to", "format", "native, otlp or zipkin (required)", "native otlp zipkin", 0 },
	{ 0 },
};

struct convert_run {
	enum span_format to;
	struct out *o;
	struct strbuf sb;
	struct span batch[CONVERT_BATCH];
	size_t n;
};

static void flush_batch(struct convert_run *r)
{
	if (!r->n)
		return;
	const struct span *ptrs[CONVERT_BATCH];
	for (size_t i = 0; i < r->n; i++)
		ptrs[i] = &r->batch[i];
	struct jw w;
	jw_init(&w, &r->sb);
	if (r->to == SPAN_FMT_OTLP)
		span_write_otlp(&w, ptrs, r->n);
	else
		span_write_zipkin(&w, ptrs, r->n);
	out_record(r->o, &r->sb);
	for (size_t i = 0; i < r->n; i++)
		span_release(&r->batch[i]);
	r->n = 0;
}

static void convert_span(struct span *s, void *ctx)
{
	struct convert_run *r = ctx;
	if (r->to == SPAN_FMT_NATIVE) {
		struct jw w;
		jw_init(&w, &r->sb);
		span_write_native(&w, s);
		out_record(r->o, &r->sb);
		return;
	}
	span_copy(&r->batch[r->n++], s);
	if (r->n == CONVERT_BATCH)
		flush_batch(r);
}

int cmd_convert(int argc, char **argv)
{
	struct opt_parser p;
	const char *outfile = NULL;
	bool strict = false, have_to = false;
	struct convert_run *r = xcalloc(1, sizeof(*r));
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'o':
			outfile = p.arg;
			break;
		case CV_STRICT:
			strict = true;
			break;
		case CV_TO:
			have_to = true;
			if (!strcmp(p.arg, "native"))
				r->to = SPAN_FMT_NATIVE;
			else if (!strcmp(p.arg, "otlp"))
				r->to = SPAN_FMT_OTLP;
			else if (!strcmp(p.arg, "zipkin"))
				r->to = SPAN_FMT_ZIPKIN;
			else
				opt_usage_error(&p, "--to: unknown format '%s' (want native, otlp or zipkin)",
						p.arg);
			break;
		default:
			break;
		}
	}
	if (!have_to)
		opt_usage_error(&p, "--to is required");
	char **files;
	int nfiles = opt_operands(&p, &files);
	sb_init(&r->sb, 0);
	r->o = out_open(outfile);
	int rc = traces_each_span(files, nfiles, strict, convert_span, r);
	opt_end(&p);
	flush_batch(r);
	out_close(r->o);
	sb_release(&r->sb);
	free(r);
	return traces_status(rc);
}
