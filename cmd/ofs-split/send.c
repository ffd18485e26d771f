/*
 * send.c: `ofs-split send`, requests sent to a primary (the legacy
 * service) and a candidate (the new one), in one of two modes.
 *
 * Shadow (the default): every request goes to the primary, and a copy to
 * the candidate, and to a --secondary (a second primary, to learn which
 * fields differ anyway) when one is given; the answers are compared
 * (send_out.c) and one split.compare record says how they differ. Split
 * (--key and --weights): each request goes to one side only, the one its
 * key routes to by nginx's split_clients rule (weights.h), sticky, and a
 * split.sent record says where it went and how it was answered.
 *
 * Live traffic is never held up by the candidate. Each side has its own
 * --concurrency connections on one libcurl multi client big enough for
 * all of them, so a slow side cannot take the others' slots, and each
 * request has its own --timeout on each side. Requests are read as fast
 * as the primary takes them (or at --rate); copies for the candidate and
 * secondary wait in a queue of at most --backlog when their side is
 * busy. Past that, when the input is live (a pipe, or paced by --rate),
 * the candidate is skipped ("candidate busy") rather than slow the
 * primary down; when it is a file read as fast as possible, nobody waits
 * for the primary but the run itself, so reading waits for the candidate
 * and every request is compared. A circuit breaker (breaker.h) watches
 * the candidate's answers (a transport failure or a 5xx is a failure):
 * open, it refuses the candidate, whose copies are then skipped (shadow)
 * or whose requests go to the primary (split, "fallback"), until
 * half-open trial calls show it answers again. Every change of the
 * breaker is a split.breaker record.
 *
 * Inputs are read without waiting (send_input.c), answers are handled as
 * they come, and records are flushed one by one when an input is a pipe,
 * so `ofs-replay capture ... | ofs-split send ...` compares live; with
 * --listen, send is itself the proxy that live clients talk to
 * (send_listen.c). Memory is bounded by the connections and the
 * backlogs, not by the input.
 */
#include "common.h"

#include <ctype.h>
#include <poll.h>

#include "breaker.h"
#include "cmds.h"
#include "opt.h"
#include "send.h"
#include "sig.h"
#include "timefmt.h"
#include "units.h"

enum {
	SO_ALLOW_WRITES = 256,
	SO_BACKLOG,
	SO_BREAKER_FAILURE_RATE,
	SO_BREAKER_OPEN,
	SO_BREAKER_WINDOW,
	SO_CANDIDATE,
	SO_COMPARE_HEADER,
	SO_CONCURRENCY,
	SO_IGNORE,
	SO_KEY,
	SO_LISTEN,
	SO_NOISE_RELATIVE,
	SO_NOISE_SHARE,
	SO_PRIMARY,
	SO_RATE,
	SO_SALT,
	SO_SECONDARY,
	SO_STRICT,
	SO_TIMEOUT,
	SO_WEIGHTS,
};

