/*
 * send.h: what the files of ofs-split send share. A request read from the
 * input (send_input.c) or taken by the proxy (send_listen.c) becomes a
 * struct sreq; send.c sends its legs, one per side (primary, candidate,
 * secondary), on one libcurl multi client and, when every leg has ended,
 * hands it to send_out.c, which compares the answers (send_compare.c),
 * writes its record and counts it for the summary.
 */
#ifndef OFS_SPLIT_SEND_H
#define OFS_SPLIT_SEND_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "breaker.h"
#include "http.h"
#include "jsondiff.h"
#include "jsonl.h"
#include "jw.h"
#include "noise.h"
#include "out.h"
#include "reqrec.h"
#include "strbuf.h"
#include "vscan.h"
#include "weights.h"

enum { SIDE_PRIMARY, SIDE_CANDIDATE, SIDE_SECONDARY, SIDES };

/* The name of a side in records: "primary", "candidate", "secondary". */
const char *send_side_name(int side);

enum leg_state {
	LEG_NONE,    /* not to be sent (no secondary; split mode's other side) */
	LEG_QUEUED,  /* waiting for a free connection of its side */
	LEG_SENT,    /* in flight */
	LEG_DONE,    /* answered, or failed: resp says which */
	LEG_SKIPPED, /* not sent after all (breaker, write, backlog) */
};

struct sreq;

/* One side's copy of a request. */
struct leg {
	struct sreq *x;   /* handed to libcurl as the request's user pointer */
	int side;
	enum leg_state st;
	struct http_response resp;
};

/* One request on its way (owned by send.c from admission to its record). */
struct sreq {
	cJSON *rec;               /* the input record (rq points into it) */
	struct reqrec rq;
	char *id;                 /* the record's id, or FILE:LINE */
	char *endpoint;           /* noise_endpoint of method and path */
	bool write;               /* POST, PUT, PATCH or DELETE */
	char *key;                /* split mode: the key's text, NULL if none */
	size_t keylen;
	bool fallback;            /* split mode: sent to the primary instead */
	const char *reason;       /* why the candidate was skipped or fell back */
	char **hdrs;              /* the request's header lines as sent, NULL-ended */
	size_t nhdrs;
	struct leg leg[SIDES];
	struct sreq *qnext[SIDES]; /* in a side's queue of waiting legs */
	int pending;              /* legs queued or in flight, plus one while routed */
	struct sreq *prev, *next; /* in send.c's list of requests on their way */
};

/* sreq_free: free x and everything it owns. */
void sreq_free(struct sreq *x);

/* ---- send_input.c: the requests, from every input in turn --------------- */

struct sin {
	char **files;
	int nfiles, next;
	struct jsonl_reader *r;
	bool strict, stop;
	bool live;              /* some input is not a regular file: flush records */
	const struct vptr *key; /* split mode: where the key is, else NULL */
};

/*
 * sin_next: the next request in *out (owned by the caller: sreq_free).
 * Returns 1, 0 when every input has ended, or JSONL_AGAIN when the
 * current input (a pipe) has no whole line yet: wait for sin_fd to be
 * readable. Bad lines are rejected as FILE:LINE on stderr (jsonl.h);
 * with --strict the first one ends the input. An input that cannot be
 * opened is reported and passed over (exit status 2 at the end).
 */
int sin_next(struct sin *in, struct sreq **out);
/* sin_fd: the descriptor of the current input, or -1. */
int sin_fd(const struct sin *in);
/* sin_close: close the current input, if any. */
void sin_close(struct sin *in);

/* ---- send_compare.c: two answers, field by field ------------------------ */

struct send_cmp {
	const char *const *ignore; /* --ignore prefixes */
	size_t nignore;
	char **headers;            /* --compare-header names, lower case */
	size_t nheaders;
};

/* A body parsed once for every comparison it takes part in. */
struct send_body {
	const struct http_response *resp;
	bool parsed;
	cJSON *json; /* NULL: empty or not JSON */
};

