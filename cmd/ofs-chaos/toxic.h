/*
 * toxic.h: the toxics of `ofs-chaos proxy` and the pipeline that applies
 * them to one direction of a proxied connection.
 *
 * A toxic is a validated description (toxic.c): a type, a stream
 * (upstream: bytes from the client to the upstream; downstream: the
 * other way), a toxicity (the probability that it applies to a given
 * connection, rolled once per connection) and the attributes of its
 * type, kept in nanoseconds, bytes and bytes per second whatever units
 * the JSON used. A flow (flow.c) is one direction of one connection: a
 * zero-copy fast path while no toxic acts on it, and a queue of chunks
 * with release times while toxics delay, slice, throttle, cut or drop
 * its bytes. The proxy (proxy.c) decides which toxics act on a flow and
 * hands the flow their sum as a struct flow_prof.
 */
#ifndef OFS_CHAOS_TOXIC_H
#define OFS_CHAOS_TOXIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "config.h"
#include "jw.h"

enum toxic_type {
	TOX_LATENCY,
	TOX_BANDWIDTH,
	TOX_SLOW_CLOSE,
	TOX_TIMEOUT,
	TOX_RESET_PEER,
	TOX_SLICER,
	TOX_LIMIT_DATA,
	TOX_DOWN,
	TOX_CLOSE_AFTER,
	TOX_SLOW_CONNECT,
	TOX_DROP,
	TOX_NTYPES
};

/* Streams double as flow indexes: FLOW_UP is client -> upstream. */
enum toxic_stream { TOX_UPSTREAM = 0, TOX_DOWNSTREAM = 1 };
enum { FLOW_UP = TOX_UPSTREAM, FLOW_DOWN = TOX_DOWNSTREAM };

/* The longest a time attribute may be: 30 days. */
#define TOXIC_MAX_NS (30LL * 86400 * 1000000000)

struct toxic {
	uint64_t id;             /* unique within one proxy run */
	char *name;              /* owned */
	enum toxic_type type;
	enum toxic_stream stream;
	double toxicity;         /* 0..1 */
	/* Attributes; each type uses the ones named in toxic.c. */
	int64_t latency_ns, jitter_ns; /* latency */
	double rate_kbs;               /* bandwidth, KB/s (1 KB = 1000 bytes) */
	int64_t delay_ns;              /* slow_close, slow_connect; slicer (µs in JSON) */
	int64_t timeout_ns;            /* timeout, reset_peer, close_after */
	uint64_t bytes;                /* limit_data */
	uint64_t average_size, size_variation; /* slicer */
};

/* toxic_type_name: "latency", ...; toxic_stream_name: "upstream" or
 * "downstream". Static strings. */
const char *toxic_type_name(enum toxic_type t);
const char *toxic_stream_name(enum toxic_stream s);

/*
 * toxic_parse: validate the toxic object j found at pointer ptr of the
 * document cfg holds, recording every problem with cfg_error (pointers
 * under ptr: "/toxic/attributes/latency"), and fill *t when there is
 * none. Keys: name (default TYPE_STREAM), type, stream (default
 * downstream), toxicity (default 1), attributes (the type's; times as
 * numbers in the type's unit or duration strings like "250ms"). Returns
 * the number of errors recorded; on success t->name is a new string the
 * caller releases with toxic_release, and t->id is 0.
 */
int toxic_parse(struct cfg *cfg, const cJSON *j, const char *ptr, struct toxic *t);

/* toxic_write: t as a JSON object value, every attribute of its type
 * present, in the units of the JSON form (ms, µs, KB/s, bytes). */
void toxic_write(struct jw *w, const struct toxic *t);

/* toxic_to_json: the same as a new cJSON tree (the caller deletes it);
 * used to merge an update into the stored toxic. */
cJSON *toxic_to_json(const struct toxic *t);

/* toxic_release: free what toxic_parse allocated (harmless twice). */
void toxic_release(struct toxic *t);

/*
 * toxic_roll: the roll of the toxic named name for connection number
 * conn (1, 2, ...) under seed: a number in [0, 1) that depends on those
 * three only, so --seed repeats every decision. The toxic applies to
 * the connection when the roll is below its toxicity.
 */
double toxic_roll(uint64_t seed, uint64_t conn, const char *name);