const struct opt send_opts[] = {
	{ SO_ALLOW_WRITES, 0, "allow-writes", NULL,
	  "shadow POST, PUT, PATCH and DELETE too (default: primary only, candidate skipped)",
	  NULL, 0 },
	{ SO_BACKLOG, 0, "backlog", "n",
	  "copies waiting for a busy candidate at most; then live input skips it, files wait "
	  "(default 1000)",
	  NULL, 0 },
	{ SO_BREAKER_FAILURE_RATE, 0, "breaker-failure-rate", "percent",
	  "open the candidate's breaker at this failure rate (default 50%)", NULL, 0 },
	{ SO_BREAKER_OPEN, 0, "breaker-open", "duration",
	  "how long the open breaker refuses the candidate before trial calls (default 5s)", NULL,
	  0 },
	{ SO_BREAKER_WINDOW, 0, "breaker-window", "n",
	  "candidate calls the breaker judges over, from half of them on (default 20)", NULL, 0 },
	{ SO_CANDIDATE, 0, "candidate", "url", "the new service's base URL", NULL, OPT_REQUIRED },
	{ SO_COMPARE_HEADER, 0, "compare-header", "name",
	  "compare this response header too (repeatable; default: status and body only)", NULL,
	  0 },
	{ SO_CONCURRENCY, 0, "concurrency", "n", "requests in flight per side at most (default 16)",
	  NULL, 0 },
	{ SO_IGNORE, 0, "ignore", "pointer",
	  "do not compare this field or anything below it, e.g. /body/served_at (repeatable)",
	  NULL, 0 },
	{ SO_KEY, 0, "key", "pointer",
	  "split mode: JSON pointer of each record's key, e.g. /request/headers/x-user-id "
	  "(with --weights)",
	  NULL, 0 },
	{ SO_LISTEN, 0, "listen", "addr",
	  "shadow live clients instead of files: a reverse proxy on host:port answering from "
	  "the primary",
	  NULL, 0 },
	{ SO_NOISE_RELATIVE, 0, "noise-relative", "percent",
	  "with --secondary: (raw-noise)/(raw+noise) must exceed this to report (default 20%)",
	  NULL, 0 },
	{ SO_NOISE_SHARE, 0, "noise-share", "percent",
	  "with --secondary: (raw-noise)/compared must exceed this to report (default 0.03%)",
	  NULL, 0 },
	{ 'o', 'o', "output", "file", "write the records to file (.gz: gzip)", "@file", 0 },
	{ SO_PRIMARY, 0, "primary", "url", "the legacy service's base URL", NULL,
	  OPT_REQUIRED },
	{ SO_RATE, 0, "rate", "n", "send n requests per second (default: as the primary takes them)",
	  NULL, 0 },
	{ SO_SALT, 0, "salt", "salt", "split mode: hashed after the key, as route --salt", NULL, 0 },
	{ SO_SECONDARY, 0, "secondary", "url",
	  "a second primary instance: fields it differs on too are noise", NULL, 0 },
	{ SO_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ SO_TIMEOUT, 0, "timeout", "duration",
	  "time limit per request, on each side by itself (default 10s)", NULL, 0 },
	{ SO_WEIGHTS, 0, "weights", "list",
	  "split mode: primary=90,candidate=10 (legacy and new name them too)", NULL, 0 },
	{ 0 },
};

static struct send *the_send; /* for the libcurl and breaker callbacks */

/* ---- the legs ------------------------------------------------------------- */

bool send_answered(const struct leg *l)
{
	return l->resp.curl_code == 0 && l->resp.status > 0;
}

void send_track(struct send *s, struct sreq *x)
{
	x->pending = 1; /* held while it is being routed */
	x->prev = NULL;
	x->next = s->alive;
	if (s->alive)
		s->alive->prev = x;
	s->alive = x;
	s->held++;
}

void send_release(struct send *s, struct sreq *x)
{
	if (--x->pending > 0)
		return;
	sout_request(&s->so, x);
	if (x->prev)
		x->prev->next = x->next;
	else
		s->alive = x->next;
	if (x->next)
		x->next->prev = x->prev;
	s->held--;
	sreq_free(x);
}

static void start_leg(struct send *s, struct sreq *x, int side)
{
	struct strbuf url = SB_INIT, err = SB_INIT;
	sb_add(&url, s->url[side], s->urllen[side]);
	sb_addstr(&url, x->rq.path);
	struct http_request req = HTTP_REQUEST_INIT;
	req.method = x->rq.method;
	req.url = url.buf;
	req.headers = (const char *const *)x->hdrs;
	if (x->rq.has_body || !strcmp(x->rq.method, "POST") || !strcmp(x->rq.method, "PUT") ||
	    !strcmp(x->rq.method, "PATCH")) {
		req.body = x->rq.body.buf;
		req.body_len = x->rq.body.len;
	}
	req.timeout_ms = s->timeout_ms;
	req.connect_timeout_ms = s->timeout_ms < HTTP_DEFAULT_CONNECT_TIMEOUT_MS
					 ? s->timeout_ms
					 : HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
	req.user = &x->leg[side];
	x->leg[side].st = LEG_SENT;
	s->inflight[side]++;
	if (http_add(s->client, &req, &err) < 0) {
		/* Not sendable at all (a header with a line break): failed. */
		struct leg *l = &x->leg[side];
		l->st = LEG_DONE;
		l->resp.curl_code = -1;
		snprintf(l->resp.error, sizeof(l->resp.error), "%s", err.buf);
		s->inflight[side]--;
		send_release(s, x);
	}
	sb_release(&url);
	sb_release(&err);
}

