/*
 * flow.c: one direction of a proxied connection (see toxic.h).
 *
 * While no toxic acts on a flow, bytes go from socket to socket through
 * a pipe with splice(2), never entering user memory: the proxy then
 * costs a connection little more than the extra hop through the kernel,
 * and bulk transfers run at gigabytes per second. Where splice is
 * refused (or no pipe is free, see below), a shared
 * buffer and read/write do the same job, keeping only what the
 * destination did not take. While toxics act, each read becomes one or
 * more chunks (the slicer cuts it) with a release time (latency and
 * jitter, order preserved, the slicer's delay between pieces), written
 * when due and no faster than the bandwidth allows; a black hole
 * (timeout, reset_peer) reads and drops; limit_data stops reading at
 * its byte count. The end of stream is passed on after the last byte,
 * or later with slow_close. Memory is bounded: a flow holding
 * FLOW_MAX_QUEUE bytes stops reading its source until it drains, so a
 * slow destination slows the source down through TCP itself.
 */
#include "common.h"
#include <fcntl.h>
#include <sys/socket.h>

#include "toxic.h"

struct chunk {
	struct chunk *next;
	int64_t due;      /* mono ns when it may be written */
	size_t off, len;  /* data[off..len) is still to write */
	char data[];
};

/* What a chunk costs beyond its bytes, counted against FLOW_MAX_QUEUE so
 * that a slicer cutting 1-byte pieces cannot make the queue huge. */
#define CHUNK_COST (sizeof(struct chunk) + 16)
/* Pieces a slicer may make of one read. */
#define MAX_SLICES 256
/* Reads per flow_pump call: enough for bulk, fair to other connections. */
#define MAX_READS 8
/* The read size on the toxic path, and of the read/write fast path. */
#define TOXIC_READ (64 * 1024)
#define PLAIN_READ (256 * 1024)
/* A splice this long filled a default pipe (64 KiB): more may wait. */
#define SPLICE_FULL (64 * 1024)
/* A bandwidth-limited flow writes at most this much time's worth at once. */
#define BW_QUANTUM_NS 20000000LL
/* How far a bandwidth slot may lag behind now (timer lateness is
 * caught up, a long pause is not). */
#define BW_SLACK_NS 20000000LL

static char scratch[PLAIN_READ];

void flow_init(struct flow *f)
{
	memset(f, 0, sizeof(*f));
	f->pipe[0] = f->pipe[1] = -1;
}

static void pipe_put(struct flow *f);

void flow_release(struct flow *f)
{
	pipe_put(f);
	free(f->rest);
	f->rest = NULL;
	f->rest_off = f->rest_len = 0;
	while (f->head) {
		struct chunk *c = f->head;
		f->head = c->next;
		free(c);
	}
	f->tail = NULL;
	f->queued = 0;
}

bool flow_idle(const struct flow *f)
{
	return f->in_pipe == 0 && f->rest_off == f->rest_len && !f->head;
}

bool flow_done(const struct flow *f)
{
	return f->eof_out || f->cut;
}

/* The fast path applies: no toxic and nothing buffered. */
static bool plain(const struct flow *f, const struct flow_prof *p)
{
	return !p->any && flow_idle(f);
}

bool flow_wants_read(const struct flow *f, const struct flow_prof *p)
{
	if (f->eof_in || f->cut || p->room == 0)
		return false;
	if (!p->any)
		return flow_idle(f) || (f->head && f->queued < FLOW_MAX_QUEUE);
	return f->queued < FLOW_MAX_QUEUE;
}

bool flow_wants_write(const struct flow *f)
{
	return f->wblocked;
}

int64_t flow_due(const struct flow *f, const struct flow_prof *p)
{
	/* limit_data left no room, or its cut is complete: act now. */
	if ((p->room == 0 && !f->eof_in && !f->cut) || (f->cut && flow_idle(f)))
		return 0;
	int64_t t = INT64_MAX;
	if (f->head && !f->wblocked) {
		t = f->head->due;
		if (p->rate > 0 && f->bw_next > t)
			t = f->bw_next;
	}
	if (f->eof_in && !f->eof_out && flow_idle(f) && f->eof_due < t)
		t = f->eof_due;
	return t;
}

void flow_release_queue(struct flow *f)
{
	for (struct chunk *c = f->head; c; c = c->next)
		c->due = 0;
	f->last_due = 0;
	f->bw_next = 0;
}

static uint64_t next_rand(uint64_t *s)
{
	uint64_t r = toxic_mix(*s);
	*s += 0x9e3779b97f4a7c15ULL;
	return r;
}

static void push(struct flow *f, const char *data, size_t n, int64_t due)
{
	struct chunk *c = xmalloc(sizeof(*c) + n);
	c->next = NULL;
	c->due = due;
	c->off = 0;
	c->len = n;
	memcpy(c->data, data, n);
	if (f->tail)
		f->tail->next = c;
	else
		f->head = c;
	f->tail = c;
	f->queued += n + CHUNK_COST;
}