/*
 * send_compare: compare answer a (the primary's) with b, over a virtual
 * document {"status", "headers": {chosen}, "body"}, calling fn for each
 * difference not under an --ignore prefix: status, each --compare-header
 * header, the body field by field when both parse as JSON, else as bytes
 * (one "changed" at "/body" with both texts, cut to 512 bytes). Returns
 * the number of differences ignored. Bodies are parsed on first need and
 * kept in a and b (free with send_body_free).
 */
size_t send_compare(const struct send_cmp *cmp, struct send_body *a, struct send_body *b,
		    jd_fn *fn, void *user);
void send_body_free(struct send_body *b);

/* ---- send_out.c: records and the summary -------------------------------- */

struct send_out {
	struct out *out;
	struct strbuf sb;
	struct jw w;
	bool split, has_secondary;
	const struct send_cmp *cmp;
	struct noise *noise;
	struct noise_rule rule;
	struct ht *eps;            /* endpoint -> latencies (send_out.c) */
	struct sketch *lat[2];     /* split mode: per variant */
	/* tallies of the records written */
	uint64_t requests, compared, matched, mismatched, ignored, skipped, errors;
	uint64_t primary_errors, primary_sent;
	uint64_t sent[2], failed[2], fallbacks;
	char last_primary_error[384];
};

void sout_init(struct send_out *o, struct out *out, bool split, bool has_secondary,
	       const struct send_cmp *cmp, const struct noise_rule *rule);
/* sout_request: x has ended: compare (shadow) and write its record. */
void sout_request(struct send_out *o, struct sreq *x);
/* sout_breaker: a split.breaker record for a change of state. */
void sout_breaker(struct send_out *o, const char *from, const char *to, const char *reason);
/*
 * sout_summary: decide noise (Diffy's rule) and write split.summary.
 * Returns the number of fields reported (shadow mode) or of requests not
 * answered (split mode): what makes the answer "no".
 */
uint64_t sout_summary(struct send_out *o);
void sout_release(struct send_out *o);

/* ---- send.c: the sides, their queues and the breaker --------------------- */

struct send {
	/* options */
	const char *url[SIDES];
	size_t urllen[SIDES];   /* without trailing '/' */
	int conc;
	size_t backlog;
	double rate;
	long timeout_ms;
	bool allow_writes, split;
	struct split_weights w;
	int vside[SPLIT_MAX_VARIANTS];
	const char *salt;
	struct vptr key;
	/* state */
	struct breaker *br;
	struct http_client *client;
	struct sin in;
	struct send_out so;
	int inflight[SIDES];
	struct sreq *qhead[SIDES], *qtail[SIDES];
	size_t qlen[SIDES];
	struct sreq *alive;     /* every request admitted and not yet written */
	size_t held;
	bool input_done, input_waiting, flushing;
	int64_t next_ns;        /* --rate: when the next request may go */
};

/* send_answered: whether a leg that ended got an HTTP answer. */
bool send_answered(const struct leg *l);
/* sreq_headers: the header lines every side gets, into x->hdrs: the
 * recorded ones but for hop-by-hop fields (reqrec.h). */
void sreq_headers(struct sreq *x);
/* send_track: x is on its way: held (pending 1) until send_release. */
void send_track(struct send *s, struct sreq *x);
/* send_release: one leg of x (or the hold) has ended; when none is left,
 * x's record is written and x freed. */
void send_release(struct send *s, struct sreq *x);
/* send_shadow_copies: queue x's copies for the candidate and secondary,
 * or mark the candidate skipped (write, breaker open, busy), and start
 * what may start. */
void send_shadow_copies(struct send *s, struct sreq *x);
/* send_on_done: the libcurl callback for every leg. */
void send_on_done(const struct http_request *req, struct http_response *resp, void *user);

/* ---- send_listen.c: the shadowing reverse proxy (--listen) --------------- */

/*
 * send_listen: serve clients on addr ("host:port", port 0: any) from the
 * primary and shadow each request, until SIGINT or SIGTERM. Returns
 * 128+N then, or EXIT_SYSTEM if it cannot listen.
 */
int send_listen(struct send *s, const char *addr);

#endif
