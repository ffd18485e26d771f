/*
 * test_breaker.c: unit tests for breaker.c, the circuit breaker.
 *
 * Each case runs a script of steps against a fresh breaker and compares
 * the trace of states after every step with the expected one. Steps:
 *   s  record a success (1 ms)        f  record a failure (1 ms)
 *   w  record a slow success (10 s)   W  record a slow failure (10 s)
 *   a  breaker_allow, expected true   x  breaker_allow, expected false
 *   +N advance the clock N ms
 * Trace letters: C closed, O open, H half-open; '!' after a letter marks
 * an allow whose answer was not the expected one.
 */
#include "common.h"

#include "breaker.h"
#include "tap.h"

struct opts {
	int window, min_calls, half_open_calls;
	double failure_rate, slow_ms, slow_rate;
	int64_t open_ms, open_max_ms;
};

struct script_case {
	const char *name;
	struct opts o;
	const char *script;
	const char *trace;
};

static struct breaker *make(const struct opts *o)
{
	struct breaker_config cfg;
	breaker_config_init(&cfg);
	if (o->window)
		cfg.window = o->window;
	if (o->min_calls)
		cfg.min_calls = o->min_calls;
	if (o->half_open_calls)
		cfg.half_open_calls = o->half_open_calls;
	if (o->failure_rate)
		cfg.failure_rate = o->failure_rate;
	if (o->slow_ms)
		cfg.slow_ms = o->slow_ms;
	if (o->slow_rate)
		cfg.slow_rate = o->slow_rate;
	if (o->open_ms)
		cfg.open_ms = o->open_ms;
	if (o->open_max_ms)
		cfg.open_max_ms = o->open_max_ms;
	struct strbuf err = SB_INIT;
	struct breaker *b = breaker_new(&cfg, &err);
	if (!b)
		die("bad test config: %s", err.buf);
	sb_release(&err);
	return b;
}

static char letter(enum breaker_state s)
{
	return s == BREAKER_CLOSED ? 'C' : s == BREAKER_OPEN ? 'O' : 'H';
}

/* Run script on b starting at *now; return the trace (caller frees). */
static char *run(struct breaker *b, const char *script, int64_t *now)
{
	struct strbuf trace = SB_INIT;
	const char *p = script;
	while (*p) {
		if (*p == ' ') {
			p++;
			continue;
		}
		bool bad = false;
		switch (*p) {
		case 's':
			breaker_record(b, *now, true, 1);
			break;
		case 'f':
			breaker_record(b, *now, false, 1);
			break;
		case 'w':
			breaker_record(b, *now, true, 10000);
			break;
		case 'W':
			breaker_record(b, *now, false, 10000);
			break;
		case 'a':
			bad = !breaker_allow(b, *now);
			break;
		case 'x':
			bad = breaker_allow(b, *now);
			break;
		case '+': {
			char *end;
			*now += strtol(p + 1, &end, 10);
			p = end - 1;
			break;
		}
		default:
			die("bad script step '%c'", *p);
		}
		p++;
		sb_addch(&trace, letter(breaker_state(b)));
		if (bad)
			sb_addch(&trace, '!');
	}
	return sb_detach(&trace, NULL);
}

