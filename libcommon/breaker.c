/*
 * breaker.c: the circuit breaker state machine (see breaker.h).
 *
 * The closed-state window is a ring of one byte per call (bit 0 failed,
 * bit 1 slow) with running counts, so recording is O(1) whatever the
 * window size. Half-open keeps its own small counts of the trial calls.
 * Every change of state goes through transition(), which fills the last
 * transition, with its reason, and tells the callback.
 */
#include "common.h"

#include "breaker.h"

#define CALL_FAILED 1u
#define CALL_SLOW 2u

struct breaker {
	struct breaker_config cfg;
	enum breaker_state state;
	unsigned char *ring;         /* [cfg.window] */
	int pos, count, failures, slow;
	int trial_allowed, trial_calls, trial_failures, trial_slow;
	int reopens;                 /* consecutive opens without a close between */
	int64_t open_until_ms;
	uint64_t rejected;
	struct breaker_transition last;
	breaker_notify_fn *notify;
	void *notify_user;
};

void breaker_config_init(struct breaker_config *cfg)
{
	cfg->window = 20;
	cfg->min_calls = 10;
	cfg->failure_rate = 50.0;
	cfg->slow_ms = 60000.0;
	cfg->slow_rate = 100.0;
	cfg->open_ms = 30000;
	cfg->open_max_ms = 0;
	cfg->half_open_calls = 3;
}

static int check_config(const struct breaker_config *c, struct strbuf *err)
{
	if (c->window < 1 || c->window > BREAKER_MAX_WINDOW)
		sb_addf(err, "breaker window must be 1..%d, got %d", BREAKER_MAX_WINDOW, c->window);
	else if (c->min_calls < 1 || c->min_calls > c->window)
		sb_addf(err, "breaker min_calls must be 1..%d (the window), got %d", c->window,
			c->min_calls);
	else if (!(c->failure_rate > 0.0 && c->failure_rate <= 100.0))
		sb_addf(err, "breaker failure_rate must be in (0, 100] percent, got %g",
			c->failure_rate);
	else if (!(c->slow_rate > 0.0 && c->slow_rate <= 100.0))
		sb_addf(err, "breaker slow_rate must be in (0, 100] percent, got %g", c->slow_rate);
	else if (!(c->slow_ms >= 0.0))
		sb_addf(err, "breaker slow_ms must not be negative, got %g", c->slow_ms);
	else if (c->open_ms <= 0)
		sb_addf(err, "breaker open_ms must be positive, got %" PRId64, c->open_ms);
	else if (c->open_max_ms != 0 && c->open_max_ms < c->open_ms)
		sb_addf(err, "breaker open_max_ms must be 0 or at least open_ms (%" PRId64
			"), got %" PRId64, c->open_ms, c->open_max_ms);
	else if (c->half_open_calls < 1)
		sb_addf(err, "breaker half_open_calls must be at least 1, got %d",
			c->half_open_calls);
	else
		return 0;
	return -1;
}

struct breaker *breaker_new(const struct breaker_config *cfg, struct strbuf *err)
{
	struct breaker_config def;
	if (!cfg) {
		breaker_config_init(&def);
		cfg = &def;
	}
	if (check_config(cfg, err) < 0)
		return NULL;
	struct breaker *b = xcalloc(1, sizeof(*b));
	b->cfg = *cfg;
	b->state = BREAKER_CLOSED;
	b->ring = xcalloc((size_t)cfg->window, 1);
	return b;
}

void breaker_free(struct breaker *b)
{
	if (!b)
		return;
	free(b->ring);
	free(b);
}

void breaker_on_transition(struct breaker *b, breaker_notify_fn *fn, void *user)
{
	b->notify = fn;
	b->notify_user = user;
}

const char *breaker_state_name(enum breaker_state s)
{
	switch (s) {
	case BREAKER_CLOSED:
		return "closed";
	case BREAKER_OPEN:
		return "open";
	case BREAKER_HALF_OPEN:
		return "half-open";
	}
	return "unknown";
}

enum breaker_state breaker_state(const struct breaker *b)
{
	return b->state;
}

const struct breaker_transition *breaker_last_transition(const struct breaker *b)
{
	return b->last.seq ? &b->last : NULL;
}

void breaker_get_stats(const struct breaker *b, struct breaker_stats *st)
{
	st->state = b->state;
	if (b->state == BREAKER_HALF_OPEN) {
		st->calls = b->trial_calls;
		st->failures = b->trial_failures;
		st->slow = b->trial_slow;
	} else {
		st->calls = b->count;
		st->failures = b->failures;
		st->slow = b->slow;
	}
	st->rejected = b->rejected;
	st->retry_at_ms = b->state == BREAKER_OPEN ? b->open_until_ms : 0;
}