static void enqueue(struct send *s, struct sreq *x, int side)
{
	x->leg[side].st = LEG_QUEUED;
	x->pending++;
	x->qnext[side] = NULL;
	if (s->qtail[side])
		s->qtail[side]->qnext[side] = x;
	else
		s->qhead[side] = x;
	s->qtail[side] = x;
	s->qlen[side]++;
}

static struct sreq *dequeue(struct send *s, int side)
{
	struct sreq *x = s->qhead[side];
	s->qhead[side] = x->qnext[side];
	if (!s->qhead[side])
		s->qtail[side] = NULL;
	s->qlen[side]--;
	return x;
}

/* Whether the open breaker refuses the candidate now, without asking it
 * (which would count a refusal, or use up a half-open trial). */
static bool breaker_refusing(struct send *s)
{
	struct breaker_stats st;
	breaker_get_stats(s->br, &st);
	return st.state == BREAKER_OPEN && mono_ms() < st.retry_at_ms;
}

/* A side with no free connection and a full queue. */
static bool side_full(const struct send *s, int side)
{
	return s->inflight[side] >= s->conc && s->qlen[side] >= s->backlog;
}

/* Start the waiting legs of side while it has free connections. */
static void dispatch(struct send *s, int side)
{
	bool fell_back = false;
	while (s->qhead[side] && s->inflight[side] < s->conc) {
		struct sreq *x = dequeue(s, side);
		struct leg *l = &x->leg[side];
		if (side == SIDE_SECONDARY && x->leg[SIDE_CANDIDATE].st == LEG_SKIPPED) {
			/* Nothing to calibrate: the candidate was refused. */
			l->st = LEG_SKIPPED;
			send_release(s, x);
			continue;
		}
		if (side == SIDE_CANDIDATE && !breaker_allow(s->br, mono_ms())) {
			l->st = LEG_SKIPPED;
			x->reason = breaker_state(s->br) == BREAKER_HALF_OPEN ? "breaker half-open"
									       : "breaker open";
			if (s->split) {
				x->fallback = true;
				enqueue(s, x, SIDE_PRIMARY);
				fell_back = true;
			}
			send_release(s, x);
			continue;
		}
		start_leg(s, x, side);
	}
	if (fell_back)
		dispatch(s, SIDE_PRIMARY);
}

/* The header lines sent on every side: the recorded ones but for the
 * hop-by-hop fields; no Content-Type made up by libcurl for a body. */
void sreq_headers(struct sreq *x)
{
	size_t alloc = 0;
	const cJSON *h;
	bool has_type = false;
	cJSON_ArrayForEach(h, x->rq.headers) {
		if (!h->string || reqrec_hop_by_hop(h->string))
			continue;
		has_type |= !strcasecmp(h->string, "content-type");
		ALLOC_GROW(x->hdrs, x->nhdrs + 2, alloc);
		/* "Name;" is libcurl's way to send a header with no value. */
		x->hdrs[x->nhdrs++] = *h->valuestring ? xasprintf("%s: %s", h->string, h->valuestring)
						      : xasprintf("%s;", h->string);
	}
	bool with_body = x->rq.has_body || !strcmp(x->rq.method, "POST") ||
			 !strcmp(x->rq.method, "PUT") || !strcmp(x->rq.method, "PATCH");
	ALLOC_GROW(x->hdrs, x->nhdrs + 2, alloc);
	if (with_body && !has_type)
		x->hdrs[x->nhdrs++] = xstrdup("Content-Type:");
	x->hdrs[x->nhdrs] = NULL;
}

/* ---- routing a new request ------------------------------------------------ */