static const struct script_case cases[] = {
	{ "opens when the failure rate reaches the threshold",
	  { .window = 4, .min_calls = 4 }, "s s s f f", "CCCCO" },
	{ "25% failures stay closed",
	  { .window = 4, .min_calls = 4 }, "s s s f", "CCCC" },
	{ "no judgement before min_calls",
	  { .window = 10, .min_calls = 5 }, "f f f f f", "CCCCO" },
	{ "the window slides: old failures fall out",
	  { .window = 4, .min_calls = 4 }, "f s s s s f s f", "CCCCCCCO" },
	{ "a 100% threshold needs every call in the window to fail",
	  { .window = 3, .min_calls = 3, .failure_rate = 100 }, "f f s f f f", "CCCCCO" },
	{ "open refuses until open_ms has passed, then allow goes half-open",
	  { .window = 2, .min_calls = 2, .open_ms = 1000 }, "f f x +999 x +1 a", "COOOOOH" },
	{ "half-open allows half_open_calls trials, then refuses",
	  { .window = 2, .min_calls = 2, .open_ms = 10 }, "f f +10 a a a x", "COOHHHH" },
	{ "successful trials close the breaker",
	  { .window = 2, .min_calls = 2, .open_ms = 10 }, "f f +10 a a a s s s a", "COOHHHHHCC" },
	{ "one failed trial in three is below 50% and closes",
	  { .window = 2, .min_calls = 2, .open_ms = 10 }, "f f +10 a a a s f s", "COOHHHHHC" },
	{ "two failed trials in three re-open",
	  { .window = 2, .min_calls = 2, .open_ms = 10 }, "f f +10 a a a s f f x", "COOHHHHHOO" },
	{ "the decision waits for all trial outcomes",
	  { .window = 2, .min_calls = 2, .open_ms = 10, .half_open_calls = 2 },
	  "f f +10 a a f x s", "COOHHHHO" },
	{ "results recorded while open are ignored",
	  { .window = 2, .min_calls = 2, .open_ms = 10 }, "f f s s s +10 a", "COOOOOH" },
	{ "a closed breaker starts with a fresh window",
	  { .window = 4, .min_calls = 4, .open_ms = 10, .half_open_calls = 1 },
	  "f f f f +10 a s f f f", "CCCOOHCCCC" },
	{ "re-opens wait longer, doubling up to open_max_ms, and reset on close",
	  { .window = 1, .min_calls = 1, .open_ms = 1000, .open_max_ms = 3000,
	    .half_open_calls = 1 },
	  "f +1000 a f +1999 x +1 a f +2999 x +1 a s f +999 x +1 a",
	  "OOHOOOOHOOOOHCOOOOH" },
	{ "slow calls open the breaker when the slow check is on",
	  { .window = 4, .min_calls = 4, .slow_ms = 100, .slow_rate = 50 }, "w s w s", "CCCO" },
	{ "slow calls are ignored at the default 100% (off)",
	  { .window = 4, .min_calls = 4, .slow_ms = 100 }, "w w w w w", "CCCCC" },
	{ "a slow failure counts as both",
	  { .window = 4, .min_calls = 4, .slow_ms = 100, .slow_rate = 50,
	    .failure_rate = 75 }, "W s W s", "CCCO" },
	{ "slow trials re-open",
	  { .window = 1, .min_calls = 1, .open_ms = 10, .slow_ms = 100, .slow_rate = 50,
	    .half_open_calls = 2 }, "f +10 a a w w", "OOHHHO" },
};

struct log {
	struct strbuf sb;
	int calls;
};

static void on_transition(const struct breaker_transition *t, void *user)
{
	struct log *log = user;
	log->calls++;
	sb_addf(&log->sb, "%" PRIu64 " %s>%s @%" PRId64 ": %s\n", t->seq,
		breaker_state_name(t->from), breaker_state_name(t->to), t->at_ms, t->reason);
}

static void test_transitions(void)
{
	struct opts o = { .window = 4, .min_calls = 4, .open_ms = 500 };
	struct breaker *b = make(&o);
	struct log log = { SB_INIT, 0 };
	breaker_on_transition(b, on_transition, &log);
	ok(breaker_last_transition(b) == NULL, "no transition before the first");
	int64_t now = 1000;
	char *trace = run(b, "s f s f +499 x x +1 a a a f f s", &now);
	is_str(trace, "CCCOOOOOHHHHHO", "transition script");
	free(trace);
	is_str(log.sb.buf,
	       "1 closed>open @1000: failure rate 50.0% >= 50.0% over 4 calls\n"
	       "2 open>half-open @1500: open for 500 ms\n"
	       "3 half-open>open @1500: trial failure rate 66.7% >= 50.0% over 3 calls\n",
	       "the callback sees each transition with its reason");
	const struct breaker_transition *t = breaker_last_transition(b);
	ok(t && t->seq == 3 && t->from == BREAKER_HALF_OPEN && t->to == BREAKER_OPEN &&
		   t->at_ms == 1500,
	   "last transition is the re-open");

	struct breaker_stats st;
	breaker_get_stats(b, &st);
	is_int(st.state, BREAKER_OPEN, "stats: state");
	is_int((long long)st.rejected, 2, "stats: two refusals counted");
	is_int(st.retry_at_ms, 2000, "stats: retry at re-open time plus open_ms");

	now += 500;
	ok(breaker_allow(b, now), "allowed again after the second wait");
	breaker_get_stats(b, &st);
	is_int(st.calls, 0, "stats: half-open starts with no trial outcomes");
	breaker_record(b, now, true, 5);
	breaker_get_stats(b, &st);
	is_int(st.calls, 1, "stats: half-open counts trial outcomes");
	is_int(log.calls, 4, "four transitions reported");

	breaker_on_transition(b, NULL, NULL);
	breaker_record(b, now, true, 5);
	breaker_record(b, now, true, 5);
	is_int(breaker_state(b), BREAKER_CLOSED, "closes after good trials");
	is_int(log.calls, 4, "no callback once it is turned off");
	is_int((long long)breaker_last_transition(b)->seq, 5, "but the last transition is kept");
	sb_release(&log.sb);
	breaker_free(b);
}