/* Queue n bytes read now, delayed and sliced as the profile says. */
static void enqueue(struct flow *f, const struct flow_prof *p, const char *data, size_t n,
		    int64_t now, uint64_t *rng)
{
	int64_t delay = p->latency_ns;
	if (p->jitter_ns > 0) {
		uint64_t span = 2 * (uint64_t)p->jitter_ns + 1;
		delay += (int64_t)(next_rand(rng) % span) - p->jitter_ns;
		if (delay < 0)
			delay = 0;
	}
	int64_t due = now + delay;
	if (due < f->last_due)
		due = f->last_due;
	const struct toxic *s = p->slicer;
	if (!s) {
		push(f, data, n, due);
		f->last_due = due;
		return;
	}
	while (n > 0) {
		uint64_t size = s->average_size;
		if (s->size_variation) {
			uint64_t span = 2 * s->size_variation + 1;
			size = s->average_size - s->size_variation + next_rand(rng) % span;
		}
		if (size > n)
			size = n;
		push(f, data, (size_t)size, due);
		data += size;
		n -= (size_t)size;
		due += s->delay_ns;
	}
	f->last_due = due;
}

static ssize_t send_some(int fd, const char *buf, size_t n)
{
	ssize_t w;
	do
		w = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	return w;
}

static bool again(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

/* Write what is due to dst: the pipe, the rest, then due chunks. */
static enum flow_status flush(struct flow *f, int dst, const struct flow_prof *p, int64_t now)
{
	f->wblocked = false;
	while (f->in_pipe) {
		ssize_t n = splice(f->pipe[0], NULL, dst, NULL, f->in_pipe,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && again()) {
			f->wblocked = true;
			return FLOW_OK;
		}
		if (n <= 0)
			return FLOW_DST_ERR;
		f->in_pipe -= (size_t)n;
		f->bytes_out += (uint64_t)n;
		if (!f->in_pipe)
			pipe_put(f);
	}
	while (f->rest_off < f->rest_len) {
		ssize_t n = send_some(dst, f->rest + f->rest_off, f->rest_len - f->rest_off);
		if (n < 0 && again()) {
			f->wblocked = true;
			return FLOW_OK;
		}
		if (n < 0)
			return FLOW_DST_ERR;
		f->rest_off += (size_t)n;
		f->bytes_out += (uint64_t)n;
	}
	if (f->rest) {
		free(f->rest);
		f->rest = NULL;
		f->rest_off = f->rest_len = 0;
	}
	while (f->head && f->head->due <= now) {
		struct chunk *c = f->head;
		size_t len = c->len - c->off;
		if (p->rate > 0) {
			if (f->bw_next > now)
				break;
			double q = p->rate * (double)BW_QUANTUM_NS / 1e9;
			if (q < 1)
				q = 1;
			if ((double)len > q)
				len = (size_t)q;
		}
		ssize_t n = send_some(dst, c->data + c->off, len);
		if (n < 0 && again()) {
			f->wblocked = true;
			return FLOW_OK;
		}
		if (n < 0)
			return FLOW_DST_ERR;
		c->off += (size_t)n;
		f->queued -= (size_t)n;
		f->bytes_out += (uint64_t)n;
		if (p->rate > 0) {
			int64_t base = f->bw_next;
			if (base < now - BW_SLACK_NS)
				base = now - BW_SLACK_NS;
			f->bw_next = base + (int64_t)((double)n * 1e9 / p->rate);
		}
		if (c->off == c->len) {
			f->head = c->next;
			if (!f->head)
				f->tail = NULL;
			f->queued -= CHUNK_COST;
			free(c);
		} else if ((size_t)n < len) {
			f->wblocked = true;
			return FLOW_OK;
		}
	}
	return FLOW_OK;
}

static enum flow_status read_failed(void)
{
	return errno == ECONNRESET ? FLOW_SRC_RESET : FLOW_SRC_ERR;
}

/*
 * The pipes of the fast path are shared: a flow holds one only while
 * bytes wait in it, and gives it back to the pool once it is empty. So
 * a thousand quiet connections need a handful of pipes, and the
 * kernel's per-user budget of pipe buffers (which every process of the
 * user draws from) is never spent by the proxy beyond MAX_PIPES. A flow
 * that finds no pipe uses read/write for that read.
 */
#define MAX_PIPES 256
#define POOL_MAX 32
static int pool[POOL_MAX][2];
static size_t npool, npipes;

static void pipe_put(struct flow *f)
{
	if (f->pipe[0] < 0)
		return;
	if (f->in_pipe == 0 && npool < POOL_MAX) {
		pool[npool][0] = f->pipe[0];
		pool[npool][1] = f->pipe[1];
		npool++;
	} else {
		close(f->pipe[0]);
		close(f->pipe[1]);
		npipes--;
	}
	f->pipe[0] = f->pipe[1] = -1;
	f->in_pipe = 0;
}

/* A pipe for the fast path; false if none is to be had now. */
static bool pipe_get(struct flow *f)
{
	if (f->pipe[0] >= 0)
		return true;
	if (f->no_splice)
		return false;
	if (npool) {
		npool--;
		f->pipe[0] = pool[npool][0];
		f->pipe[1] = pool[npool][1];
		return true;
	}
	if (npipes >= MAX_PIPES || pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		f->pipe[0] = f->pipe[1] = -1;
		return false;
	}
	npipes++;
	return true;
}

/*
 * One read on the fast path, written on at once. Returns the bytes read
 * (0 at the end of stream), or -1 with *st set (FLOW_OK for nothing to
 * read now).
 */
static ssize_t read_plain(struct flow *f, int src, int dst, enum flow_status *st, bool *full)
{
	*st = FLOW_OK;
	*full = false;
	if (pipe_get(f)) {
		ssize_t n;
		do
			n = splice(src, NULL, f->pipe[1], NULL, PLAIN_READ,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EINVAL) {
			pipe_put(f);
			f->no_splice = true;
			return read_plain(f, src, dst, st, full);
		}
		if (n <= 0) {
			pipe_put(f);
			if (n < 0 && !again())
				*st = read_failed();
			return n < 0 ? -1 : 0;
		}
		f->in_pipe = (size_t)n;
		f->bytes_in += (uint64_t)n;
		*full = (size_t)n >= SPLICE_FULL;
		return n;
	}
	ssize_t n;
	do
		n = read(src, scratch, sizeof(scratch));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (!again())
			*st = read_failed();
		return -1;
	}
	if (n == 0)
		return 0;
	f->bytes_in += (uint64_t)n;
	*full = (size_t)n == sizeof(scratch);
	ssize_t w = send_some(dst, scratch, (size_t)n);
	if (w < 0 && !again())
		w = 0; /* the error shows again when the rest is written */
	if (w < 0)
		w = 0;
	f->bytes_out += (uint64_t)w;
	if (w < n) {
		f->rest = xmemdup(scratch + w, (size_t)(n - w));
		f->rest_off = 0;
		f->rest_len = (size_t)(n - w);
	}
	return n;
}

