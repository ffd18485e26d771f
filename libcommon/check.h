/*
 * check.h: the health-check engine: many checks of four kinds run at
 * once, each ending in a monitoring-plugin status and a human reason.
 *
 * Kinds: http(s) through libcurl's multi interface (method, headers,
 * accepted status ranges, body substring or regex, a JSON field
 * condition, latency thresholds), tcp with non-blocking connects and an
 * optional send/expect exchange, exec through a bounded process pool
 * (exit 0/1/2/3 read as OK/WARNING/CRITICAL/UNKNOWN, so Nagios plugins run
 * unchanged), and heartbeat (a file's mtime, or the ts of the last record
 * of a JSONL file, must be younger than a TTL). One poll() loop drives
 * everything: no thread per target. ofs-health and ofs-deploy use it.
 */
#ifndef OFS_CHECK_H
#define OFS_CHECK_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

enum check_kind { CHECK_HTTP, CHECK_TCP, CHECK_EXEC, CHECK_HEARTBEAT };

/* Monitoring-plugin codes; also the order of badness. */
enum check_status { CHECK_OK = 0, CHECK_WARNING = 1, CHECK_CRITICAL = 2, CHECK_UNKNOWN = 3 };

struct check_status_range {
	int lo, hi; /* inclusive HTTP status range, e.g. 200..399 */
};

/* A JSON field condition on an http body: value at pointer, compared. */
enum check_json_op { CHECK_JSON_NONE, CHECK_JSON_EQUALS, CHECK_JSON_NOT_EQUALS,
		     CHECK_JSON_LT, CHECK_JSON_LE, CHECK_JSON_GT, CHECK_JSON_GE,
		     CHECK_JSON_EXISTS };

/*
 * One check, fully resolved (host and port filled in). Strings are owned
 * by the spec; check_spec_release frees them. Defaults (check_spec_init):
 * timeout 2 s, retries 0, http GET with accepted statuses 200..399 (the
 * Kubernetes rule), no thresholds, heartbeat ttl 60 s. check_spec_release
 * leaves the spec as check_spec_init does, so releasing twice is safe.
 */
struct check_spec {
	enum check_kind kind;
	int64_t timeout_ms;  /* per attempt */
	int64_t warn_ms;     /* latency above: WARNING (0 = none) */
	int64_t crit_ms;     /* latency above: CRITICAL (0 = none) */
	int retries;         /* further attempts after a failure, within one run */
	/* http */
	char *url;           /* full URL */
	char *method;        /* NULL: GET */
	char **headers;      /* NULL-terminated "Name: value" list, or NULL */
	char *body;          /* request body, or NULL */
	struct check_status_range *status_ok; /* NULL: 200..399 */
	size_t nstatus_ok;
	char *body_contains; /* the body must contain this, or NULL */
	char *body_regex;    /* the body must match this (POSIX ERE), or NULL */
	regex_t body_re;     /* compiled by check_spec_compile */
	bool body_re_ready;
	char *json_pointer;  /* RFC 6901 pointer into the JSON body, or NULL */
	enum check_json_op json_op;
	char *json_value;    /* compared as a number if both sides are numbers, else as text */
	bool tls_insecure;
	/* tcp */
	char *host;
	int port;
	char *send;          /* bytes to send after connecting, or NULL */
	char *expect;        /* POSIX ERE the first reply must match, or NULL */
	regex_t expect_re;
	bool expect_re_ready;
	/* exec */
	char **argv;         /* NULL-terminated, executed directly; or NULL */
	char *shell;         /* run by /bin/sh -c; or NULL */
	char **env;          /* NULL-terminated "NAME=value" added for exec, or NULL */
	/* heartbeat */
	char *file;          /* touched file or JSONL file */
	bool file_jsonl;     /* true: age of the last record's "ts", else mtime */
	int64_t ttl_ms;
};

void check_spec_init(struct check_spec *s);
void check_spec_release(struct check_spec *s);
/* check_spec_copy: a deep copy (regexes are compiled anew). */
void check_spec_copy(struct check_spec *dst, const struct check_spec *src);
/* check_spec_compile: compile the regexes; -1 with a reason in err. */
int check_spec_compile(struct check_spec *s, struct strbuf *err);
const char *check_kind_name(enum check_kind k);
/* check_status_name: "ok", "warning", "critical", "unknown". */
const char *check_status_name(enum check_status s);