static void clear_window(struct breaker *b)
{
	memset(b->ring, 0, (size_t)b->cfg.window);
	b->pos = b->count = b->failures = b->slow = 0;
}

static void transition(struct breaker *b, enum breaker_state to, int64_t now_ms,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void transition(struct breaker *b, enum breaker_state to, int64_t now_ms,
		       const char *fmt, ...)
{
	va_list ap;
	b->last.from = b->state;
	b->last.to = to;
	b->last.at_ms = now_ms;
	b->last.seq++;
	va_start(ap, fmt);
	vsnprintf(b->last.reason, sizeof(b->last.reason), fmt, ap);
	va_end(ap);
	b->state = to;

	switch (to) {
	case BREAKER_OPEN: {
		int64_t wait = b->cfg.open_ms;
		for (int i = 0; i < b->reopens && b->cfg.open_max_ms > wait; i++)
			wait = wait > b->cfg.open_max_ms / 2 ? b->cfg.open_max_ms : wait * 2;
		b->reopens++;
		b->open_until_ms = now_ms + wait;
		clear_window(b);
		break;
	}
	case BREAKER_HALF_OPEN:
		b->trial_allowed = b->trial_calls = b->trial_failures = b->trial_slow = 0;
		break;
	case BREAKER_CLOSED:
		b->reopens = 0;
		clear_window(b);
		break;
	}
	if (b->notify)
		b->notify(&b->last, b->notify_user);
}

bool breaker_allow(struct breaker *b, int64_t now_ms)
{
	if (b->state == BREAKER_OPEN && now_ms >= b->open_until_ms)
		transition(b, BREAKER_HALF_OPEN, now_ms, "open for %" PRId64 " ms",
			   now_ms - b->last.at_ms);
	switch (b->state) {
	case BREAKER_CLOSED:
		return true;
	case BREAKER_HALF_OPEN:
		if (b->trial_allowed < b->cfg.half_open_calls) {
			b->trial_allowed++;
			return true;
		}
		break;
	case BREAKER_OPEN:
		break;
	}
	b->rejected++;
	return false;
}

static double pct(int part, int whole)
{
	return whole ? 100.0 * part / whole : 0.0;
}

static bool slow_check_on(const struct breaker *b)
{
	return b->cfg.slow_rate < 100.0;
}

/* Judge a set of outcomes: true (and a reason in buf) if it should open. */
static bool too_bad(const struct breaker *b, int calls, int failures, int slow, char *buf,
		    size_t n)
{
	double fr = pct(failures, calls), sr = pct(slow, calls);
	if (fr >= b->cfg.failure_rate) {
		snprintf(buf, n, "failure rate %.1f%% >= %.1f%% over %d calls", fr,
			 b->cfg.failure_rate, calls);
		return true;
	}
	if (slow_check_on(b) && sr >= b->cfg.slow_rate) {
		snprintf(buf, n, "slow call rate %.1f%% >= %.1f%% over %d calls", sr,
			 b->cfg.slow_rate, calls);
		return true;
	}
	snprintf(buf, n, "failure rate %.1f%% < %.1f%% over %d trial calls", fr,
		 b->cfg.failure_rate, calls);
	return false;
}

void breaker_record(struct breaker *b, int64_t now_ms, bool success, double duration_ms)
{
	unsigned flags = (success ? 0u : CALL_FAILED) |
			 (duration_ms >= b->cfg.slow_ms ? CALL_SLOW : 0u);
	char why[120];

	switch (b->state) {
	case BREAKER_OPEN:
		return;
	case BREAKER_CLOSED:
		if (b->count == b->cfg.window) {
			unsigned old = b->ring[b->pos];
			b->failures -= (old & CALL_FAILED) != 0;
			b->slow -= (old & CALL_SLOW) != 0;
		} else {
			b->count++;
		}
		b->ring[b->pos] = (unsigned char)flags;
		b->pos = (b->pos + 1) % b->cfg.window;
		b->failures += (flags & CALL_FAILED) != 0;
		b->slow += (flags & CALL_SLOW) != 0;
		if (b->count >= b->cfg.min_calls &&
		    too_bad(b, b->count, b->failures, b->slow, why, sizeof(why)))
			transition(b, BREAKER_OPEN, now_ms, "%s", why);
		return;
	case BREAKER_HALF_OPEN:
		b->trial_calls++;
		b->trial_failures += (flags & CALL_FAILED) != 0;
		b->trial_slow += (flags & CALL_SLOW) != 0;
		if (b->trial_calls < b->cfg.half_open_calls)
			return;
		if (too_bad(b, b->trial_calls, b->trial_failures, b->trial_slow, why, sizeof(why)))
			transition(b, BREAKER_OPEN, now_ms, "trial %s", why);
		else
			transition(b, BREAKER_CLOSED, now_ms, "%s", why);
		return;
	}
}