/* One read on the toxic path. Returns like read_plain. */
static ssize_t read_toxic(struct flow *f, int src, struct flow_prof *p, int64_t now,
			  uint64_t *rng, enum flow_status *st, bool *full)
{
	*st = FLOW_OK;
	*full = false;
	size_t want = TOXIC_READ;
	if (p->room < want)
		want = (size_t)p->room;
	if (p->slicer && p->slicer->average_size < want / MAX_SLICES)
		want = (size_t)p->slicer->average_size * MAX_SLICES;
	ssize_t n;
	do
		n = read(src, scratch, want);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (!again())
			*st = read_failed();
		return -1;
	}
	if (n == 0)
		return 0;
	f->bytes_in += (uint64_t)n;
	*full = (size_t)n == want;
	if (p->room != UINT64_MAX)
		p->room -= (uint64_t)n;
	if (p->blackhole)
		f->dropped += (uint64_t)n;
	else
		enqueue(f, p, scratch, (size_t)n, now, rng);
	return n;
}

enum flow_status flow_pump(struct flow *f, int src, int dst, struct flow_prof *p, int64_t now,
			   uint64_t *rng)
{
	enum flow_status st = flush(f, dst, p, now);
	if (st != FLOW_OK)
		return st;
	for (int i = 0; i < MAX_READS && flow_wants_read(f, p); i++) {
		bool full;
		ssize_t n = plain(f, p) ? read_plain(f, src, dst, &st, &full)
					: read_toxic(f, src, p, now, rng, &st, &full);
		if (n < 0) {
			if (st != FLOW_OK)
				return st;
			break;
		}
		if (n == 0) {
			f->eof_in = true;
			f->eof_due = now + p->slow_close_ns;
			break;
		}
		st = flush(f, dst, p, now);
		if (st != FLOW_OK)
			return st;
		/* A short read emptied the socket: do not ask again just to
		 * hear EAGAIN. */
		if (f->wblocked || !full)
			break;
	}
	if (p->room == 0 && !f->eof_in)
		f->cut = true;
	if (f->cut)
		return flow_idle(f) ? FLOW_CUT : FLOW_OK;
	if (f->eof_in && !f->eof_out && flow_idle(f) && now >= f->eof_due) {
		shutdown(dst, SHUT_WR);
		f->eof_out = true;
	}
	return FLOW_OK;
}
