/*
 * proxy.h: what the files of `ofs-chaos proxy` share: the proxy's state,
 * its connections, and the operations the control channel (stdin and
 * the control socket, proxy_control.c) performs on its toxics.
 *
 * Everything runs in one thread around one epoll(7) loop (proxy.c), so
 * nothing here is locked. Each descriptor in the epoll set carries a tag
 * saying what it is: a side of a connection, a control client (both
 * pointers, with the kind in the two low bits) or one of the fixed
 * descriptors (signals, timer, listeners, stdin).
 */
#ifndef OFS_CHAOS_PROXY_H
#define OFS_CHAOS_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "jw.h"
#include "strbuf.h"
#include "toxic.h"

/* Tags of the epoll set. */
enum {
	TAG_CLIENT = 0,   /* a connection's client side: (uintptr_t)conn | 0 */
	TAG_UPSTREAM = 1, /* its upstream side: (uintptr_t)conn | 1 */
	TAG_CTL = 2,      /* a control client: (uintptr_t)ctl_client | 2 */
	TAG_FIXED = 3,    /* (id << 2) | 3, ids below */
};
enum { FIX_SIGNAL, FIX_TIMER, FIX_LISTEN, FIX_CONTROL, FIX_STDIN };
#define TAG_OF(ptr, kind) ((uint64_t)(uintptr_t)(ptr) | (kind))
#define TAG_FIX(id) (((uint64_t)(id) << 2) | TAG_FIXED)

/* Where a toxic change came from, for the records. */
#define VIA_OPTION "option"
#define VIA_STDIN "stdin"
#define VIA_SOCKET "socket"

/* The state of one toxic on one connection. */
struct ctox {
	struct toxic *t;
	double roll;       /* toxic_roll for this connection; it acts while roll < toxicity */
	bool on;
	int64_t since;     /* mono ns when it started to act */
	uint64_t base;     /* its flow's bytes_in at that moment (limit_data counts from it) */
};

enum conn_state {
	CONN_WAITING,    /* slow_connect: the upstream connect is not started yet */
	CONN_CONNECTING, /* the non-blocking connect is under way */
	CONN_OPEN,
};

struct conn {
	uint64_t seq;           /* 1, 2, ... in accept order */
	int cfd, ufd;           /* client and upstream sockets; ufd -1 until connecting */
	enum conn_state state;
	int64_t opened;         /* mono ns of the accept */
	int64_t connect_at;     /* CONN_WAITING: when to connect */
	char client[64];        /* "127.0.0.1:43210" */
	struct flow f[2];       /* FLOW_UP, FLOW_DOWN */
	struct ctox *tox;       /* one per toxic of the proxy, in the proxy's order */
	size_t ntox, atox;
	char **applied;         /* names of the toxics that acted on it (owned) */
	size_t napplied, aapplied;
	uint64_t rng;           /* jitter and slice sizes */
	bool dead;              /* closed; freed at the end of the loop turn */
	uint32_t cev, uev;      /* the epoll events registered (0: not in the set) */
	int64_t due;            /* its next deadline (mono ns), INT64_MAX for none */
	size_t heap_at;         /* its place in the deadline heap + 1; 0 when out */
};

/* A line reader for control requests (stdin or one socket client). */
struct ctl_lines {
	struct strbuf buf;
	bool skipping;          /* discarding the rest of an over-long line */
};

struct ctl_client {
	int fd;
	struct ctl_lines in;
	struct strbuf out;      /* replies not yet sent */
	size_t out_off;
	bool eof;               /* the client ended its side: close once replies are out */
	bool dead;
	uint32_t ev;            /* the epoll events registered */
};

struct proxy {
	const char *name;
	char listen_str[80];    /* the real address, "127.0.0.1:PORT" */
	char upstream_str[80];
	struct sockaddr_storage up_addr;
	socklen_t up_len;
	int epfd;               /* the epoll set */
	int tfd;                /* a timerfd armed for the earliest deadline */
	int64_t armed;          /* when it is armed for; INT64_MAX: disarmed */
	struct conn **heap;     /* connections with a deadline, earliest first */
	size_t nheap, aheap;
	int lfd;                /* the TCP listener */
	uint32_t lev;           /* its registered events (0 while accepting is paused) */
	int64_t accept_pause_until; /* out of descriptors: accept again at this mono ns */
	const char *control_path; /* NULL without --control */
	int ctl_fd;             /* the control listener, -1 without */
	bool ctl_bound;         /* the socket file is ours to remove */
	bool verbose;
	uint64_t seed;
	struct toxic **toxics;  /* in the order they were added */
	size_t ntoxics, atoxics;
	uint64_t next_toxic_id;
	struct conn **conns;
	size_t nconns, aconns;
	size_t ndead;           /* connections closed since the last sweep */
	uint64_t conns_total;
	uint64_t closed_bytes[2]; /* bytes written each way by connections already closed */
	struct ctl_client **ctls;
	size_t nctls, actls;
	bool stdin_open;
	struct ctl_lines stdin_lines;
	bool stop;              /* a signal came: leave the loop */
	struct strbuf rec;      /* the record being written */
	struct jw w;
};