/* toxic_mix: a well-mixed 64-bit value of x (splitmix64's finalizer);
 * seeds per-connection generators. */
uint64_t toxic_mix(uint64_t x);

/* ---- flows (flow.c) ---------------------------------------------------- */

/* What the toxics acting on a flow do to it right now, summed. */
struct flow_prof {
	bool any;                 /* some toxic acts on this flow */
	bool blackhole;           /* timeout or reset_peer: bytes are dropped */
	int64_t latency_ns;       /* latency toxics add up */
	int64_t jitter_ns;
	double rate;              /* bytes per second; 0 is unlimited (the lowest wins) */
	const struct toxic *slicer; /* the first slicer, or NULL */
	int64_t slow_close_ns;    /* slow_close toxics add up */
	uint64_t room;            /* bytes limit_data still lets through; UINT64_MAX: no limit */
};

struct chunk;

struct flow {
	int pipe[2];              /* fast path: splice(2) through this pipe; -1 when none */
	size_t in_pipe;           /* bytes in the pipe, still to write */
	char *rest;               /* read/write fallback: unwritten bytes (owned) */
	size_t rest_off, rest_len;
	struct chunk *head, *tail; /* toxic path: chunks in release order */
	size_t queued;            /* bytes in the chunks, plus their bookkeeping */
	int64_t last_due;         /* latency keeps the order of chunks */
	int64_t bw_next;          /* bandwidth: when the next byte may leave */
	bool eof_in;              /* the source ended its stream */
	int64_t eof_due;          /* when that end may be passed on */
	bool eof_out;             /* passed on (shutdown of the destination's write side) */
	bool cut;                 /* limit_data reached: nothing more is read */
	bool wblocked;            /* the destination's buffer was full */
	bool no_splice;           /* splice(2) failed once: use read/write */
	uint64_t bytes_in;        /* read from the source */
	uint64_t bytes_out;       /* written to the destination */
	uint64_t dropped;         /* read and dropped by timeout or reset_peer */
};

/* What flow_pump reports. */
enum flow_status {
	FLOW_OK,        /* nothing wrong; call again on events or at flow_due */
	FLOW_SRC_RESET, /* the source reset the connection (ECONNRESET) */
	FLOW_SRC_ERR,   /* reading failed otherwise (errno set) */
	FLOW_DST_ERR,   /* writing failed (errno set: EPIPE, ECONNRESET...) */
	FLOW_CUT,       /* limit_data was reached and everything allowed was written */
};

/* Per-flow queue limit: a source is not read while this much waits
 * (chunk bookkeeping included). */
#define FLOW_MAX_QUEUE (1024 * 1024)

/* flow_init: an empty flow with no pipe; flow_release frees its memory
 * and closes its pipe (the sockets are the caller's). */
void flow_init(struct flow *f);
void flow_release(struct flow *f);

/*
 * flow_pump: move bytes from src to dst as the profile says, without
 * blocking: write what is due, read while there is room (at most a few
 * reads per call, for fairness), pass the end of stream on
 * (shutdown(dst, SHUT_WR)) once everything before it was written and
 * slow_close allows. *p is updated (room shrinks as bytes pass). rng is
 * the connection's generator (jitter, slice sizes). now is
 * CLOCK_MONOTONIC ns. Counts the bytes in f.
 */
enum flow_status flow_pump(struct flow *f, int src, int dst, struct flow_prof *p, int64_t now,
			   uint64_t *rng);

/* flow_wants_read / flow_wants_write: whether the flow waits for its
 * source to be readable, or its destination writable, now. */
bool flow_wants_read(const struct flow *f, const struct flow_prof *p);
bool flow_wants_write(const struct flow *f);

/* flow_due: the earliest time (mono ns) at which flow_pump has timed
 * work to do (a chunk's release, the bandwidth's next slot, a delayed
 * end of stream), or INT64_MAX. */
int64_t flow_due(const struct flow *f, const struct flow_prof *p);

/* flow_release_queue: make every queued chunk due now (the toxics that
 * delayed it were removed); the bandwidth slot is forgotten too. */
void flow_release_queue(struct flow *f);

/* flow_idle: nothing is buffered in the flow (pipe, rest or chunks). */
bool flow_idle(const struct flow *f);

/* flow_done: the end of stream was passed on, or the flow was cut. */
bool flow_done(const struct flow *f);

#endif