static void test_defaults(void)
{
	struct breaker_config cfg;
	breaker_config_init(&cfg);
	ok(cfg.window == 20 && cfg.min_calls == 10 && cfg.failure_rate == 50.0 &&
		   cfg.slow_rate == 100.0 && cfg.open_ms == 30000 && cfg.half_open_calls == 3,
	   "documented defaults");

	struct strbuf err = SB_INIT;
	struct breaker *b = breaker_new(NULL, &err);
	int64_t now = 0;
	char *trace = run(b, "f f f f f f f f f f x +29999 x +1 a a a x", &now);
	is_str(trace, "CCCCCCCCCOOOOOHHHH", "default breaker: 10 calls, 30 s open, 3 trials");
	free(trace);
	breaker_free(b);
	breaker_free(NULL);
	sb_release(&err);
}

static void test_config_errors(void)
{
	static const struct {
		struct breaker_config cfg;
		const char *err;
	} bad[] = {
		{ { 0, 1, 50, 100, 100, 10, 0, 1 }, "breaker window must be 1..100000, got 0" },
		{ { 20, 30, 50, 100, 100, 10, 0, 1 },
		  "breaker min_calls must be 1..20 (the window), got 30" },
		{ { 20, 0, 50, 100, 100, 10, 0, 1 },
		  "breaker min_calls must be 1..20 (the window), got 0" },
		{ { 20, 10, 0, 100, 100, 10, 0, 1 },
		  "breaker failure_rate must be in (0, 100] percent, got 0" },
		{ { 20, 10, 101, 100, 100, 10, 0, 1 },
		  "breaker failure_rate must be in (0, 100] percent, got 101" },
		{ { 20, 10, 50, 100, 0, 10, 0, 1 },
		  "breaker slow_rate must be in (0, 100] percent, got 0" },
		{ { 20, 10, 50, -1, 100, 10, 0, 1 }, "breaker slow_ms must not be negative, got -1" },
		{ { 20, 10, 50, 100, 100, 0, 0, 1 }, "breaker open_ms must be positive, got 0" },
		{ { 20, 10, 50, 100, 100, 10, 5, 1 },
		  "breaker open_max_ms must be 0 or at least open_ms (10), got 5" },
		{ { 20, 10, 50, 100, 100, 10, 0, 0 },
		  "breaker half_open_calls must be at least 1, got 0" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct strbuf err = SB_INIT;
		struct breaker *b = breaker_new(&bad[i].cfg, &err);
		ok(b == NULL, "invalid config %zu is refused", i);
		is_str(err.buf, bad[i].err, "  with the reason");
		breaker_free(b);
		sb_release(&err);
	}
}

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct breaker *b = make(&cases[i].o);
		int64_t now = 0;
		char *trace = run(b, cases[i].script, &now);
		is_str(trace, cases[i].trace, cases[i].name);
		free(trace);
		breaker_free(b);
	}
	test_transitions();
	test_defaults();
	test_config_errors();

	is_str(breaker_state_name(BREAKER_CLOSED), "closed", "state name closed");
	is_str(breaker_state_name(BREAKER_OPEN), "open", "state name open");
	is_str(breaker_state_name(BREAKER_HALF_OPEN), "half-open", "state name half-open");
	return tap_done();
}
