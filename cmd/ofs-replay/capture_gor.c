/*
 * capture_gor.c: GoReplay files into replay.exchange records. Records
 * are split at the separator lines, parsed by libcommon/goreplay.c and
 * held in a window (a FIFO of ids seen in the last GOR_WINDOW records)
 * until the three parts of an exchange are together or the window has
 * passed them, so memory is bounded by the window, not by the file.
 */
#include "common.h"

#include "capture_gor.h"
#include "goreplay.h"
#include "sig.h"

struct pend {
	char id[GOR_MAX_ID + 1];
	size_t first;     /* index of the first record seen for this id */
	struct gor_record part[3]; /* request, response, replayed */
	bool have[3];
	size_t line[3];   /* first line of each part */
};

struct gor_state {
	struct cap_ctx *c;
	const char *file;
	struct pend **q;  /* FIFO by first */
	size_t n, alloc;
	size_t nrec;      /* records read so far */
};

static void to_msg(const struct gor_record *g, struct xch_msg *m, bool resp)
{
	for (size_t i = 0; i < g->nheaders; i++)
		xch_header_add(&m->headers, g->headers[i].name, strlen(g->headers[i].name),
			       g->headers[i].value, strlen(g->headers[i].value));
	sb_add(&m->body, g->body.buf, g->body.len);
	if (resp) {
		m->present = true;
		m->status = g->status;
	}
}

static int emit(struct gor_state *s, struct pend *p)
{
	int rc = 0;
	if (!p->have[0]) {
		int k = p->have[1] ? 1 : 2;
		rc = cap_reject(s->c, s->file, p->line[k],
				"response with no request within %d records (id %s)", GOR_WINDOW,
				p->id);
	} else {
		struct exchange x;
		xch_init(&x);
		const struct gor_record *rq = &p->part[0];
		x.source = "goreplay";
		x.id = xstrdup(p->id);
		x.ts_ns = rq->ts_ns;
		x.method = xstrdup(rq->method);
		struct strbuf path = SB_INIT, host = SB_INIT;
		xch_origin_form(&path, rq->target, &host);
		x.path = sb_detach(&path, NULL);
		to_msg(rq, &x.req, false);
		if (host.len && !xch_header_get(&x.req.headers, "host"))
			xch_header_add(&x.req.headers, "host", 4, host.buf, host.len);
		sb_release(&host);
		if (p->have[1]) {
			to_msg(&p->part[1], &x.resp, true);
			if (p->part[1].latency_ns >= 0)
				x.latency_ms = (double)p->part[1].latency_ns / 1e6;
		}
		if (p->have[2])
			to_msg(&p->part[2], &x.replayed, true);
		cap_emit(s->c, &x);
		xch_release(&x);
	}
	for (int k = 0; k < 3; k++)
		if (p->have[k])
			gor_record_release(&p->part[k]);
	free(p);
	return rc;
}

/* Write out the head of the queue while it is complete or too old
 * (all of it with all set). */
static int drain(struct gor_state *s, bool all)
{
	size_t k = 0;
	int rc = 0;
	while (k < s->n) {
		struct pend *p = s->q[k];
		bool done = p->have[0] && p->have[1] && p->have[2];
		if (!all && !done && s->nrec - p->first < GOR_WINDOW)
			break;
		if (emit(s, p) && !rc)
			rc = -1;
		k++;
		if (rc)
			break;
	}
	if (k) {
		memmove(s->q, s->q + k, (s->n - k) * sizeof(*s->q));
		s->n -= k;
	}
	return rc;
}

static int take(struct gor_state *s, const char *data, size_t len, size_t line)
{
	/* The "\n" before the separator line is not the message's. */
	if (len && data[len - 1] == '\n')
		len--;
	if (len && data[len - 1] == '\r')
		len--;
	size_t i = 0;
	while (i < len && (data[i] == '\n' || data[i] == '\r'))
		i++, line++;
	if (i == len)
		return 0;
	struct gor_record g;
	struct strbuf err = SB_INIT;
	size_t el;
	if (gor_parse(data + i, len - i, &g, &err, &el)) {
		(void)el; /* reported at the record's first line, as documented */
		int rc = cap_reject(s->c, s->file, line, "%s", err.buf);
		sb_release(&err);
		gor_record_release(&g);
		return rc;
	}
	sb_release(&err);
	s->nrec++;
	int k = g.type - 1;
	struct pend *p = NULL;
	for (size_t j = s->n; j-- > 0;)
		if (!strcmp(s->q[j]->id, g.id)) {
			if (!s->q[j]->have[k])
				p = s->q[j];
			break;
		}
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		memcpy(p->id, g.id, sizeof(p->id));
		p->first = s->nrec - 1;
		ALLOC_GROW(s->q, s->n + 1, s->alloc);
		s->q[s->n++] = p;
	}
	p->part[k] = g;
	p->have[k] = true;
	p->line[k] = line;
	return drain(s, false);
}

int gor_import(struct cap_ctx *c, struct cin *in)
{
	struct gor_state s = { c, cin_name(in), NULL, 0, 0, 0 };
	struct strbuf rec = SB_INIT;
	size_t start = 1;
	bool skipping = false;
	int rc = 0;
	const char *line;
	size_t len;
	for (;;) {
		if (sig_pending()) {
			rc = 1;
			break;
		}
		int r = cin_line(in, &line, &len);
		if (r < 0) {
			error("cannot read '%s': %s", s.file, cin_error(in));
			rc = -1;
			break;
		}
		if (r == 0)
			break;
		size_t n = len && line[len - 1] == '\n' ? len - 1 : len;
		if (gor_is_separator(line, n)) {
			if (!skipping && take(&s, rec.buf, rec.len, start)) {
				rc = 1;
				break;
			}
			skipping = false;
			sb_reset(&rec);
			start = cin_lineno(in) + 1;
			continue;
		}
		if (skipping)
			continue;
		if (rec.len + len > GOR_MAX_RECORD) {
			skipping = true;
			sb_release(&rec);
			if (cap_reject(c, s.file, start, "record longer than %u MiB",
				       GOR_MAX_RECORD >> 20)) {
				rc = 1;
				break;
			}
			continue;
		}
		sb_add(&rec, line, len);
	}
	if (rc == 0 && !skipping && rec.len && take(&s, rec.buf, rec.len, start))
		rc = 1;
	if (drain(&s, true))
		rc = 1;
	for (size_t j = 0; j < s.n; j++) {
		for (int k = 0; k < 3; k++)
			if (s.q[j]->have[k])
				gor_record_release(&s.q[j]->part[k]);
		free(s.q[j]);
	}
	free(s.q);
	sb_release(&rec);
	return rc;
}
