/*
 * check.c: the health-check engine (see check.h).
 *
 * A runner holds the checks of one run as jobs. A job waits in a min-heap
 * on its start time (run start plus its jitter) until a concurrency slot is
 * free, then runs attempts until one succeeds or its retries are used up,
 * and is then handed to the caller's callback and freed. Everything is
 * driven from one loop in check_runner_run:
 *
 *  - http jobs go to the runner's http client (one curl multi handle kept
 *    for the runner's life, so watch rounds reuse connections); the loop
 *    gives it time slices with http_run_for;
 *  - tcp jobs own a non-blocking socket each, watched by the loop's poll();
 *  - exec jobs go to a proc_pool whose descriptors join the same poll();
 *  - heartbeat jobs are a stat or a short read at the tail of a file, done
 *    on the spot.
 *
 * The http client cannot add foreign descriptors to its poll, so while
 * transfers and sockets or children are both in flight, or due checks
 * wait for a slot, the loop alternates a non-blocking poll() of its own
 * descriptors with 1 ms slices of http_run_for; with only http in flight
 * and nothing waiting it hands over slices of up to 50 ms (or until the
 * next jittered start). Either way a termination signal (sig.h) is seen
 * within one slice.
 */
#include "common.h"
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cJSON.h>
#include <curl/curl.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "rnd.h"
#include "sig.h"
#include "timefmt.h"

/* Body bytes kept per http response for the body and JSON conditions. */
#define CHECK_MAX_BODY (256 * 1024)
/* Reply bytes a tcp check reads while waiting for its expect to match. */
#define CHECK_TCP_REPLY_MAX 4096
/* Output kept per stream of an exec check. */
#define CHECK_EXEC_CAPTURE (16 * 1024)
/* Between SIGTERM and SIGKILL for an exec check that timed out. */
#define CHECK_EXEC_GRACE_MS 500
/* Longest last line of a JSONL heartbeat file that is read. */
#define CHECK_TAIL_MAX (1024 * 1024)
/* Longest quoted excerpt (of a reply, a JSON value) in a reason. */
#define CHECK_EXCERPT 64

/* ---- specs ---------------------------------------------------------------- */