/*
 * The outcome of one check. reason is empty only for a plain OK;
 * otherwise it says what happened in words a person reads at 3 a.m.:
 * "connection refused", "status 503, want 200-399", "body lacks 'ok'",
 * "latency 812 ms over warning threshold 500 ms", "DISK CRITICAL - /
 * 91% used" (an exec check's first line), "heartbeat 93 s old, ttl 60 s".
 *
 * The rules, by kind:
 *  http: no response -> CRITICAL with the client's reason ("connection
 *    refused", "timed out after 2000 ms connecting"; a malformed URL is
 *    UNKNOWN and not retried); a status outside status_ok -> CRITICAL
 *    "status 503, want 200-399", except 429 -> WARNING "status 429 (too
 *    many requests)" (as Consul); then body_contains ("body lacks 'ok'"),
 *    body_regex ("body does not match '...'"), the JSON condition ("body
 *    is not JSON", "/status is missing", "/status is \"degraded\", want
 *    \"ok\"", "/n is 5, want < 3"), each CRITICAL; then latency_ms over
 *    crit_ms -> CRITICAL, over warn_ms -> WARNING. Bodies are read up to
 *    256 KiB.
 *  tcp: "connection refused", "cannot connect: ...", "timed out after N ms
 *    connecting" (every resolved address is tried; names are resolved
 *    synchronously, so large fleets should use addresses); after the
 *    send, the reply is read until expect matches, within the first 4 KiB
 *    and timeout_ms: else "reply did not match '^\+PONG' within N ms (got
 *    '-ERR\r\n')" or "connection closed before the reply matched ...";
 *    then the latency thresholds.
 *  exec: exit 0/1/2/3 -> OK/WARNING/CRITICAL/UNKNOWN, output = the first
 *    line of stdout (perfdata after '|' kept), reason = that line when not
 *    OK ("exit 2 with no output" or "exit 2: <first stderr line>" if
 *    stdout is empty); another exit -> UNKNOWN "exit 127: ..."; a signal ->
 *    UNKNOWN "killed by signal 9"; the timeout -> CRITICAL "timed out
 *    after N ms" (the process group gets SIGTERM, then SIGKILL 500 ms
 *    later); cannot run -> UNKNOWN with proc.h's reason; then the latency
 *    thresholds (latency_ms is the run time).
 *  heartbeat: a missing file -> CRITICAL "no heartbeat: 'FILE' does not
 *    exist"; age over ttl_ms -> CRITICAL "heartbeat 93 s old, ttl 60 s"
 *    (milliseconds when the ttl is not whole seconds). With file_jsonl the
 *    beat is the RFC 3339 "ts" of the last line, read from the end of the
 *    file (at most 1 MiB of it); a last line without its newline that does
 *    not parse is taken as a record being written and the line before it
 *    counts; no parsable ts -> UNKNOWN ("last line of 'F' has no \"ts\"").
 * Regexes are POSIX extended, with ^ and $ matching at line breaks too;
 * a spec not compiled with check_spec_compile has them compiled per check
 * by the runner, and a bad one makes the check UNKNOWN ("invalid
 * body_regex '(': ..."), never retried.
 */
struct check_result {
	enum check_status status;
	struct strbuf reason;
	double latency_ms;       /* of the last attempt */
	double dns_ms, connect_ms, tls_ms, first_byte_ms; /* http: phases; tcp: connect_ms */
	int attempts;            /* 1 + retries used */
	int http_status;         /* 0 if none */
	int exit_code;           /* exec: -1 if none (signal, timeout, not run) */
	struct strbuf output;    /* exec: first line of stdout; http: nothing */
	int64_t start_ns;        /* wall clock when the first attempt began */
	int64_t age_ms;          /* heartbeat: age of the last beat; -1 if none or not heartbeat */
};

/* check_result_init: an empty result (status UNKNOWN, exit_code -1, no allocation). */
void check_result_init(struct check_result *r);
/* check_result_release: free the strings and make it empty again. */
void check_result_release(struct check_result *r);

struct check_runner;
typedef void check_done_fn(void *user, const struct check_spec *spec,
			   const struct check_result *res, void *ctx);

/*
 * check_runner_new: at most concurrency checks in flight (http, tcp and
 * exec together; exec additionally limited to proc_limit processes).
 * Each check starts after a random delay in [0, jitter_ms] (spread, so a
 * thousand checks do not hit at the same instant).
 */
struct check_runner *check_runner_new(int concurrency, int proc_limit, int64_t jitter_ms);
/*
 * The runner keeps its http client (and so its open connections) and its
 * process pool from run to run. Values below 1: concurrency 1, proc_limit
 * the same as concurrency; a negative jitter is 0.
 *
 * check_runner_set_jitter: the jitter for checks added from now on.
 */
void check_runner_set_jitter(struct check_runner *r, int64_t jitter_ms);
/* check_runner_free: free the runner, closing its connections; NULL is fine. */
void check_runner_free(struct check_runner *r);
/*
 * check_runner_add: queue a check; the spec must outlive the run. Its
 * jitter is drawn here (rnd_below); checks due at the same time start in
 * the order they were added. May be called from the done callback: the
 * check then starts in the same run.
 */
void check_runner_add(struct check_runner *r, const struct check_spec *spec, void *user);
/*
 * check_runner_run: run everything queued; done is called once per check,
 * in completion order. Returns 0, or -1 if a termination signal arrived
 * (sig.h) and the run was abandoned (remaining checks are not reported).
 * A failed attempt (CRITICAL or UNKNOWN) is tried again at once, up to
 * spec->retries times; res->attempts counts them. res is valid only
 * during the callback, which must not call check_runner_run or
 * check_runner_free. The signal is noticed within about 50 ms (at once
 * in poll when sig_setup was called); abandoned children are killed.
 * Dies only if poll(2) itself fails (out of memory).
 */
int check_runner_run(struct check_runner *r, check_done_fn *done, void *ctx);

#endif