/* ---- proxy.c ------------------------------------------------------------ */

/* proxy_event_begin: start a chaos.proxy record {"event", "name", ...}
 * in px->w; proxy_record_end writes it to stdout (flushed). */
void proxy_event_begin(struct proxy *px, const char *event);
void proxy_record_end(struct proxy *px);

/*
 * proxy_watch: make fd's registration in the epoll set ask for want
 * (EPOLLIN, EPOLLOUT) with tag, given what it asks for now (*cur, then
 * updated). want 0 takes fd out of the set, so that a hung-up socket
 * nobody waits on cannot wake the loop. Dies if epoll fails otherwise.
 */
void proxy_watch(struct proxy *px, int fd, uint32_t *cur, uint32_t want, uint64_t tag);

/* proxy_find_toxic: the toxic named name, or NULL. */
struct toxic *proxy_find_toxic(struct proxy *px, const char *name);

/*
 * proxy_add_toxic: take ownership of the parsed toxic t and make it act:
 * it is rolled for every open connection (down closes those it hits at
 * once) and for every new one. Writes the toxic_added record. Returns 0,
 * or -1 with the reason in err (empty on entry) when the name is taken
 * or 256 toxics are there already (t is then released).
 */
int proxy_add_toxic(struct proxy *px, struct toxic *t, const char *via, struct strbuf *err);

/* proxy_update_toxic: replace the attributes and toxicity of the stored
 * toxic old by those of t (same name, type and stream; t's name is
 * released), re-deciding which connections it acts on with their
 * original rolls. Writes the toxic_updated record. */
void proxy_update_toxic(struct proxy *px, struct toxic *old, struct toxic *t, const char *via);

/* proxy_remove_toxic: stop t acting and free it. Connections whose bytes
 * a timeout or reset_peer dropped are closed (their stream has a hole);
 * delayed bytes are released. Writes the toxic_removed record. */
void proxy_remove_toxic(struct proxy *px, struct toxic *t, const char *via);

/* proxy_reset: remove every toxic; writes one reset record. Returns how
 * many were removed. */
size_t proxy_reset(struct proxy *px, const char *via);

/* proxy_write_stats: the counters as keys of the object open in w:
 * connections_open, connections_total, bytes_upstream, bytes_downstream,
 * toxics. */
void proxy_write_stats(struct proxy *px, struct jw *w);

/* ---- proxy_control.c ------------------------------------------------------ */

/*
 * ctl_request: carry out one request line (len bytes, no newline) and
 * append the reply, one chaos.proxy.reply record without its newline, to
 * reply. Any input is safe: bad JSON, bad keys and bad values give
 * "ok": false with the reason, naming the JSON pointer.
 */
void ctl_request(struct proxy *px, const char *line, size_t len, const char *via,
		 struct strbuf *reply);

/* ctl_listen: create the control socket at path (mode 0600), replacing
 * a stale socket file. -1 with err set when the path is not a socket,
 * a live proxy answers there, or the socket cannot be made. */
int ctl_listen(struct proxy *px, const char *path, struct strbuf *err);

/* ctl_unlink: remove the control socket file if this process made it. */
void ctl_unlink(struct proxy *px);

/*
 * ctl_stdin_start: take requests on stdin from now on: through the
 * epoll set when stdin is a pipe, terminal or socket; a regular file
 * (or /dev/null), which epoll cannot watch, is read to its end at once.
 */
void ctl_stdin_start(struct proxy *px);

/* ctl_event: what epoll said about a control descriptor: the control
 * listener, stdin or a client (tag as registered). */
void ctl_event(struct proxy *px, uint64_t tag, uint32_t events);

/* ctl_sweep: free the control clients closed during this loop turn. */
void ctl_sweep(struct proxy *px);

/* ctl_close_all: close every control client (at exit). */
void ctl_close_all(struct proxy *px);

#endif