void send_shadow_copies(struct send *s, struct sreq *x)
{
	const char *skip = NULL;
	if (x->write && !s->allow_writes)
		skip = "write not allowed";
	else if (breaker_refusing(s))
		skip = "breaker open";
	else if (side_full(s, SIDE_CANDIDATE))
		skip = "candidate busy";
	if (skip) {
		x->leg[SIDE_CANDIDATE].st = LEG_SKIPPED;
		x->reason = skip;
	} else {
		enqueue(s, x, SIDE_CANDIDATE);
		if (s->url[SIDE_SECONDARY] && !side_full(s, SIDE_SECONDARY))
			enqueue(s, x, SIDE_SECONDARY);
	}
	dispatch(s, SIDE_CANDIDATE);
	dispatch(s, SIDE_SECONDARY);
}

static void route_shadow(struct send *s, struct sreq *x)
{
	enqueue(s, x, SIDE_PRIMARY);
	dispatch(s, SIDE_PRIMARY);
	send_shadow_copies(s, x);
}

static void route_split(struct send *s, struct sreq *x)
{
	int side = SIDE_PRIMARY;
	if (x->key) {
		uint32_t h = split_murmur2(x->key, x->keylen, s->salt, s->salt ? strlen(s->salt) : 0);
		side = s->vside[weights_pick(&s->w, h)];
	}
	if (side == SIDE_CANDIDATE) {
		const char *fb = breaker_refusing(s)                 ? "breaker open"
				 : side_full(s, SIDE_CANDIDATE) ? "candidate busy"
								 : NULL;
		if (fb) {
			x->fallback = true;
			x->reason = fb;
			side = SIDE_PRIMARY;
		}
	}
	enqueue(s, x, side);
	dispatch(s, side);
}

/* Read and route requests while the primary has room (and --rate allows). */
static void admit(struct send *s)
{
	while (!s->input_done && !sig_pending()) {
		if (s->inflight[SIDE_PRIMARY] + (int)s->qlen[SIDE_PRIMARY] >= s->conc)
			break;
		/* Files read as fast as they go wait for a busy candidate. */
		if (!s->in.live && s->rate <= 0 &&
		    (side_full(s, SIDE_CANDIDATE) ||
		     (s->url[SIDE_SECONDARY] && side_full(s, SIDE_SECONDARY))))
			break;
		int64_t now = 0;
		if (s->rate > 0) {
			now = mono_ns();
			if (now < s->next_ns)
				break;
		}
		struct sreq *x;
		int rc = sin_next(&s->in, &x);
		if (s->in.live && !s->flushing) {
			out_set_line_flush(s->so.out, true);
			s->flushing = true;
		}
		s->input_waiting = rc == JSONL_AGAIN;
		if (rc == JSONL_AGAIN)
			break;
		if (rc == 0) {
			s->input_done = true;
			break;
		}
		if (s->rate > 0) {
			/* Steady pace; after a quiet spell, no burst to catch up. */
			int64_t step = (int64_t)(1e9 / s->rate);
			if (s->next_ns < now - step)
				s->next_ns = now - step;
			s->next_ns += step;
		}
		sreq_headers(x);
		send_track(s, x);
		if (s->split)
			route_split(s, x);
		else
			route_shadow(s, x);
		send_release(s, x);
	}
}

void send_on_done(const struct http_request *req, struct http_response *resp, void *user)
{
	(void)user;
	struct send *s = the_send;
	struct leg *l = req->user;
	struct sreq *x = l->x;
	l->resp = *resp;
	http_response_init(resp);
	l->st = LEG_DONE;
	s->inflight[l->side]--;
	if (l->side == SIDE_CANDIDATE)
		breaker_record(s->br, mono_ms(), send_answered(l) && l->resp.status < 500,
			       l->resp.total_ms);
	dispatch(s, l->side);
	send_release(s, x);
	admit(s);
}

static void on_breaker(const struct breaker_transition *t, void *user)
{
	struct send *s = user;
	sout_breaker(&s->so, breaker_state_name(t->from), breaker_state_name(t->to), t->reason);
}