void check_spec_init(struct check_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->kind = CHECK_HTTP;
	s->timeout_ms = 2000;
	s->ttl_ms = 60000;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static char **dup_strv(char *const *v)
{
	if (!v)
		return NULL;
	size_t n = 0;
	while (v[n])
		n++;
	char **out = xcalloc(n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void check_spec_release(struct check_spec *s)
{
	free(s->url);
	free(s->method);
	free_strv(s->headers);
	free(s->body);
	free(s->status_ok);
	free(s->body_contains);
	free(s->body_regex);
	if (s->body_re_ready)
		regfree(&s->body_re);
	free(s->json_pointer);
	free(s->json_value);
	free(s->host);
	free(s->send);
	free(s->expect);
	if (s->expect_re_ready)
		regfree(&s->expect_re);
	free_strv(s->argv);
	free(s->shell);
	free_strv(s->env);
	free(s->file);
	check_spec_init(s);
}

/* Every pattern is an extended regex; ^ and $ also match at line breaks. */
#define CHECK_RE_FLAGS (REG_EXTENDED | REG_NOSUB | REG_NEWLINE)

static int compile_re(regex_t *re, const char *pattern, const char *what, struct strbuf *err)
{
	int rc = regcomp(re, pattern, CHECK_RE_FLAGS);
	if (rc) {
		char msg[256];
		regerror(rc, re, msg, sizeof(msg));
		if (err)
			sb_addf(err, "invalid %s '%s': %s", what, pattern, msg);
		return -1;
	}
	return 0;
}

int check_spec_compile(struct check_spec *s, struct strbuf *err)
{
	if (s->body_re_ready) {
		regfree(&s->body_re);
		s->body_re_ready = false;
	}
	if (s->expect_re_ready) {
		regfree(&s->expect_re);
		s->expect_re_ready = false;
	}
	if (s->body_regex) {
		if (compile_re(&s->body_re, s->body_regex, "body_regex", err) < 0)
			return -1;
		s->body_re_ready = true;
	}
	if (s->expect) {
		if (compile_re(&s->expect_re, s->expect, "expect", err) < 0)
			return -1;
		s->expect_re_ready = true;
	}
	return 0;
}

void check_spec_copy(struct check_spec *dst, const struct check_spec *src)
{
	*dst = *src;
	dst->url = dup_or_null(src->url);
	dst->method = dup_or_null(src->method);
	dst->headers = dup_strv(src->headers);
	dst->body = dup_or_null(src->body);
	dst->status_ok = NULL;
	dst->nstatus_ok = 0;
	if (src->status_ok && src->nstatus_ok) {
		dst->status_ok = xmemdup(src->status_ok, src->nstatus_ok * sizeof(*src->status_ok));
		dst->nstatus_ok = src->nstatus_ok;
	}
	dst->body_contains = dup_or_null(src->body_contains);
	dst->body_regex = dup_or_null(src->body_regex);
	dst->json_pointer = dup_or_null(src->json_pointer);
	dst->json_value = dup_or_null(src->json_value);
	dst->host = dup_or_null(src->host);
	dst->send = dup_or_null(src->send);
	dst->expect = dup_or_null(src->expect);
	dst->argv = dup_strv(src->argv);
	dst->shell = dup_or_null(src->shell);
	dst->env = dup_strv(src->env);
	dst->file = dup_or_null(src->file);
	/* A regex_t cannot be copied: compile the same patterns again. */
	dst->body_re_ready = false;
	dst->expect_re_ready = false;
	if (src->body_re_ready) {
		if (compile_re(&dst->body_re, dst->body_regex, "body_regex", NULL) < 0)
			die("cannot compile body_regex '%s' again", dst->body_regex);
		dst->body_re_ready = true;
	}
	if (src->expect_re_ready) {
		if (compile_re(&dst->expect_re, dst->expect, "expect", NULL) < 0)
			die("cannot compile expect '%s' again", dst->expect);
		dst->expect_re_ready = true;
	}
}

const char *check_kind_name(enum check_kind k)
{
	switch (k) {
	case CHECK_HTTP:
		return "http";
	case CHECK_TCP:
		return "tcp";
	case CHECK_EXEC:
		return "exec";
	case CHECK_HEARTBEAT:
		return "heartbeat";
	}
	return "unknown";
}

const char *check_status_name(enum check_status s)
{
	switch (s) {
	case CHECK_OK:
		return "ok";
	case CHECK_WARNING:
		return "warning";
	case CHECK_CRITICAL:
		return "critical";
	case CHECK_UNKNOWN:
		return "unknown";
	}
	return "unknown";
}

/* ---- results -------------------------------------------------------------- */

void check_result_init(struct check_result *r)
{
	memset(r, 0, sizeof(*r));
	r->status = CHECK_UNKNOWN;
	sb_init(&r->reason, 0);
	sb_init(&r->output, 0);
	r->exit_code = -1;
	r->age_ms = -1;
}

void check_result_release(struct check_result *r)
{
	sb_release(&r->reason);
	sb_release(&r->output);
	check_result_init(r);
}

/* Forget what an earlier attempt left, keeping the attempt count and start. */
static void reset_attempt(struct check_result *r)
{
	r->status = CHECK_OK;
	sb_reset(&r->reason);
	sb_reset(&r->output);
	r->latency_ms = r->dns_ms = r->connect_ms = r->tls_ms = r->first_byte_ms = 0;
	r->http_status = 0;
	r->exit_code = -1;
	r->age_ms = -1;
}

static void set_status(struct check_result *r, enum check_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_status(struct check_result *r, enum check_status st, const char *fmt, ...)
{
	va_list ap;
	r->status = st;
	sb_reset(&r->reason);
	va_start(ap, fmt);
	sb_vaddf(&r->reason, fmt, ap);
	va_end(ap);
}

/* Append len bytes of s between single quotes, control bytes escaped, cut at max. */
static void add_excerpt(struct strbuf *sb, const char *s, size_t len, size_t max)
{
	sb_addch(sb, '\'');
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			sb_addstr(sb, "\\n");
		else if (c == '\r')
			sb_addstr(sb, "\\r");
		else if (c == '\t')
			sb_addstr(sb, "\\t");
		else if (c < 0x20 || c == 0x7f)
			sb_addf(sb, "\\x%02x", c);
		else
			sb_addch(sb, c);
	}
	sb_addstr(sb, len > max ? "...'" : "'");
}

/* Latency as a whole number, or with a decimal when rounding would hide the excess. */
static void add_latency(struct strbuf *sb, double ms, int64_t limit)
{
	if ((int64_t)(ms + 0.5) > limit)
		sb_addf(sb, "%.0f", ms);
	else
		sb_addf(sb, "%.1f", ms);
}

/* The latency thresholds, for a check that is otherwise OK. */
static void judge_latency(const struct check_spec *spec, struct check_result *r)
{
	if (r->status != CHECK_OK)
		return;
	const char *level = NULL;
	int64_t limit = 0;
	if (spec->crit_ms > 0 && r->latency_ms > (double)spec->crit_ms) {
		r->status = CHECK_CRITICAL;
		level = "critical";
		limit = spec->crit_ms;
	} else if (spec->warn_ms > 0 && r->latency_ms > (double)spec->warn_ms) {
		r->status = CHECK_WARNING;
		level = "warning";
		limit = spec->warn_ms;
	}
	if (!level)
		return;
	sb_reset(&r->reason);
	sb_addstr(&r->reason, "latency ");
	add_latency(&r->reason, r->latency_ms, limit);
	sb_addf(&r->reason, " ms over %s threshold %" PRId64 " ms", level, limit);
}

/* Does re match the len bytes at s (which may hold NUL bytes)? */
static bool check_re_match(const regex_t *re, const char *s, size_t len)
{
#ifdef REG_STARTEND
	regmatch_t m[1];
	m[0].rm_so = 0;
	m[0].rm_eo = (regoff_t)len;
	return regexec(re, s, 1, m, REG_STARTEND) == 0;
#else
	(void)len;
	return regexec(re, s, 0, NULL, 0) == 0;
#endif
}

/* ---- the runner's data ---------------------------------------------------- */

enum tcp_phase { TCP_CONNECTING, TCP_SENDING, TCP_READING };

struct check_runner;

/* One queued or running check. */
struct job {
	struct check_runner *run;
	const struct check_spec *spec;
	void *user;
	int64_t due_ns;            /* waiting: when it may start (delay before the run) */
	uint64_t seq;              /* order of adding: equal starts keep it */
	struct check_result res;
	int64_t attempt_ns;        /* monotonic start of the current attempt */
	bool final;                /* the outcome is a setup error: never retried */
	const regex_t *re;         /* the body_regex or expect in use, or NULL */
	regex_t own_re;            /* compiled here when the spec's is not */
	bool own_re_ready;
	struct job *prev, *next;   /* in the runner's list of started jobs */
	/* tcp */
	int fd;
	struct addrinfo *ai, *cur;
	int last_errno;
	enum tcp_phase phase;
	int64_t deadline_ns;
	size_t sent;
	struct strbuf reply;
	size_t tcp_idx;            /* in run->tcp while watched, else SIZE_MAX */
};

struct check_runner {
	int concurrency;
	int proc_limit;
	int64_t jitter_ms;
	uint64_t added;            /* jobs ever added, for their seq */
	struct job **heap;         /* waiting to start, min-heap on (due_ns, seq) */
	size_t nheap, heap_alloc;
	struct job **ewait;        /* due exec jobs waiting for a process slot, FIFO */
	size_t ewait_head, ewait_len, ewait_alloc;
	struct job *live;          /* started and not yet reported */
	int inflight;              /* started jobs (all kinds) */
	int exec_running;          /* started exec jobs */
	struct job **tcp;          /* jobs with a socket to watch */
	size_t ntcp, tcp_alloc;
	struct http_client *http;  /* created on the first http check */
	struct proc_pool *pool;    /* created on the first exec check */
	struct pollfd *pfds;
	size_t pfds_alloc;
	struct job **pjobs;        /* the tcp job of each polled socket */
	size_t pjobs_alloc;
	bool running;
	check_done_fn *done;
	void *ctx;
};

static bool job_before(const struct job *a, const struct job *b)
{
	return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void heap_swap(struct check_runner *r, size_t i, size_t j)
{
	struct job *t = r->heap[i];
	r->heap[i] = r->heap[j];
	r->heap[j] = t;
}

static void heap_up(struct check_runner *r, size_t i)
{
	while (i > 0 && job_before(r->heap[i], r->heap[(i - 1) / 2])) {
		heap_swap(r, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_push(struct check_runner *r, struct job *j)
{
	ALLOC_GROW(r->heap, r->nheap + 1, r->heap_alloc);
	r->heap[r->nheap++] = j;
	heap_up(r, r->nheap - 1);
}

static struct job *heap_pop(struct check_runner *r)
{
	struct job *top = r->heap[0];
	r->heap[0] = r->heap[--r->nheap];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, rt = l + 1, m = i;
		if (l < r->nheap && job_before(r->heap[l], r->heap[m]))
			m = l;
		if (rt < r->nheap && job_before(r->heap[rt], r->heap[m]))
			m = rt;
		if (m == i)
			break;
		heap_swap(r, i, m);
		i = m;
	}
	return top;
}

static void ewait_push(struct check_runner *r, struct job *j)
{
	if (r->ewait_head && r->ewait_head == r->ewait_len) {
		r->ewait_head = r->ewait_len = 0;
	} else if (r->ewait_head && r->ewait_len == r->ewait_alloc) {
		memmove(r->ewait, r->ewait + r->ewait_head,
			(r->ewait_len - r->ewait_head) * sizeof(*r->ewait));
		r->ewait_len -= r->ewait_head;
		r->ewait_head = 0;
	}
	ALLOC_GROW(r->ewait, r->ewait_len + 1, r->ewait_alloc);
	r->ewait[r->ewait_len++] = j;
}

static size_t ewait_count(const struct check_runner *r)
{
	return r->ewait_len - r->ewait_head;
}

static void job_free(struct job *j)
{
	if (j->fd >= 0)
		close(j->fd);
	if (j->ai)
		freeaddrinfo(j->ai);
	if (j->own_re_ready)
		regfree(&j->own_re);
	sb_release(&j->reply);
	check_result_release(&j->res);
	free(j);
}

/* ---- the runner's public face --------------------------------------------- */

struct check_runner *check_runner_new(int concurrency, int proc_limit, int64_t jitter_ms)
{
	struct check_runner *r = xcalloc(1, sizeof(*r));
	r->concurrency = concurrency < 1 ? 1 : concurrency;
	r->proc_limit = proc_limit < 1 ? r->concurrency : proc_limit;
	r->jitter_ms = jitter_ms < 0 ? 0 : jitter_ms;
	return r;
}

void check_runner_set_jitter(struct check_runner *r, int64_t jitter_ms)
{
	r->jitter_ms = jitter_ms < 0 ? 0 : jitter_ms;
}

/* Drop every job, started or not, without reporting it. */
static void drop_all(struct check_runner *r)
{
	/* The client and the pool go first: they refer to the jobs. */
	http_client_free(r->http);
	r->http = NULL;
	proc_pool_free(r->pool);
	r->pool = NULL;
	for (size_t i = 0; i < r->nheap; i++)
		job_free(r->heap[i]);
	r->nheap = 0;
	for (size_t i = r->ewait_head; i < r->ewait_len; i++)
		job_free(r->ewait[i]);
	r->ewait_head = r->ewait_len = 0;
	while (r->live) {
		struct job *j = r->live;
		r->live = j->next;
		job_free(j);
	}
	r->ntcp = 0;
	r->inflight = 0;
	r->exec_running = 0;
}

void check_runner_free(struct check_runner *r)
{
	if (!r)
		return;
	if (r->running)
		die("check_runner_free called from a check callback");
	drop_all(r);
	free(r->heap);
	free(r->ewait);
	free(r->tcp);
	free(r->pfds);
	free(r->pjobs);
	free(r);
}

void check_runner_add(struct check_runner *r, const struct check_spec *spec, void *user)
{
	struct job *j = xcalloc(1, sizeof(*j));
	j->run = r;
	j->spec = spec;
	j->user = user;
	j->seq = r->added++;
	j->fd = -1;
	j->tcp_idx = SIZE_MAX;
	sb_init(&j->reply, 0);
	check_result_init(&j->res);
	int64_t delay = r->jitter_ms ? (int64_t)rnd_below((uint64_t)r->jitter_ms + 1) * 1000000 : 0;
	/* Before the run the start is relative; check_runner_run adds its start. */
	j->due_ns = r->running ? mono_ns() + delay : delay;
	heap_push(r, j);
}

/* ---- finishing ------------------------------------------------------------ */

static void start_attempt(struct job *j);

static void live_remove(struct check_runner *r, struct job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		r->live = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
}

/* Report j to the caller and free it. */
static void complete(struct job *j)
{
	struct check_runner *r = j->run;
	live_remove(r, j);
	r->inflight--;
	if (j->spec->kind == CHECK_EXEC)
		r->exec_running--;
	if (r->done)
		r->done(j->user, j->spec, &j->res, r->ctx);
	job_free(j);
}

/* The attempt of j has its status: try again or report. */
static void attempt_done(struct job *j)
{
	if (j->res.status >= CHECK_CRITICAL && !j->final && j->res.attempts <= j->spec->retries)
		start_attempt(j);
	else
		complete(j);
}

/* ---- http ----------------------------------------------------------------- */

static void add_status_ranges(struct strbuf *sb, const struct check_spec *spec)
{
	if (!spec->status_ok || !spec->nstatus_ok) {
		sb_addstr(sb, "200-399");
		return;
	}
	for (size_t i = 0; i < spec->nstatus_ok; i++) {
		const struct check_status_range *rg = &spec->status_ok[i];
		if (i)
			sb_addstr(sb, ", ");
		if (rg->lo == rg->hi)
			sb_addf(sb, "%d", rg->lo);
		else
			sb_addf(sb, "%d-%d", rg->lo, rg->hi);
	}
}

static bool status_accepted(const struct check_spec *spec, long status)
{
	if (!spec->status_ok || !spec->nstatus_ok)
		return status >= 200 && status <= 399;
	for (size_t i = 0; i < spec->nstatus_ok; i++)
		if (status >= spec->status_ok[i].lo && status <= spec->status_ok[i].hi)
			return true;
	return false;
}

/* The value at an RFC 6901 pointer, or NULL. */
static const cJSON *json_at(const cJSON *doc, const char *ptr)
{
	struct strbuf tok = SB_INIT;
	const cJSON *cur = doc;
	while (cur && *ptr) {
		if (*ptr != '/') {
			cur = NULL;
			break;
		}
		ptr++;
		sb_reset(&tok);
		while (*ptr && *ptr != '/') {
			if (ptr[0] == '~' && ptr[1] == '0') {
				sb_addch(&tok, '~');
				ptr += 2;
			} else if (ptr[0] == '~' && ptr[1] == '1') {
				sb_addch(&tok, '/');
				ptr += 2;
			} else {
				sb_addch(&tok, *ptr++);
			}
		}
		if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok.buf);
		} else if (cJSON_IsArray(cur)) {
			const char *t = tok.buf;
			bool digits = tok.len > 0 && (tok.len == 1 || t[0] != '0');
			for (size_t i = 0; digits && i < tok.len; i++)
				digits = t[i] >= '0' && t[i] <= '9';
			errno = 0;
			unsigned long idx = digits ? strtoul(t, NULL, 10) : 0;
			if (!digits || errno || idx >= (unsigned long)cJSON_GetArraySize(cur))
				cur = NULL;
			else
				cur = cJSON_GetArrayItem(cur, (int)idx);
		} else {
			cur = NULL;
		}
	}
	sb_release(&tok);
	return cur;
}

/* s as a finite number, all of it; false if it is not one. */
static bool text_number(const char *s, double *out)
{
	if (!s || !*s || strchr(" \t\n\r\f\v", *s))
		return false;
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (*end || errno == ERANGE || d != d || d - d != 0)
		return false;
	*out = d;
	return true;
}

/* The comparable text of a JSON value: a string's content, else its JSON. */
static char *json_text(const cJSON *v)
{
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	char *s = cJSON_PrintUnformatted(v);
	if (!s)
		die("out of memory printing a JSON value");
	char *out = xstrdup(s);
	cJSON_free(s);
	return out;
}

/* Append v as JSON, cut to an excerpt. */
static void add_json(struct strbuf *sb, const cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);
	if (!s)
		die("out of memory printing a JSON value");
	size_t len = strlen(s);
	if (len > CHECK_EXCERPT) {
		sb_add(sb, s, CHECK_EXCERPT);
		sb_addstr(sb, "...");
	} else {
		sb_add(sb, s, len);
	}
	cJSON_free(s);
}

/* Append the wanted value as it would be written in JSON. */
static void add_wanted(struct strbuf *sb, const char *want)
{
	double d;
	if (text_number(want, &d) || !strcmp(want, "true") || !strcmp(want, "false") ||
	    !strcmp(want, "null")) {
		sb_addstr(sb, want);
		return;
	}
	cJSON *tmp = cJSON_CreateString(want);
	if (!tmp)
		die("out of memory");
	add_json(sb, tmp);
	cJSON_Delete(tmp);
}

/* The JSON condition on body; false with the reason set when it fails. */
static bool judge_json(const struct check_spec *spec, const struct strbuf *body,
		       struct check_result *res)
{
	cJSON *doc = cJSON_ParseWithLength(body->buf, body->len);
	if (!doc) {
		set_status(res, CHECK_CRITICAL, "body is not JSON");
		return false;
	}
	const char *ptr = spec->json_pointer;
	const char *name = *ptr ? ptr : "the JSON body";
	const cJSON *v = json_at(doc, ptr);
	bool good = true;
	if (!v) {
		set_status(res, CHECK_CRITICAL, "%s is missing", name);
		cJSON_Delete(doc);
		return false;
	}
	if (spec->json_op == CHECK_JSON_EXISTS || !spec->json_value) {
		cJSON_Delete(doc);
		return true;
	}
	const char *want = spec->json_value;
	double a = 0, b = 0;
	bool numeric = cJSON_IsNumber(v) && text_number(want, &b);
	int cmp;
	if (numeric) {
		a = v->valuedouble;
		cmp = a < b ? -1 : a > b ? 1 : 0;
	} else {
		char *t = json_text(v);
		cmp = strcmp(t, want);
		free(t);
	}
	const char *op = NULL;
	switch (spec->json_op) {
	case CHECK_JSON_EQUALS:
		good = cmp == 0;
		op = "";
		break;
	case CHECK_JSON_NOT_EQUALS:
		good = cmp != 0;
		op = "anything but ";
		break;
	case CHECK_JSON_LT:
		good = cmp < 0;
		op = "< ";
		break;
	case CHECK_JSON_LE:
		good = cmp <= 0;
		op = "<= ";
		break;
	case CHECK_JSON_GT:
		good = cmp > 0;
		op = "> ";
		break;
	case CHECK_JSON_GE:
		good = cmp >= 0;
		op = ">= ";
		break;
	case CHECK_JSON_NONE:
	case CHECK_JSON_EXISTS:
		break;
	}
	if (!good) {
		res->status = CHECK_CRITICAL;
		sb_reset(&res->reason);
		sb_addf(&res->reason, "%s is ", name);
		add_json(&res->reason, v);
		sb_addf(&res->reason, ", want %s", op);
		add_wanted(&res->reason, want);
	}
	cJSON_Delete(doc);
	return good;
}

/* Judge a finished http attempt. */
static void judge_http(struct job *j, const struct http_response *resp)
{
	const struct check_spec *spec = j->spec;
	struct check_result *res = &j->res;

	res->dns_ms = resp->dns_ms;
	res->connect_ms = resp->connect_ms;
	res->tls_ms = resp->tls_ms;
	res->first_byte_ms = resp->first_byte_ms;
	res->latency_ms = resp->total_ms > 0 ? resp->total_ms
					     : (double)(mono_ns() - j->attempt_ns) / 1e6;
	res->http_status = (int)resp->status;

	if (resp->curl_code != CURLE_OK || resp->status <= 0) {
		bool setup = resp->curl_code == CURLE_URL_MALFORMAT ||
			     resp->curl_code == CURLE_UNSUPPORTED_PROTOCOL;
		if (setup)
			j->final = true;
		set_status(res, setup ? CHECK_UNKNOWN : CHECK_CRITICAL, "%s",
			   resp->error[0] ? resp->error : "no response");
		return;
	}
	if (!status_accepted(spec, resp->status)) {
		if (resp->status == 429) {
			set_status(res, CHECK_WARNING, "status 429 (too many requests)");
			return;
		}
		set_status(res, CHECK_CRITICAL, "status %ld, want ", resp->status);
		add_status_ranges(&res->reason, spec);
		return;
	}
	const struct strbuf *body = &resp->body;
	if (spec->body_contains && *spec->body_contains &&
	    !memmem(body->buf, body->len, spec->body_contains, strlen(spec->body_contains))) {
		set_status(res, CHECK_CRITICAL, "body lacks ");
		add_excerpt(&res->reason, spec->body_contains, strlen(spec->body_contains),
			    CHECK_EXCERPT);
		return;
	}
	if (j->re && !check_re_match(j->re, body->buf, body->len)) {
		set_status(res, CHECK_CRITICAL, "body does not match ");
		add_excerpt(&res->reason, spec->body_regex, strlen(spec->body_regex), CHECK_EXCERPT);
		return;
	}
	if (spec->json_pointer && !judge_json(spec, body, res))
		return;
	judge_latency(spec, res);
}

static void on_http_done(const struct http_request *req, struct http_response *resp, void *user)
{
	struct job *j = user;
	judge_http(j, resp);
	attempt_done(j);
}

static void http_attempt(struct job *j)
{
	struct check_runner *r = j->run;
	const struct check_spec *spec = j->spec;
	if (!spec->url || !*spec->url) {
		j->final = true;
		set_status(&j->res, CHECK_UNKNOWN, "no url to check");
		attempt_done(j);
		return;
	}
	if (!r->http)
		r->http = http_client_new(r->concurrency);
	struct http_request req;
	http_request_init(&req);
	req.url = spec->url;
	req.method = spec->method ? spec->method : "GET";
	req.headers = (const char *const *)spec->headers;
	req.body = spec->body;
	req.body_len = spec->body ? strlen(spec->body) : 0;
	long t = spec->timeout_ms > 0 ? (spec->timeout_ms > LONG_MAX ? LONG_MAX : (long)spec->timeout_ms)
				      : 1;
	req.connect_timeout_ms = t;
	req.timeout_ms = t;
	req.max_body = CHECK_MAX_BODY;
	req.tls_insecure = spec->tls_insecure;
	req.retry.max_attempts = 1;
	req.user = j;
	struct strbuf err = SB_INIT;
	if (http_add(r->http, &req, &err) < 0) {
		j->final = true;
		set_status(&j->res, CHECK_UNKNOWN, "%s", err.buf);
		sb_release(&err);
		attempt_done(j);
		return;
	}
	sb_release(&err);
}

/* ---- tcp ------------------------------------------------------------------ */

static void tcp_watch(struct job *j)
{
	struct check_runner *r = j->run;
	if (j->tcp_idx != SIZE_MAX)
		return;
	ALLOC_GROW(r->tcp, r->ntcp + 1, r->tcp_alloc);
	j->tcp_idx = r->ntcp;
	r->tcp[r->ntcp++] = j;
}

static void tcp_unwatch(struct job *j)
{
	struct check_runner *r = j->run;
	if (j->tcp_idx == SIZE_MAX)
		return;
	struct job *last = r->tcp[--r->ntcp];
	r->tcp[j->tcp_idx] = last;
	last->tcp_idx = j->tcp_idx;
	j->tcp_idx = SIZE_MAX;
}

/* End the tcp attempt of j: close its socket and stop watching it. */
static void tcp_end(struct job *j)
{
	tcp_unwatch(j);
	if (j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
	}
	if (j->ai) {
		freeaddrinfo(j->ai);
		j->ai = NULL;
	}
	j->cur = NULL;
}

static void tcp_finish(struct job *j)
{
	j->res.latency_ms = (double)(mono_ns() - j->attempt_ns) / 1e6;
	tcp_end(j);
	judge_latency(j->spec, &j->res);
	attempt_done(j);
}

static void tcp_fail(struct job *j, enum check_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void tcp_fail(struct job *j, enum check_status st, const char *fmt, ...)
{
	va_list ap;
	j->res.status = st;
	sb_reset(&j->res.reason);
	va_start(ap, fmt);
	sb_vaddf(&j->res.reason, fmt, ap);
	va_end(ap);
	tcp_finish(j);
}

static int64_t timeout_of(const struct check_spec *spec)
{
	return spec->timeout_ms > 0 ? spec->timeout_ms : 1;
}

/* A reason about the reply: "<what> '<pattern>'<how> (got '...')". */
static void tcp_reply_fail(struct job *j, const char *what, const char *how)
{
	j->res.status = CHECK_CRITICAL;
	struct strbuf *sb = &j->res.reason;
	sb_reset(sb);
	sb_addf(sb, "%s '%s'%s (got ", what, j->spec->expect, how);
	add_excerpt(sb, j->reply.buf, j->reply.len, CHECK_EXCERPT);
	sb_addch(sb, ')');
	tcp_finish(j);
}

static void tcp_read(struct job *j)
{
	for (;;) {
		size_t room = CHECK_TCP_REPLY_MAX - j->reply.len;
		sb_grow(&j->reply, room);
		ssize_t n = recv(j->fd, j->reply.buf + j->reply.len, room, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			tcp_fail(j, CHECK_CRITICAL, "connection lost reading the reply: %s",
				 strerror(errno));
			return;
		}
		if (n == 0) {
			tcp_reply_fail(j, "connection closed before the reply matched", "");
			return;
		}
		sb_setlen(&j->reply, j->reply.len + (size_t)n);
		if (check_re_match(j->re, j->reply.buf, j->reply.len)) {
			tcp_finish(j);
			return;
		}
		if (j->reply.len >= CHECK_TCP_REPLY_MAX) {
			char how[64];
			snprintf(how, sizeof(how), " in its first %d bytes", CHECK_TCP_REPLY_MAX);
			tcp_reply_fail(j, "reply did not match", how);
			return;
		}
	}
}

/* After the send (if any): wait for the reply, or be done. */
static void tcp_after_send(struct job *j)
{
	if (!j->re) {
		tcp_finish(j);
		return;
	}
	j->phase = TCP_READING;
	tcp_watch(j);
	tcp_read(j);
}

static void tcp_send(struct job *j)
{
	const char *data = j->spec->send;
	size_t len = strlen(data);
	while (j->sent < len) {
		ssize_t n = send(j->fd, data + j->sent, len - j->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			j->phase = TCP_SENDING;
			tcp_watch(j);
			return;
		}
		if (n < 0) {
			tcp_fail(j, CHECK_CRITICAL, "connection lost sending: %s", strerror(errno));
			return;
		}
		j->sent += (size_t)n;
	}
	tcp_after_send(j);
}

static void tcp_connected(struct job *j)
{
	j->res.connect_ms = (double)(mono_ns() - j->attempt_ns) / 1e6;
	if (j->spec->send && *j->spec->send)
		tcp_send(j);
	else
		tcp_after_send(j);
}

/* Connect to j->cur or the addresses after it; the last error if none works. */
static void tcp_connect_next(struct job *j)
{
	for (; j->cur; j->cur = j->cur->ai_next) {
		const struct addrinfo *a = j->cur;
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				a->ai_protocol);
		if (fd < 0) {
			int e = errno;
			tcp_fail(j, CHECK_UNKNOWN, "cannot create a socket: %s", strerror(e));
			return;
		}
		int rc;
		do
			rc = connect(fd, a->ai_addr, a->ai_addrlen);
		while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			j->fd = fd;
			tcp_connected(j);
			return;
		}
		if (errno == EINPROGRESS) {
			j->fd = fd;
			j->phase = TCP_CONNECTING;
			tcp_watch(j);
			return;
		}
		j->last_errno = errno;
		close(fd);
	}
	if (j->last_errno == ECONNREFUSED)
		tcp_fail(j, CHECK_CRITICAL, "connection refused");
	else
		tcp_fail(j, CHECK_CRITICAL, "cannot connect: %s",
			 strerror(j->last_errno ? j->last_errno : ECONNREFUSED));
}

static void tcp_attempt(struct job *j)
{
	const struct check_spec *spec = j->spec;
	if (!spec->host || !*spec->host || spec->port <= 0 || spec->port > 65535) {
		j->final = true;
		set_status(&j->res, CHECK_UNKNOWN, "no host and port to check");
		attempt_done(j);
		return;
	}
	j->deadline_ns = j->attempt_ns + timeout_of(spec) * 1000000;
	j->sent = 0;
	j->last_errno = 0;
	sb_reset(&j->reply);
	char port[16];
	snprintf(port, sizeof(port), "%d", spec->port);
	struct addrinfo hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	int rc = getaddrinfo(spec->host, port, &hints, &j->ai);
	if (rc) {
		j->ai = NULL;
		tcp_fail(j, CHECK_CRITICAL, "cannot resolve host '%s': %s", spec->host,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return;
	}
	j->cur = j->ai;
	tcp_connect_next(j);
}

/* The socket of j is ready (or failed). */
static void tcp_event(struct job *j)
{
	if (j->phase == TCP_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(j->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == EINPROGRESS || err == EALREADY)
			return;
		if (err) {
			j->last_errno = err;
			close(j->fd);
			j->fd = -1;
			tcp_unwatch(j);
			j->cur = j->cur->ai_next;
			tcp_connect_next(j);
			return;
		}
		tcp_connected(j);
	} else if (j->phase == TCP_SENDING) {
		tcp_send(j);
	} else {
		tcp_read(j);
	}
}

static void tcp_timeout(struct job *j)
{
	long long t = (long long)timeout_of(j->spec);
	char how[64];
	switch (j->phase) {
	case TCP_CONNECTING:
		tcp_fail(j, CHECK_CRITICAL, "timed out after %lld ms connecting", t);
		break;
	case TCP_SENDING:
		tcp_fail(j, CHECK_CRITICAL, "timed out after %lld ms sending", t);
		break;
	case TCP_READING:
		snprintf(how, sizeof(how), " within %lld ms", t);
		tcp_reply_fail(j, "reply did not match", how);
		break;
	}
}

/* ---- exec ----------------------------------------------------------------- */

static void exec_attempt(struct job *j)
{
	struct check_runner *r = j->run;
	const struct check_spec *spec = j->spec;
	if (!spec->argv && !spec->shell) {
		j->final = true;
		set_status(&j->res, CHECK_UNKNOWN, "no command to run");
		attempt_done(j);
		return;
	}
	if (!r->pool)
		r->pool = proc_pool_new((size_t)r->proc_limit);
	size_t nenv = 0;
	while (spec->env && spec->env[nenv])
		nenv++;
	struct proc_var *vars = nenv ? xcalloc(nenv, sizeof(*vars)) : NULL;
	char **names = nenv ? xcalloc(nenv, sizeof(*names)) : NULL;
	for (size_t i = 0; i < nenv; i++) {
		const char *eq = strchr(spec->env[i], '=');
		names[i] = eq ? xstrndup(spec->env[i], (size_t)(eq - spec->env[i]))
			      : xstrdup(spec->env[i]);
		vars[i].name = names[i];
		vars[i].value = eq ? eq + 1 : NULL;
	}
	struct proc_spec ps;
	memset(&ps, 0, sizeof(ps));
	ps.argv = (const char *const *)spec->argv;
	ps.shell = spec->argv ? NULL : spec->shell;
	ps.env = vars;
	ps.nenv = nenv;
	int64_t t = timeout_of(spec);
	ps.timeout_ms = t > INT_MAX ? INT_MAX : (int)t;
	ps.grace_ms = CHECK_EXEC_GRACE_MS;
	ps.capture_limit = CHECK_EXEC_CAPTURE;
	proc_pool_add(r->pool, &ps, j);
	for (size_t i = 0; i < nenv; i++)
		free(names[i]);
	free(names);
	free(vars);
}

/* The first line of s, without its line ending, into out. */
static void first_line(struct strbuf *out, const struct strbuf *s)
{
	const char *nl = memchr(s->buf, '\n', s->len);
	size_t len = nl ? (size_t)(nl - s->buf) : s->len;
	if (len && s->buf[len - 1] == '\r')
		len--;
	sb_add(out, s->buf, len);
}

static void exec_judge(struct job *j, const struct proc_result *pr)
{
	struct check_result *res = &j->res;
	res->latency_ms = (double)pr->duration_ms;
	res->exit_code = pr->exit_code;
	if (pr->spawn_errno) {
		set_status(res, CHECK_UNKNOWN, "%s",
			   pr->error.len ? pr->error.buf : strerror(pr->spawn_errno));
		res->latency_ms = (double)(mono_ns() - j->attempt_ns) / 1e6;
		return;
	}
	first_line(&res->output, &pr->out);
	if (pr->timed_out) {
		set_status(res, CHECK_CRITICAL, "timed out after %lld ms",
			   (long long)timeout_of(j->spec));
		return;
	}
	if (pr->signal) {
		set_status(res, CHECK_UNKNOWN, "killed by signal %d", pr->signal);
		return;
	}
	int code = pr->exit_code;
	if (code >= 0 && code <= 3) {
		res->status = (enum check_status)code;
		sb_reset(&res->reason);
		if (code != 0 && res->output.len) {
			sb_add(&res->reason, res->output.buf, res->output.len);
		} else if (code != 0) {
			struct strbuf errline = SB_INIT;
			first_line(&errline, &pr->err);
			if (errline.len)
				sb_addf(&res->reason, "exit %d: %s", code, errline.buf);
			else
				sb_addf(&res->reason, "exit %d with no output", code);
			sb_release(&errline);
		}
		judge_latency(j->spec, res);
		return;
	}
	struct strbuf line = SB_INIT;
	if (res->output.len)
		sb_add(&line, res->output.buf, res->output.len);
	else
		first_line(&line, &pr->err);
	if (line.len)
		set_status(res, CHECK_UNKNOWN, "exit %d: %s", code, line.buf);
	else
		set_status(res, CHECK_UNKNOWN, "exit %d", code);
	sb_release(&line);
}

/* ---- heartbeat ------------------------------------------------------------ */

/* Read up to len bytes at off; the count read, or -1. */
static ssize_t pread_full(int fd, char *buf, size_t len, off_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/*
 * The last non-blank line among the first end bytes of fd, read backwards
 * from end in growing windows so a large file is never read whole. Returns
 * 1 with the line in *line (its start offset in *start), 0 if there is
 * none, -1 on a read error (errno set), -2 if it is longer than
 * CHECK_TAIL_MAX.
 */
static int tail_line(int fd, off_t end, struct strbuf *line, off_t *start)
{
	size_t win = 4096;
	for (;;) {
		off_t from = end > (off_t)win ? end - (off_t)win : 0;
		size_t want = (size_t)(end - from);
		sb_reset(line);
		sb_grow(line, want);
		ssize_t n = pread_full(fd, line->buf, want, from);
		if (n < 0)
			return -1;
		size_t len = (size_t)n;
		while (len && strchr(" \t\r\n", line->buf[len - 1]))
			len--;
		if (!len) {
			if (from == 0)
				return 0;
			end = from; /* only blank lines here: look further back */
			continue;
		}
		const char *nl = memrchr(line->buf, '\n', len);
		if (nl || from == 0) {
			size_t s = nl ? (size_t)(nl - line->buf) + 1 : 0;
			memmove(line->buf, line->buf + s, len - s);
			sb_setlen(line, len - s);
			*start = from + (off_t)s;
			return 1;
		}
		if (win >= CHECK_TAIL_MAX)
			return -2;
		win = win * 8 > CHECK_TAIL_MAX ? CHECK_TAIL_MAX + 1 : win * 8;
	}
}

/* The ts of a JSONL line: 0, or -1 with why in reason. */
static int line_ts(const struct strbuf *line, int64_t *ts, struct strbuf *why)
{
	cJSON *doc = cJSON_ParseWithLength(line->buf, line->len);
	if (!doc) {
		sb_addstr(why, "is not JSON");
		return -1;
	}
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "ts");
	int rc = -1;
	if (!cJSON_IsObject(doc) || !t) {
		sb_addstr(why, "has no \"ts\"");
	} else if (!cJSON_IsString(t) || ts_parse(t->valuestring, strlen(t->valuestring), ts) < 0) {
		sb_addstr(why, "has an invalid \"ts\" ");
		add_json(why, t);
	} else {
		rc = 0;
	}
	cJSON_Delete(doc);
	return rc;
}

/* The time of the last record of a JSONL heartbeat file; 0 or -1 (reason set). */
static int jsonl_beat(struct job *j, int fd, off_t size, int64_t *ts)
{
	const char *file = j->spec->file;
	struct strbuf line = SB_INIT, why = SB_INIT;
	off_t start = 0;
	int rc = tail_line(fd, size, &line, &start);
	if (rc == 1 && line_ts(&line, ts, &why) < 0) {
		/*
		 * A last line without its newline may be a record still being
		 * written: then the one before it counts.
		 */
		char last = 0;
		struct strbuf prev = SB_INIT, why2 = SB_INIT;
		off_t pstart;
		if (pread_full(fd, &last, 1, size - 1) == 1 && last != '\n' &&
		    tail_line(fd, start, &prev, &pstart) == 1 && line_ts(&prev, ts, &why2) == 0)
			rc = 2;
		sb_release(&prev);
		sb_release(&why2);
		if (rc != 2) {
			set_status(&j->res, CHECK_UNKNOWN, "last line of '%s' %s", file, why.buf);
			rc = -1;
		}
	} else if (rc == 0) {
		set_status(&j->res, CHECK_UNKNOWN, "no record in '%s'", file);
		rc = -1;
	} else if (rc == -1) {
		set_status(&j->res, CHECK_UNKNOWN, "cannot read '%s': %s", file, strerror(errno));
	} else if (rc == -2) {
		set_status(&j->res, CHECK_UNKNOWN, "last line of '%s' is longer than %d bytes", file,
			   CHECK_TAIL_MAX);
		rc = -1;
	}
	sb_release(&line);
	sb_release(&why);
	return rc < 0 ? -1 : 0;
}

/* Append an age or a ttl: whole seconds when the ttl is, else milliseconds. */
static void add_age(struct strbuf *sb, int64_t ms, int64_t ttl_ms)
{
	if (ttl_ms % 1000)
		sb_addf(sb, "%" PRId64 " ms", ms);
	else if (ms / 1000 > ttl_ms / 1000 || ms % 1000 == 0)
		sb_addf(sb, "%" PRId64 " s", ms / 1000);
	else
		sb_addf(sb, "%" PRId64 ".%" PRId64 " s", ms / 1000, ms % 1000 / 100);
}

static void heartbeat_attempt(struct job *j)
{
	const struct check_spec *spec = j->spec;
	struct check_result *res = &j->res;
	if (!spec->file || !*spec->file) {
		j->final = true;
		set_status(res, CHECK_UNKNOWN, "no heartbeat file given");
		attempt_done(j);
		return;
	}
	int64_t beat_ns = 0;
	struct stat st;
	int fd = -1;
	if (!spec->file_jsonl) {
		if (stat(spec->file, &st) == 0)
			beat_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		else if (errno == ENOENT)
			set_status(res, CHECK_CRITICAL, "no heartbeat: '%s' does not exist",
				   spec->file);
		else
			set_status(res, CHECK_UNKNOWN, "cannot stat '%s': %s", spec->file,
				   strerror(errno));
	} else if ((fd = open(spec->file, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0 && errno == ENOENT) {
		set_status(res, CHECK_CRITICAL, "no heartbeat: '%s' does not exist", spec->file);
	} else if (fd < 0 || fstat(fd, &st) < 0) {
		set_status(res, CHECK_UNKNOWN, "cannot open '%s': %s", spec->file, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		set_status(res, CHECK_UNKNOWN, "'%s' is not a regular file", spec->file);
	} else {
		jsonl_beat(j, fd, st.st_size, &beat_ns);
	}
	if (fd >= 0)
		close(fd);
	if (res->status == CHECK_OK) {
		int64_t age = (ts_now_ns() - beat_ns) / 1000000;
		res->age_ms = age < 0 ? 0 : age;
		if (age > spec->ttl_ms) {
			set_status(res, CHECK_CRITICAL, "heartbeat ");
			add_age(&res->reason, age, spec->ttl_ms);
			sb_addstr(&res->reason, " old, ttl ");
			add_age(&res->reason, spec->ttl_ms, spec->ttl_ms);
		}
	}
	res->latency_ms = (double)(mono_ns() - j->attempt_ns) / 1e6;
	attempt_done(j);
}

/* ---- attempts and the loop ------------------------------------------------ */

static void start_attempt(struct job *j)
{
	reset_attempt(&j->res);
	j->res.attempts++;
	j->attempt_ns = mono_ns();
	if (j->res.attempts == 1)
		j->res.start_ns = ts_now_ns();
	switch (j->spec->kind) {
	case CHECK_HTTP:
		http_attempt(j);
		break;
	case CHECK_TCP:
		tcp_attempt(j);
		break;
	case CHECK_EXEC:
		exec_attempt(j);
		break;
	case CHECK_HEARTBEAT:
		heartbeat_attempt(j);
		break;
	default:
		j->final = true;
		set_status(&j->res, CHECK_UNKNOWN, "unknown check kind %d", (int)j->spec->kind);
		attempt_done(j);
		break;
	}
}

/* Pick the regex j uses; false (the job reported) if it does not compile. */
static bool prepare(struct job *j)
{
	const struct check_spec *s = j->spec;
	const char *pattern = NULL, *what = NULL;
	if (s->kind == CHECK_HTTP && s->body_regex) {
		if (s->body_re_ready)
			j->re = &s->body_re;
		pattern = s->body_regex;
		what = "body_regex";
	} else if (s->kind == CHECK_TCP && s->expect) {
		if (s->expect_re_ready)
			j->re = &s->expect_re;
		pattern = s->expect;
		what = "expect";
	}
	if (j->re || !pattern)
		return true;
	struct strbuf err = SB_INIT;
	if (compile_re(&j->own_re, pattern, what, &err) < 0) {
		j->res.attempts = 1;
		j->res.start_ns = ts_now_ns();
		j->final = true;
		set_status(&j->res, CHECK_UNKNOWN, "%s", err.buf);
		sb_release(&err);
		complete(j);
		return false;
	}
	j->own_re_ready = true;
	j->re = &j->own_re;
	return true;
}

static void start_job(struct check_runner *r, struct job *j)
{
	j->next = r->live;
	if (r->live)
		r->live->prev = j;
	r->live = j;
	r->inflight++;
	if (j->spec->kind == CHECK_EXEC)
		r->exec_running++;
	if (prepare(j))
		start_attempt(j);
}

/* Start every job that is due and fits under the caps. */
static void start_due(struct check_runner *r)
{
	while (ewait_count(r) && r->inflight < r->concurrency && r->exec_running < r->proc_limit)
		start_job(r, r->ewait[r->ewait_head++]);
	int64_t now = mono_ns();
	while (r->nheap && r->inflight < r->concurrency && r->heap[0]->due_ns <= now) {
		struct job *j = heap_pop(r);
		if (j->spec->kind == CHECK_EXEC && r->exec_running >= r->proc_limit)
			ewait_push(r, j);
		else
			start_job(r, j);
	}
}

static bool work_left(const struct check_runner *r)
{
	return r->nheap || ewait_count(r) || r->inflight;
}

/* Collect the exec checks that ended. */
static void reap_execs(struct check_runner *r)
{
	struct proc_result pr = PROC_RESULT_INIT;
	void *user;
	while (r->pool && proc_pool_next(r->pool, &user, &pr)) {
		struct job *j = user;
		exec_judge(j, &pr);
		attempt_done(j);
	}
	proc_result_release(&pr);
}

/* One turn of the loop: wait for something to happen, and handle it. */
static void step(struct check_runner *r)
{
	int64_t now = mono_ns();
	int64_t wait_ns = -1;
	if (r->nheap && r->inflight < r->concurrency)
		wait_ns = r->heap[0]->due_ns > now ? r->heap[0]->due_ns - now : 0;
	for (size_t i = 0; i < r->ntcp; i++) {
		int64_t w = r->tcp[i]->deadline_ns > now ? r->tcp[i]->deadline_ns - now : 0;
		if (wait_ns < 0 || w < wait_ns)
			wait_ns = w;
	}

	bool execs = r->pool && proc_pool_pending(r->pool);
	size_t cap = 1 + r->ntcp + (execs ? proc_pool_max_fds(r->pool) : 0);
	ALLOC_GROW(r->pfds, cap, r->pfds_alloc);
	ALLOC_GROW(r->pjobs, r->ntcp + 1, r->pjobs_alloc);
	size_t n = 0;
	int sfd = sig_fd();
	if (sfd >= 0) {
		r->pfds[n].fd = sfd;
		r->pfds[n].events = POLLIN;
		r->pfds[n++].revents = 0;
	}
	size_t tcp_base = n, ntcp = r->ntcp;
	for (size_t i = 0; i < ntcp; i++) {
		struct job *j = r->tcp[i];
		r->pjobs[i] = j;
		r->pfds[n].fd = j->fd;
		r->pfds[n].events = j->phase == TCP_READING ? POLLIN : POLLOUT;
		r->pfds[n++].revents = 0;
	}
	size_t proc_base = n, nproc = 0;
	if (execs) {
		nproc = proc_pool_pollfds(r->pool, r->pfds + n, cap - n);
		n += nproc;
		int t = proc_pool_timeout(r->pool);
		if (t >= 0 && (wait_ns < 0 || (int64_t)t * 1000000 < wait_ns))
			wait_ns = (int64_t)t * 1000000;
	}
	int64_t wait_ms = wait_ns < 0 ? -1 : (wait_ns + 999999) / 1000000;
	bool http_busy = r->http && http_pending(r->http) > 0;
	int timeout;
	if (http_busy)
		timeout = 0;
	else if (sfd < 0 && (wait_ms < 0 || wait_ms > 100))
		timeout = 100; /* no signal pipe: look at sig_pending often enough */
	else
		timeout = wait_ms > INT_MAX ? INT_MAX : (int)wait_ms;

	int rc = n || timeout ? poll(r->pfds, n, timeout) : 0;
	if (rc < 0 && errno != EINTR)
		die_errno("poll failed");
	if (rc > 0) {
		for (size_t i = 0; i < ntcp; i++)
			if (r->pfds[tcp_base + i].revents)
				tcp_event(r->pjobs[i]);
	}
	/* Deadlines: collect first, since handling one may change the list. */
	now = mono_ns();
	ALLOC_GROW(r->pjobs, r->ntcp + 1, r->pjobs_alloc);
	size_t nexp = 0;
	for (size_t i = 0; i < r->ntcp; i++)
		if (r->tcp[i]->deadline_ns <= now)
			r->pjobs[nexp++] = r->tcp[i];
	for (size_t i = 0; i < nexp; i++)
		tcp_timeout(r->pjobs[i]);
	if (execs) {
		proc_pool_dispatch(r->pool, r->pfds + proc_base, nproc);
		reap_execs(r);
	}
	if (http_busy) {
		/*
		 * Long slices only while nothing else needs the loop: no sockets
		 * or children to watch, and no due check waiting for the slot a
		 * finishing transfer will free.
		 */
		now = mono_ns();
		bool others = r->ntcp || (r->pool && proc_pool_pending(r->pool));
		bool waiting = ewait_count(r) || (r->nheap && r->heap[0]->due_ns <= now);
		long slice = others || waiting ? 1 : 50;
		if (wait_ms >= 0 && wait_ms < slice)
			slice = (long)wait_ms;
		http_run_for(r->http, slice, on_http_done);
	}
}

int check_runner_run(struct check_runner *r, check_done_fn *done, void *ctx)
{
	if (r->running)
		die("check_runner_run called from a check callback");
	r->running = true;
	r->done = done;
	r->ctx = ctx;
	int64_t now = mono_ns();
	for (size_t i = 0; i < r->nheap; i++)
		r->heap[i]->due_ns += now; /* the same shift for all keeps the heap */
	int rc = 0;
	while (work_left(r)) {
		if (sig_pending()) {
			rc = -1;
			break;
		}
		start_due(r);
		if (!work_left(r))
			break;
		step(r);
	}
	if (rc < 0)
		drop_all(r);
	r->running = false;
	r->done = NULL;
	r->ctx = NULL;
	return rc;
}