/* ---- the loop ------------------------------------------------------------- */

static void wait_input(struct send *s, long ms)
{
	struct pollfd p[2] = { { .fd = sin_fd(&s->in), .events = POLLIN },
			       { .fd = sig_fd(), .events = POLLIN } };
	poll(p, 2, ms > INT_MAX ? INT_MAX : (int)ms);
}

static void run(struct send *s)
{
	for (;;) {
		if (sig_pending())
			return;
		admit(s);
		if (s->input_done && !s->held)
			return;
		long wait = 100;
		if (s->rate > 0 && !s->input_done) {
			int64_t left = s->next_ns - mono_ns();
			if (left > 0 && left / 1000000 + 1 < wait)
				wait = (long)(left / 1000000 + 1);
		}
		if (http_pending(s->client) > 0) {
			/* A quiet pipe is looked at again soon. */
			if (s->input_waiting && wait > 10)
				wait = 10;
			http_run_for(s->client, wait, send_on_done);
		} else if (s->input_waiting) {
			wait_input(s, s->rate > 0 ? wait : -1);
		} else if (!s->input_done) {
			struct pollfd p = { .fd = sig_fd(), .events = POLLIN };
			poll(&p, 1, (int)wait);
		}
	}
}

/* ---- options -------------------------------------------------------------- */

/* A fraction from "20%" or "0.2"; plain_is_percent: "20" is 20 % too. */
static double parse_percent(struct opt_parser *p, const char *what, bool plain_is_percent)
{
	struct strbuf err = SB_INIT;
	char *t = xstrdup(p->arg);
	size_t n = strlen(t);
	double scale = plain_is_percent ? 100 : 1, v;
	if (n && t[n - 1] == '%') {
		t[n - 1] = '\0';
		scale = 100;
	}
	bool bad = num_parse_double(t, &v, &err) < 0;
	free(t);
	if (bad) {
		char why[256];
		snprintf(why, sizeof(why), "%s", err.buf);
		sb_release(&err);
		opt_usage_error(p, "%s: %s", what, why);
	}
	sb_release(&err);
	if (v < 0 || v / scale > 1)
		opt_usage_error(p, "%s: must be 0..100%%%s, got '%s'", what,
				plain_is_percent ? "" : " or a fraction 0..1", p->arg);
	return v / scale;
}

static void check_url(struct opt_parser *p, const char *what, const char *url)
{
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		opt_usage_error(p, "%s: not an http:// or https:// URL: '%s'", what, url);
}

/* The sides the weights' variants name: primary (legacy) and candidate (new). */
static void map_variants(struct opt_parser *p, struct send *s)
{
	const char *by[2] = { NULL, NULL };
	for (size_t i = 0; i < s->w.n; i++) {
		const char *name = s->w.v[i].name;
		int side;
		if (!strcmp(name, "primary") || !strcmp(name, "legacy"))
			side = SIDE_PRIMARY;
		else if (!strcmp(name, "candidate") || !strcmp(name, "new"))
			side = SIDE_CANDIDATE;
		else
			opt_usage_error(p,
					"--weights: unknown variant '%s' (send routes to primary and candidate)",
					name);
		if (by[side])
			opt_usage_error(p, "--weights: '%s' and '%s' both name the %s", by[side], name,
					send_side_name(side));
		by[side] = name;
		s->vside[i] = side;
	}
}

int cmd_send(int argc, char **argv)
{
	struct send s;
	memset(&s, 0, sizeof(s));
	s.conc = 16;
	s.backlog = 1000;
	s.timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
	struct breaker_config bc;
	breaker_config_init(&bc);
	bc.open_ms = 5000;
	struct noise_rule rule = NOISE_RULE_DEFAULT;
	struct send_cmp cmp = { 0 };
	const char **ignore = NULL;
	size_t aignore = 0, aheaders = 0;
	const char *output = NULL, *weights = NULL, *key = NULL, *listen = NULL;
	const char *shadow_opt = NULL;
	struct strbuf err = SB_INIT;
	struct opt_parser p;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case SO_ALLOW_WRITES:
			s.allow_writes = true;
			shadow_opt = "--allow-writes";
			break;
		case SO_BACKLOG: {
			long long v;
			if (num_parse_int(p.arg, 0, 1000000, &v, &err) < 0)
				opt_usage_error(&p, "--backlog: %s", err.buf);
			s.backlog = (size_t)v;
			break;
		}
		case SO_BREAKER_FAILURE_RATE:
			bc.failure_rate = parse_percent(&p, "--breaker-failure-rate", true) * 100;
			if (bc.failure_rate <= 0)
				opt_usage_error(&p, "--breaker-failure-rate: must be more than 0%%");
			break;
		case SO_BREAKER_OPEN: {
			int64_t ns;
			if (dur_parse(p.arg, &ns, &err) < 0)
				opt_usage_error(&p, "--breaker-open: %s", err.buf);
			if (ns < 1000000)
				opt_usage_error(&p, "--breaker-open: must be at least 1ms");
			bc.open_ms = ns / 1000000;
			break;
		}
		case SO_BREAKER_WINDOW: {
			long long v;
			if (num_parse_int(p.arg, 1, BREAKER_MAX_WINDOW, &v, &err) < 0)
				opt_usage_error(&p, "--breaker-window: %s", err.buf);
			bc.window = (int)v;
			bc.min_calls = (int)((v + 1) / 2);
			break;
		}
		case SO_CANDIDATE: s.url[SIDE_CANDIDATE] = p.arg; break;
		case SO_COMPARE_HEADER: {
			if (!*p.arg || strchr(p.arg, ':'))
				opt_usage_error(&p, "--compare-header: invalid header name '%s'", p.arg);
			char *h = xstrdup(p.arg);
			for (char *t = h; *t; t++)
				*t = (char)tolower((unsigned char)*t);
			ALLOC_GROW(cmp.headers, cmp.nheaders + 1, aheaders);
			cmp.headers[cmp.nheaders++] = h;
			shadow_opt = "--compare-header";
			break;
		}
		case SO_CONCURRENCY: {
			long long v;
			if (num_parse_int(p.arg, 1, 10000, &v, &err) < 0)
				opt_usage_error(&p, "--concurrency: %s", err.buf);
			s.conc = (int)v;
			break;
		}
		case SO_IGNORE:
			if (p.arg[0] && p.arg[0] != '/')
				opt_usage_error(&p, "--ignore: not a JSON pointer: '%s'", p.arg);
			ALLOC_GROW(ignore, cmp.nignore + 1, aignore);
			ignore[cmp.nignore++] = p.arg;
			shadow_opt = "--ignore";
			break;
		case SO_KEY: key = p.arg; break;
		case SO_LISTEN: listen = p.arg; break;
		case SO_NOISE_RELATIVE:
			rule.min_relative = parse_percent(&p, "--noise-relative", false);
			shadow_opt = "--noise-relative";
			break;
		case SO_NOISE_SHARE:
			rule.min_share = parse_percent(&p, "--noise-share", false);
			shadow_opt = "--noise-share";
			break;
		case 'o': output = p.arg; break;
		case SO_PRIMARY: s.url[SIDE_PRIMARY] = p.arg; break;
		case SO_RATE:
			if (num_parse_double(p.arg, &s.rate, &err) < 0)
				opt_usage_error(&p, "--rate: %s", err.buf);
			if (s.rate <= 0 || s.rate > 1e6)
				opt_usage_error(&p, "--rate: must be more than 0 and at most 1000000");
			break;
		case SO_SALT: s.salt = p.arg; break;
		case SO_SECONDARY:
			s.url[SIDE_SECONDARY] = p.arg;
			shadow_opt = "--secondary";
			break;
		case SO_STRICT: s.in.strict = true; break;
		case SO_TIMEOUT: {
			int64_t ns;
			if (dur_parse(p.arg, &ns, &err) < 0)
				opt_usage_error(&p, "--timeout: %s", err.buf);
			if (ns < 1000000)
				opt_usage_error(&p, "--timeout: must be at least 1ms");
			s.timeout_ms = ns / 1000000 > 86400000 ? 86400000 : (long)(ns / 1000000);
			break;
		}
		case SO_WEIGHTS: weights = p.arg; break;
		default: break;
		}
	}
	if (!s.url[SIDE_PRIMARY])
		opt_usage_error(&p, "--primary is required");
	if (!s.url[SIDE_CANDIDATE])
		opt_usage_error(&p, "--candidate is required");
	check_url(&p, "--primary", s.url[SIDE_PRIMARY]);
	check_url(&p, "--candidate", s.url[SIDE_CANDIDATE]);
	if (s.url[SIDE_SECONDARY])
		check_url(&p, "--secondary", s.url[SIDE_SECONDARY]);
	if (key && !weights)
		opt_usage_error(&p, "--key needs --weights");
	if (weights && !key)
		opt_usage_error(&p, "--weights needs --key (the JSON pointer of each request's key)");
	if (s.salt && !key)
		opt_usage_error(&p, "--salt needs --key");
	if (key) {
		s.split = true;
		if (shadow_opt)
			opt_usage_error(&p, "%s is for shadow mode: split mode (--key) compares nothing "
					    "and sends every request once",
					shadow_opt);
		if (vptr_parse(&s.key, key, &err) < 0)
			opt_usage_error(&p, "--key: %s", err.buf);
		if (weights_parse(&s.w, weights, &err) < 0)
			opt_usage_error(&p, "--weights: %s", err.buf);
		map_variants(&p, &s);
		s.in.key = &s.key;
	}
	struct breaker *br = breaker_new(&bc, &err);
	if (!br)
		opt_usage_error(&p, "%s", err.buf);
	for (int side = 0; side < SIDES; side++) {
		const char *u = s.url[side];
		size_t n = u ? strlen(u) : 0;
		while (n && u[n - 1] == '/')
			n--;
		s.urllen[side] = n;
	}
	static char *stdin_only[] = { "-" };
	s.in.nfiles = opt_operands(&p, &s.in.files);
	if (listen && s.split)
		opt_usage_error(&p, "--listen shadows: it does not go with --key");
	if (listen && s.in.nfiles)
		opt_usage_error(&p, "--listen takes requests from clients, not from '%s'",
				s.in.files[0]);
	if (listen && s.rate > 0)
		opt_usage_error(&p, "--listen: clients set the pace, not --rate");
	if (s.in.nfiles == 0) {
		s.in.files = stdin_only;
		s.in.nfiles = 1;
	}
	cmp.ignore = ignore;
	struct out *out = output ? out_open(output) : out_stdout();
	sout_init(&s.so, out, s.split, s.url[SIDE_SECONDARY] != NULL, &cmp, &rule);
	s.br = br;
	breaker_on_transition(br, on_breaker, &s);
	int sides = s.split ? 2 : s.url[SIDE_SECONDARY] ? 3 : 2;
	s.client = http_client_new(s.conc * sides);
	the_send = &s;
	sig_setup();

	if (listen)
		send_listen(&s, listen);
	else
		run(&s);

	int status = sout_summary(&s.so) ? EXIT_NO : EXIT_OK;
	if (sig_pending()) {
		status = sig_exit_status();
	} else if (s.so.primary_sent > 0 && s.so.primary_errors == s.so.primary_sent) {
		error("send: primary '%s' unreachable for every request: %s", s.url[SIDE_PRIMARY],
		      s.so.last_primary_error);
		status = EXIT_SYSTEM;
	} else {
		status = jsonl_exit_status(status);
	}
	if (output)
		out_close(out);
	http_client_free(s.client);
	while (s.alive) {
		struct sreq *x = s.alive;
		s.alive = x->next;
		sreq_free(x);
	}
	sin_close(&s.in);
	sout_release(&s.so);
	breaker_free(br);
	if (s.split)
		vptr_free(&s.key);
	for (size_t i = 0; i < cmp.nheaders; i++)
		free(cmp.headers[i]);
	free(cmp.headers);
	free(ignore);
	sb_release(&err);
	opt_end(&p);
	return status;
}
