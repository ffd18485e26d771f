/*
 * proxy.c: `ofs-chaos proxy`, a TCP proxy that injects Toxiproxy's
 * faults (toxics) into the connections it carries, driven through JSON
 * Lines on stdin or on a Unix control socket (proxy_control.c).
 *
 * One thread runs one epoll(7) loop over the listener, the control
 * descriptors and both sockets of every connection. A socket is in the
 * set only while its connection waits for it, and connections with
 * something timed (a delayed chunk, a toxic's timer) sit in a heap by
 * deadline with a timerfd armed for the earliest, so a turn of the loop
 * costs the same with one connection or thousands of idle ones.
 *
 * Each connection is two flows (flow.c), one per direction. This file
 * decides which toxics act on each connection (each toxic's toxicity is
 * rolled once per connection, repeatably with --seed), sums them into
 * each flow's profile, and carries out what acts on the connection as a
 * whole: down, drop, slow_connect, close_after, the timers of timeout
 * and reset_peer. Records (chaos.proxy) report the
 * proxy's life and, with -v, each connection's; SIGTERM or SIGINT close
 * everything, write a final record with the counters and exit 128+N.
 */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include "chaos.h"
#include "opt.h"
#include "out.h"
#include "proxy.h"
#include "record.h"
#include "rnd.h"
#include "sig.h"
#include "timefmt.h"
#include "units.h"

const struct opt proxy_opts[] = {
	{ 'v', 'v', NULL, NULL, "also write a record for each connection opened and closed", NULL,
	  0 },
	{ COPT_CONTROL, 0, "control", "socket", "also take control requests on this Unix socket",
	  "@file", 0 },
	{ COPT_LISTEN, 0, "listen", "addr", "listen on host:port (port 0 picks a free one)", NULL,
	  0 },
	{ COPT_NAME, 0, "name", "name", "the proxy's name in records (default proxy)", NULL, 0 },
	{ COPT_SEED, 0, "seed", "n", "seed the toxicity rolls, to repeat a run's decisions", NULL,
	  0 },
	{ COPT_TOXIC, 0, "toxic", "json", "start with this toxic (repeatable)", NULL, 0 },
	{ COPT_UPSTREAM, 0, "upstream", "addr", "forward every connection to host:port", NULL, 0 },
	{ 0 },
};

/* Connections accepted per loop turn, so a flood cannot starve the rest. */
#define ACCEPT_BATCH 64
/* Out of descriptors: stop accepting for this long. */
#define ACCEPT_PAUSE_NS 100000000LL
/* Toxics at once (each open connection keeps a state per toxic). */
#define PROXY_MAX_TOXICS 256
/* Bytes read and thrown away before closing a socket gently. */
#define DRAIN_MAX (256 * 1024)

static struct proxy *the_proxy; /* for the exit handler */

/* ---- records -------------------------------------------------------------- */

void proxy_event_begin(struct proxy *px, const char *event)
{
	sb_reset(&px->rec);
	jw_init(&px->w, &px->rec);
	rec_begin(&px->w, "chaos.proxy");
	jw_kv_str(&px->w, "event", event);
	jw_kv_str(&px->w, "name", px->name);
}

void proxy_record_end(struct proxy *px)
{
	rec_end(&px->w, out_stdout());
}

/* ---- addresses ------------------------------------------------------------ */

/* "127.0.0.1:80" or "[::1]:80". */
static void addr_format(const struct sockaddr *sa, char *buf, size_t n)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(buf, n, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(buf, n, "[%s]:%d", host, port);
	} else {
		snprintf(buf, n, "?");
	}
}

/*
 * HOST:PORT or [V6]:PORT into a socket address (the first getaddrinfo
 * gives). min_port is 0 for a listener, 1 for the upstream. -1 with the
 * reason in err.
 */
static int addr_parse(const char *s, int min_port, bool passive, struct sockaddr_storage *ss,
		      socklen_t *len, struct strbuf *err)
{
	char *host = NULL;
	const char *port;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':') {
			sb_addf(err, "invalid address '%s': expected host:port or [v6]:port", s);
			return -1;
		}
		host = xstrndup(s + 1, (size_t)(close - s - 1));
		port = close + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon) {
			sb_addf(err, "invalid address '%s': expected host:port or [v6]:port", s);
			return -1;
		}
		host = xstrndup(s, (size_t)(colon - s));
		port = colon + 1;
		if (strchr(host, ':')) {
			sb_addf(err, "invalid address '%s': write an IPv6 address as [v6]:port", s);
			free(host);
			return -1;
		}
	}
	long long p;
	struct strbuf perr = SB_INIT;
	if (!*host) {
		sb_addf(err, "invalid address '%s': the host is missing", s);
		goto fail;
	}
	if (num_parse_int(port, min_port, 65535, &p, &perr) < 0) {
		sb_addf(err, "invalid port in '%s': %s", s, perr.buf);
		goto fail;
	}
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	int r = getaddrinfo(host, NULL, &hints, &res);
	if (r != 0 || !res) {
		sb_addf(err, "cannot resolve '%s': %s", host, r ? gai_strerror(r) : "no address");
		goto fail;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)p);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)p);
	free(host);
	sb_release(&perr);
	return 0;
fail:
	free(host);
	sb_release(&perr);
	return -1;
}

static void set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ---- closing sockets ------------------------------------------------------ */

/* Close with FIN: pending input is read away first, so that close(2)
 * does not turn into a reset that would throw away what is still in
 * flight to the peer. */
static void close_gently(int fd)
{
	if (fd < 0)
		return;
	shutdown(fd, SHUT_WR);
	char buf[16384];
	size_t drained = 0;
	while (drained < DRAIN_MAX) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		drained += (size_t)n;
	}
	close(fd);
}

/* Close with RST (SO_LINGER 0). */
static void close_reset(int fd)
{
	if (fd < 0)
		return;
	struct linger l = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* ---- the epoll set and the deadlines ------------------------------------- */

void proxy_watch(struct proxy *px, int fd, uint32_t *cur, uint32_t want, uint64_t tag)
{
	if (fd < 0 || *cur == want)
		return;
	struct epoll_event ev = { .events = want, .data.u64 = tag };
	int op = !want ? EPOLL_CTL_DEL : *cur ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(px->epfd, op, fd, &ev) < 0)
		die_errno("cannot watch a socket");
	*cur = want;
}

/* The deadline heap: a binary min-heap of the connections that have a
 * deadline, by due; each knows its place (heap_at). */
static void heap_put(struct proxy *px, size_t i, struct conn *c)
{
	px->heap[i] = c;
	c->heap_at = i + 1;
}

static void heap_fix(struct proxy *px, size_t i)
{
	struct conn *c = px->heap[i];
	while (i > 0 && px->heap[(i - 1) / 2]->due > c->due) {
		heap_put(px, i, px->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t k = 2 * i + 1;
		if (k >= px->nheap)
			break;
		if (k + 1 < px->nheap && px->heap[k + 1]->due < px->heap[k]->due)
			k++;
		if (px->heap[k]->due >= c->due)
			break;
		heap_put(px, i, px->heap[k]);
		i = k;
	}
	heap_put(px, i, c);
}

static void heap_remove(struct proxy *px, struct conn *c)
{
	if (!c->heap_at)
		return;
	size_t i = c->heap_at - 1;
	c->heap_at = 0;
	struct conn *last = px->heap[--px->nheap];
	if (last != c) {
		heap_put(px, i, last);
		heap_fix(px, i);
	}
}

static void heap_set(struct proxy *px, struct conn *c, int64_t due)
{
	c->due = due;
	if (due == INT64_MAX) {
		heap_remove(px, c);
		return;
	}
	if (!c->heap_at) {
		ALLOC_GROW(px->heap, px->nheap + 1, px->aheap);
		heap_put(px, px->nheap++, c);
	}
	heap_fix(px, c->heap_at - 1);
}

/* Arm the timerfd for the earliest deadline (accept pauses included). */
static void arm_timer(struct proxy *px)
{
	int64_t due = px->nheap ? px->heap[0]->due : INT64_MAX;
	if (px->lev == 0 && px->accept_pause_until && px->accept_pause_until < due)
		due = px->accept_pause_until;
	if (due == px->armed)
		return;
	struct itimerspec it;
	memset(&it, 0, sizeof(it));
	if (due != INT64_MAX) {
		if (due < 1)
			due = 1;
		it.it_value.tv_sec = (time_t)(due / 1000000000);
		it.it_value.tv_nsec = (long)(due % 1000000000);
	}
	if (timerfd_settime(px->tfd, TFD_TIMER_ABSTIME, &it, NULL) < 0)
		die_errno("cannot arm a timer");
	px->armed = due;
}

/* ---- connections ---------------------------------------------------------- */

static struct ctox *ctox_of(struct conn *c, const struct toxic *t)
{
	for (size_t i = 0; i < c->ntox; i++)
		if (c->tox[i].t == t)
			return &c->tox[i];
	return NULL;
}

static void note_applied(struct conn *c, const char *name)
{
	for (size_t i = 0; i < c->napplied; i++)
		if (!strcmp(c->applied[i], name))
			return;
	ALLOC_GROW(c->applied, c->napplied + 1, c->aapplied);
	c->applied[c->napplied++] = xstrdup(name);
}

/* Whether a toxic of this type acts on connections already open when
 * it arrives (drop and slow_connect only act when one opens). */
static bool acts_on_open(enum toxic_type type)
{
	return type != TOX_DROP && type != TOX_SLOW_CONNECT;
}

/* x starts acting on c now. */
static void ctox_start(struct conn *c, struct ctox *x, int64_t now)
{
	x->on = true;
	x->since = now;
	x->base = c->f[x->t->stream].bytes_in;
	note_applied(c, x->t->name);
}

/* The profile of flow dir: the sum of the toxics acting on it. */
static void conn_prof(const struct conn *c, int dir, struct flow_prof *p)
{
	memset(p, 0, sizeof(*p));
	p->room = UINT64_MAX;
	for (size_t i = 0; i < c->ntox; i++) {
		const struct ctox *x = &c->tox[i];
		const struct toxic *t = x->t;
		if (!x->on || (int)t->stream != dir)
			continue;
		switch (t->type) {
		case TOX_LATENCY:
			p->latency_ns += t->latency_ns;
			p->jitter_ns += t->jitter_ns;
			break;
		case TOX_BANDWIDTH: {
			double rate = t->rate_kbs * 1000;
			if (p->rate == 0 || rate < p->rate)
				p->rate = rate;
			break;
		}
		case TOX_SLOW_CLOSE:
			p->slow_close_ns += t->delay_ns;
			break;
		case TOX_TIMEOUT:
		case TOX_RESET_PEER:
			p->blackhole = true;
			break;
		case TOX_SLICER:
			if (!p->slicer)
				p->slicer = t;
			break;
		case TOX_LIMIT_DATA: {
			uint64_t used = c->f[dir].bytes_in - x->base;
			uint64_t left = t->bytes > used ? t->bytes - used : 0;
			if (left < p->room)
				p->room = left;
			break;
		}
		default:
			continue;
		}
		p->any = true;
	}
}

static void write_names(struct jw *w, const char *key, char *const *names, size_t n)
{
	jw_key(w, key);
	jw_arr_begin(w);
	for (size_t i = 0; i < n; i++)
		jw_str(w, names[i]);
	jw_arr_end(w);
}

/*
 * conn_close: close both sockets (gently, or with RST when reset), free
 * the flows, write connection_closed with -v and mark c dead (it is
 * freed at the end of the loop turn). error is the system's reason, or
 * NULL.
 */
static void conn_close(struct proxy *px, struct conn *c, bool reset, const char *reason,
		       const char *error)
{
	if (c->dead)
		return;
	if (reset) {
		close_reset(c->cfd);
		close_reset(c->ufd);
	} else {
		close_gently(c->cfd);
		close_gently(c->ufd);
	}
	/* Closing a descriptor takes it out of the epoll set. */
	c->cfd = c->ufd = -1;
	c->cev = c->uev = 0;
	heap_remove(px, c);
	for (int d = 0; d < 2; d++) {
		px->closed_bytes[d] += c->f[d].bytes_out;
		flow_release(&c->f[d]);
	}
	c->dead = true;
	px->ndead++;
	if (!px->verbose)
		return;
	int64_t us = (mono_ns() - c->opened) / 1000;
	proxy_event_begin(px, "connection_closed");
	jw_kv_int(&px->w, "connection", (int64_t)c->seq);
	jw_kv_str(&px->w, "client", c->client);
	jw_kv_str(&px->w, "reason", reason);
	if (error)
		jw_kv_str(&px->w, "error", error);
	jw_kv_int(&px->w, "bytes_upstream", (int64_t)c->f[FLOW_UP].bytes_out);
	jw_kv_int(&px->w, "bytes_downstream", (int64_t)c->f[FLOW_DOWN].bytes_out);
	jw_kv_double(&px->w, "duration_ms", (double)us / 1000);
	write_names(&px->w, "toxics", c->applied, c->napplied);
	proxy_record_end(px);
}

static void conn_free(struct conn *c)
{
	for (size_t i = 0; i < c->napplied; i++)
		free(c->applied[i]);
	free(c->applied);
	free(c->tox);
	free(c);
}

/* Start the upstream connect. */
static void conn_connect(struct proxy *px, struct conn *c)
{
	int fd = socket(px->up_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		conn_close(px, c, true, "connect_failed", strerror(errno));
		return;
	}
	set_nodelay(fd);
	c->ufd = fd;
	if (connect(fd, (struct sockaddr *)&px->up_addr, px->up_len) == 0) {
		c->state = CONN_OPEN;
		return;
	}
	if (errno == EINPROGRESS || errno == EINTR) {
		c->state = CONN_CONNECTING;
		return;
	}
	conn_close(px, c, true, "connect_failed", strerror(errno));
}

static void conn_pump(struct proxy *px, struct conn *c, int dir, int64_t now)
{
	if (c->dead || c->state != CONN_OPEN)
		return;
	struct flow_prof p;
	conn_prof(c, dir, &p);
	int src = dir == FLOW_UP ? c->cfd : c->ufd;
	int dst = dir == FLOW_UP ? c->ufd : c->cfd;
	const char *src_side = dir == FLOW_UP ? "client" : "upstream";
	const char *dst_side = dir == FLOW_UP ? "upstream" : "client";
	char reason[32];
	int e;
	switch (flow_pump(&c->f[dir], src, dst, &p, now, &c->rng)) {
	case FLOW_OK:
		if (c->f[FLOW_UP].eof_out && c->f[FLOW_DOWN].eof_out)
			conn_close(px, c, false, "closed", NULL);
		return;
	case FLOW_SRC_RESET:
		snprintf(reason, sizeof(reason), "%s_reset", src_side);
		conn_close(px, c, true, reason, NULL);
		return;
	case FLOW_SRC_ERR:
		e = errno;
		snprintf(reason, sizeof(reason), "%s_error", src_side);
		conn_close(px, c, false, reason, strerror(e));
		return;
	case FLOW_DST_ERR: {
		e = errno;
		bool was_reset = e == ECONNRESET;
		snprintf(reason, sizeof(reason), "%s_%s", dst_side, was_reset ? "reset" : "error");
		conn_close(px, c, was_reset, reason, was_reset ? NULL : strerror(e));
		return;
	}
	case FLOW_CUT:
		conn_close(px, c, false, "limit_data", NULL);
		return;
	}
}

/* The upstream connect finished (or failed). */
static void conn_connected(struct proxy *px, struct conn *c, int64_t now)
{
	int e = 0;
	socklen_t len = sizeof(e);
	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e == EINPROGRESS || e == EALREADY)
		return;
	if (e) {
		conn_close(px, c, true, "connect_failed", strerror(e));
		return;
	}
	c->state = CONN_OPEN;
	conn_pump(px, c, FLOW_UP, now);
	conn_pump(px, c, FLOW_DOWN, now);
}

/* The connection-wide timers of the toxics acting on c: the earliest
 * deadline, with the toxic that set it in *which. */
static int64_t conn_timer(const struct conn *c, const struct toxic **which)
{
	int64_t due = INT64_MAX;
	*which = NULL;
	for (size_t i = 0; i < c->ntox; i++) {
		const struct ctox *x = &c->tox[i];
		const struct toxic *t = x->t;
		if (!x->on)
			continue;
		int64_t d = INT64_MAX;
		if (t->type == TOX_CLOSE_AFTER)
			d = c->opened + t->timeout_ns;
		else if (t->type == TOX_TIMEOUT && t->timeout_ns > 0)
			d = x->since + t->timeout_ns;
		else if (t->type == TOX_RESET_PEER)
			d = x->since + t->timeout_ns;
		if (d < due) {
			due = d;
			*which = t;
		}
	}
	return due;
}

/* c's next deadline: a connection-wide timer, the slow_connect, or timed
 * work of a flow. */
static int64_t conn_due(const struct conn *c)
{
	const struct toxic *t;
	int64_t due = conn_timer(c, &t);
	if (c->state == CONN_WAITING && c->connect_at < due)
		due = c->connect_at;
	if (c->state != CONN_OPEN)
		return due;
	for (int d = 0; d < 2; d++) {
		struct flow_prof p;
		conn_prof(c, d, &p);
		int64_t fd = flow_due(&c->f[d], &p);
		if (fd < due)
			due = fd;
	}
	return due;
}

/* Do everything timed on c that is due by now. */
static void conn_tick(struct proxy *px, struct conn *c, int64_t now)
{
	const struct toxic *t;
	if (conn_timer(c, &t) <= now) {
		conn_close(px, c, t->type == TOX_RESET_PEER, toxic_type_name(t->type), NULL);
		return;
	}
	if (c->state == CONN_WAITING && c->connect_at <= now)
		conn_connect(px, c);
	for (int d = 0; d < 2 && !c->dead && c->state == CONN_OPEN; d++) {
		struct flow_prof p;
		conn_prof(c, d, &p);
		if (flow_due(&c->f[d], &p) <= now)
			conn_pump(px, c, d, now);
	}
}

/* The epoll events c's sockets need now. */
static void conn_want(const struct conn *c, uint32_t *cev, uint32_t *uev)
{
	*cev = *uev = 0;
	if (c->dead)
		return;
	if (c->state == CONN_CONNECTING)
		*uev = EPOLLOUT;
	if (c->state != CONN_OPEN)
		return;
	struct flow_prof up, down;
	conn_prof(c, FLOW_UP, &up);
	conn_prof(c, FLOW_DOWN, &down);
	if (flow_wants_read(&c->f[FLOW_UP], &up))
		*cev |= EPOLLIN;
	if (flow_wants_write(&c->f[FLOW_DOWN]))
		*cev |= EPOLLOUT;
	if (flow_wants_read(&c->f[FLOW_DOWN], &down))
		*uev |= EPOLLIN;
	if (flow_wants_write(&c->f[FLOW_UP]))
		*uev |= EPOLLOUT;
}

/* After anything happened to c: its epoll registrations and its place
 * in the deadline heap. */
static void conn_refresh(struct proxy *px, struct conn *c)
{
	if (c->dead)
		return;
	uint32_t cev, uev;
	conn_want(c, &cev, &uev);
	proxy_watch(px, c->cfd, &c->cev, cev, TAG_OF(c, TAG_CLIENT));
	proxy_watch(px, c->ufd, &c->uev, uev, TAG_OF(c, TAG_UPSTREAM));
	heap_set(px, c, conn_due(c));
}

/* After a toxic changed: every connection. */
static void refresh_all(struct proxy *px)
{
	for (size_t i = 0; i < px->nconns; i++)
		conn_refresh(px, px->conns[i]);
}

static void conn_new(struct proxy *px, int fd, const struct sockaddr_storage *ss, int64_t now)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	c->due = INT64_MAX;
	c->seq = ++px->conns_total;
	c->cfd = fd;
	c->ufd = -1;
	c->opened = now;
	c->rng = toxic_mix(px->seed ^ toxic_mix(c->seq));
	addr_format((const struct sockaddr *)ss, c->client, sizeof(c->client));
	flow_init(&c->f[FLOW_UP]);
	flow_init(&c->f[FLOW_DOWN]);
	set_nodelay(fd);
	ALLOC_GROW(px->conns, px->nconns + 1, px->aconns);
	px->conns[px->nconns++] = c;

	const struct toxic *refuse = NULL;
	int64_t slow = 0;
	c->atox = px->ntoxics;
	c->tox = xcalloc(px->ntoxics ? px->ntoxics : 1, sizeof(*c->tox));
	for (size_t i = 0; i < px->ntoxics; i++) {
		struct ctox *x = &c->tox[c->ntox++];
		x->t = px->toxics[i];
		x->roll = toxic_roll(px->seed, c->seq, x->t->name);
		if (x->roll >= x->t->toxicity)
			continue;
		ctox_start(c, x, now);
		if ((x->t->type == TOX_DOWN || x->t->type == TOX_DROP) && !refuse)
			refuse = x->t;
		if (x->t->type == TOX_SLOW_CONNECT)
			slow += x->t->delay_ns;
	}
	if (px->verbose) {
		proxy_event_begin(px, "connection_opened");
		jw_kv_int(&px->w, "connection", (int64_t)c->seq);
		jw_kv_str(&px->w, "client", c->client);
		write_names(&px->w, "toxics", c->applied, c->napplied);
		proxy_record_end(px);
	}
	if (refuse) {
		conn_close(px, c, false, toxic_type_name(refuse->type), NULL);
		return;
	}
	if (slow > 0) {
		c->state = CONN_WAITING;
		c->connect_at = now + slow;
	} else {
		conn_connect(px, c);
	}
	conn_refresh(px, c);
}

static void accept_all(struct proxy *px, int64_t now)
{
	static bool warned;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(px->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_new(px, fd, &ss, now);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			if (!warned)
				warn("cannot accept connections: %s; pausing", strerror(errno));
			warned = true;
			px->accept_pause_until = now + ACCEPT_PAUSE_NS;
			proxy_watch(px, px->lfd, &px->lev, 0, TAG_FIX(FIX_LISTEN));
		}
		return;
	}
}

/* ---- toxic changes (the control channel's operations) -------------------- */

struct toxic *proxy_find_toxic(struct proxy *px, const char *name)
{
	for (size_t i = 0; i < px->ntoxics; i++)
		if (!strcmp(px->toxics[i]->name, name))
			return px->toxics[i];
	return NULL;
}

static void toxic_record(struct proxy *px, const char *event, const struct toxic *t,
			 const char *via)
{
	proxy_event_begin(px, event);
	jw_kv_str(&px->w, "via", via);
	jw_key(&px->w, "toxic");
	toxic_write(&px->w, t);
	proxy_record_end(px);
}

int proxy_add_toxic(struct proxy *px, struct toxic *t, const char *via, struct strbuf *err)
{
	if (proxy_find_toxic(px, t->name))
		sb_addf(err, "a toxic named '%s' exists already", t->name);
	else if (px->ntoxics >= PROXY_MAX_TOXICS)
		sb_addf(err, "too many toxics: at most %d at once", PROXY_MAX_TOXICS);
	if (err->len) {
		toxic_release(t);
		return -1;
	}
	struct toxic *nt = xmemdup(t, sizeof(*t));
	nt->id = ++px->next_toxic_id;
	ALLOC_GROW(px->toxics, px->ntoxics + 1, px->atoxics);
	px->toxics[px->ntoxics++] = nt;
	toxic_record(px, "toxic_added", nt, via);
	int64_t now = mono_ns();
	for (size_t i = 0; i < px->nconns; i++) {
		struct conn *c = px->conns[i];
		if (c->dead)
			continue;
		ALLOC_GROW(c->tox, c->ntox + 1, c->atox);
		struct ctox *x = &c->tox[c->ntox++];
		memset(x, 0, sizeof(*x));
		x->t = nt;
		x->roll = toxic_roll(px->seed, c->seq, nt->name);
		if (x->roll >= nt->toxicity || !acts_on_open(nt->type))
			continue;
		ctox_start(c, x, now);
		if (nt->type == TOX_DOWN)
			conn_close(px, c, false, "down", NULL);
	}
	refresh_all(px);
	return 0;
}

/* Bytes a flow holds back for toxics that no longer delay it go now. */
static void relax(struct conn *c, int dir)
{
	struct flow_prof p;
	conn_prof(c, dir, &p);
	if (p.latency_ns == 0 && p.jitter_ns == 0 && !p.slicer && p.rate == 0)
		flow_release_queue(&c->f[dir]);
}

/* x stops acting on c (removed, or its toxicity lowered). */
static void ctox_stop(struct proxy *px, struct conn *c, struct ctox *x)
{
	const struct toxic *t = x->t;
	x->on = false;
	if (c->dead)
		return;
	if ((t->type == TOX_TIMEOUT || t->type == TOX_RESET_PEER) &&
	    c->f[t->stream].dropped > 0) {
		conn_close(px, c, false, "toxic_removed", NULL);
		return;
	}
	relax(c, t->stream);
}

void proxy_update_toxic(struct proxy *px, struct toxic *old, struct toxic *t, const char *via)
{
	uint64_t id = old->id;
	char *name = old->name;
	toxic_release(t);
	*old = *t;
	old->id = id;
	old->name = name;
	toxic_record(px, "toxic_updated", old, via);
	int64_t now = mono_ns();
	for (size_t i = 0; i < px->nconns; i++) {
		struct conn *c = px->conns[i];
		struct ctox *x = c->dead ? NULL : ctox_of(c, old);
		if (!x)
			continue;
		bool on = x->roll < old->toxicity && (acts_on_open(old->type) || x->on);
		if (on && !x->on) {
			ctox_start(c, x, now);
			if (old->type == TOX_DOWN)
				conn_close(px, c, false, "down", NULL);
		} else if (!on && x->on) {
			ctox_stop(px, c, x);
		} else if (on) {
			relax(c, old->stream);
		}
	}
	refresh_all(px);
}

static void remove_toxic(struct proxy *px, struct toxic *t)
{
	for (size_t i = 0; i < px->nconns; i++) {
		struct conn *c = px->conns[i];
		struct ctox *x = ctox_of(c, t);
		if (!x)
			continue;
		if (x->on)
			ctox_stop(px, c, x);
		size_t k = (size_t)(x - c->tox);
		memmove(x, x + 1, (c->ntox - k - 1) * sizeof(*x));
		c->ntox--;
	}
	for (size_t i = 0; i < px->ntoxics; i++) {
		if (px->toxics[i] == t) {
			memmove(&px->toxics[i], &px->toxics[i + 1],
				(px->ntoxics - i - 1) * sizeof(*px->toxics));
			px->ntoxics--;
			break;
		}
	}
	toxic_release(t);
	free(t);
	refresh_all(px);
}

void proxy_remove_toxic(struct proxy *px, struct toxic *t, const char *via)
{
	toxic_record(px, "toxic_removed", t, via);
	remove_toxic(px, t);
}

size_t proxy_reset(struct proxy *px, const char *via)
{
	size_t n = px->ntoxics;
	proxy_event_begin(px, "reset");
	jw_kv_str(&px->w, "via", via);
	jw_kv_int(&px->w, "removed", (int64_t)n);
	proxy_record_end(px);
	while (px->ntoxics)
		remove_toxic(px, px->toxics[px->ntoxics - 1]);
	return n;
}

void proxy_write_stats(struct proxy *px, struct jw *w)
{
	uint64_t open = 0, bytes[2] = { px->closed_bytes[0], px->closed_bytes[1] };
	for (size_t i = 0; i < px->nconns; i++) {
		const struct conn *c = px->conns[i];
		if (c->dead)
			continue;
		open++;
		bytes[0] += c->f[0].bytes_out;
		bytes[1] += c->f[1].bytes_out;
	}
	jw_kv_int(w, "connections_open", (int64_t)open);
	jw_kv_int(w, "connections_total", (int64_t)px->conns_total);
	jw_kv_int(w, "bytes_upstream", (int64_t)bytes[FLOW_UP]);
	jw_kv_int(w, "bytes_downstream", (int64_t)bytes[FLOW_DOWN]);
	jw_kv_int(w, "toxics", (int64_t)px->ntoxics);
}

/* ---- the loop --------------------------------------------------------------- */

static void conn_ready(struct proxy *px, struct conn *c, bool client, uint32_t ev, int64_t now)
{
	if (c->dead)
		return;
	if (c->state == CONN_CONNECTING) {
		if (!client)
			conn_connected(px, c, now);
		return;
	}
	const uint32_t in = EPOLLIN | EPOLLHUP | EPOLLERR, out = EPOLLOUT | EPOLLHUP | EPOLLERR;
	int rdir = client ? FLOW_UP : FLOW_DOWN, wdir = client ? FLOW_DOWN : FLOW_UP;
	if (ev & in)
		conn_pump(px, c, rdir, now);
	if (ev & out) {
		c->f[wdir].wblocked = false;
		conn_pump(px, c, wdir, now);
	}
}

/* Free the connections closed during this turn. */
static void sweep(struct proxy *px)
{
	if (px->ndead == 0) {
		ctl_sweep(px);
		return;
	}
	px->ndead = 0;
	size_t kept = 0;
	for (size_t i = 0; i < px->nconns; i++) {
		if (px->conns[i]->dead)
			conn_free(px->conns[i]);
		else
			px->conns[kept++] = px->conns[i];
	}
	px->nconns = kept;
	ctl_sweep(px);
}

/* Run what is due: each connection due by now once per turn (what it
 * does may make it due again at once; that waits for the next turn). */
static void fire_timers(struct proxy *px, int64_t now)
{
	static struct conn **due;
	static size_t adue;
	size_t n = 0;
	while (px->nheap && px->heap[0]->due <= now) {
		struct conn *c = px->heap[0];
		heap_remove(px, c);
		c->due = INT64_MAX;
		ALLOC_GROW(due, n + 1, adue);
		due[n++] = c;
	}
	for (size_t i = 0; i < n; i++) {
		conn_tick(px, due[i], now);
		conn_refresh(px, due[i]);
	}
	if (px->lev == 0 && px->accept_pause_until && px->accept_pause_until <= now) {
		px->accept_pause_until = 0;
		proxy_watch(px, px->lfd, &px->lev, EPOLLIN, TAG_FIX(FIX_LISTEN));
	}
}

static void fixed_event(struct proxy *px, uint64_t tag, int64_t now)
{
	switch (tag >> 2) {
	case FIX_SIGNAL:
		px->stop = true;
		break;
	case FIX_TIMER: {
		uint64_t ticks;
		if (read(px->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
			die_errno("cannot read a timer");
		px->armed = INT64_MAX;
		break;
	}
	case FIX_LISTEN:
		accept_all(px, now);
		break;
	default:
		ctl_event(px, tag, 0);
		break;
	}
}

static int run(struct proxy *px)
{
	struct epoll_event evs[256];
	while (!px->stop && !sig_pending()) {
		int64_t now = mono_ns();
		fire_timers(px, now);
		sweep(px);
		int timeout = -1;
		if (px->nheap && px->heap[0]->due <= mono_ns())
			timeout = 0;
		else
			arm_timer(px);
		int n = epoll_wait(px->epfd, evs, (int)ARRAY_SIZE(evs), timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_errno("epoll failed");
		}
		now = mono_ns();
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			uint32_t ev = evs[i].events;
			switch (tag & 3) {
			case TAG_CLIENT:
			case TAG_UPSTREAM: {
				struct conn *c = (struct conn *)(uintptr_t)(tag & ~(uint64_t)3);
				conn_ready(px, c, (tag & 3) == TAG_CLIENT, ev, now);
				conn_refresh(px, c);
				break;
			}
			case TAG_CTL:
				ctl_event(px, tag, ev);
				break;
			default:
				fixed_event(px, tag, now);
				break;
			}
		}
		sweep(px);
	}
	return sig_exit_status();
}

/* ---- the command ------------------------------------------------------------ */

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "unknown";
	}
}

static void at_exit(void)
{
	if (the_proxy)
		ctl_unlink(the_proxy);
}

static int listen_on(struct proxy *px, const struct sockaddr_storage *ss, socklen_t len,
		     const char *what)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_errno("cannot create a socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0)
		die_errno("cannot listen on '%s'", what);
	if (listen(fd, SOMAXCONN) < 0)
		die_errno("cannot listen on '%s'", what);
	struct sockaddr_storage got;
	socklen_t glen = sizeof(got);
	if (getsockname(fd, (struct sockaddr *)&got, &glen) < 0)
		die_errno("cannot read the address of '%s'", what);
	addr_format((struct sockaddr *)&got, px->listen_str, sizeof(px->listen_str));
	return fd;
}

/* Print every line of errs (but the last) as an error, the last with
 * the usage; exit 2. */
static void usage_errors(struct opt_parser *p, const char *errs) __attribute__((noreturn));
static void usage_errors(struct opt_parser *p, const char *errs)
{
	/* Every line under the name the usage error uses. */
	ofs_progname = "ofs-chaos proxy";
	const char *line = errs;
	for (;;) {
		const char *nl = strchr(line, '\n');
		if (!nl || !nl[1]) {
			int len = nl ? (int)(nl - line) : (int)strlen(line);
			opt_usage_error(p, "%.*s", len, line);
		}
		error("%.*s", (int)(nl - line), line);
		line = nl + 1;
	}
}

int cmd_proxy(int argc, char **argv)
{
	struct opt_parser p;
	const char *listen = NULL, *upstream = NULL, *control = NULL, *name = "proxy";
	const char *seed_arg = NULL;
	const char **toxic_args = NULL;
	size_t ntoxic_args = 0, atoxic_args = 0;
	bool verbose = false;
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'v':
			verbose = true;
			break;
		case COPT_CONTROL:
			control = p.arg;
			break;
		case COPT_LISTEN:
			listen = p.arg;
			break;
		case COPT_NAME:
			name = p.arg;
			break;
		case COPT_SEED:
			seed_arg = p.arg;
			break;
		case COPT_TOXIC:
			ALLOC_GROW(toxic_args, ntoxic_args + 1, atoxic_args);
			toxic_args[ntoxic_args++] = p.arg;
			break;
		case COPT_UPSTREAM:
			upstream = p.arg;
			break;
		}
	}
	char **operands;
	if (opt_operands(&p, &operands) > 0)
		opt_usage_error(&p, "unexpected operand '%s'", operands[0]);

	static struct proxy px;
	memset(&px, 0, sizeof(px));
	px.name = name;
	px.verbose = verbose;
	px.lfd = px.ctl_fd = px.epfd = px.tfd = -1;
	sb_init(&px.rec, 1024);
	sb_init(&px.stdin_lines.buf, 0);

	/* Validate everything before anything is opened. */
	struct strbuf err = SB_INIT;
	struct sockaddr_storage listen_addr;
	socklen_t listen_len = 0;
	if (!listen) {
		sb_addstr(&err, "--listen is required\n");
	} else {
		sb_addstr(&err, "--listen: ");
		size_t mark = err.len;
		if (addr_parse(listen, 0, true, &listen_addr, &listen_len, &err) < 0)
			sb_addch(&err, '\n');
		else
			sb_setlen(&err, mark - strlen("--listen: "));
	}
	if (!upstream) {
		sb_addstr(&err, "--upstream is required\n");
	} else {
		sb_addstr(&err, "--upstream: ");
		size_t mark = err.len;
		if (addr_parse(upstream, 1, false, &px.up_addr, &px.up_len, &err) < 0)
			sb_addch(&err, '\n');
		else
			sb_setlen(&err, mark - strlen("--upstream: "));
	}
	if (!*name)
		sb_addstr(&err, "--name must not be empty\n");
	if (seed_arg) {
		long long s;
		struct strbuf serr = SB_INIT;
		if (num_parse_int(seed_arg, 0, 9007199254740991LL, &s, &serr) < 0)
			sb_addf(&err, "--seed: %s\n", serr.buf);
		else
			px.seed = (uint64_t)s;
		sb_release(&serr);
	} else {
		px.seed = rnd_u64() >> 11;
	}
	if (control) {
		struct sockaddr_un sun;
		struct stat st;
		if (!*control || strlen(control) >= sizeof(sun.sun_path))
			sb_addf(&err, "--control: socket path '%s' is empty or too long\n", control);
		else if (lstat(control, &st) == 0 && !S_ISSOCK(st.st_mode))
			sb_addf(&err, "--control: '%s' exists and is not a socket\n", control);
	}
	struct toxic *initial = xcalloc(ntoxic_args ? ntoxic_args : 1, sizeof(*initial));
	size_t ninitial = 0;
	for (size_t i = 0; i < ntoxic_args; i++) {
		struct cfg cfg;
		struct strbuf perr = SB_INIT;
		if (cfg_parse_string("--toxic", toxic_args[i], strlen(toxic_args[i]), &cfg, &perr) < 0) {
			sb_addf(&err, "%s\n", perr.buf);
		} else if (toxic_parse(&cfg, cfg.root, "", &initial[ninitial]) > 0) {
			sb_addstr(&err, cfg.errors.buf);
		} else {
			for (size_t k = 0; k < ninitial; k++)
				if (!strcmp(initial[k].name, initial[ninitial].name))
					sb_addf(&err, "--toxic: two toxics are named '%s'\n",
						initial[ninitial].name);
			ninitial++;
		}
		sb_release(&perr);
		cfg_free(&cfg);
	}
	free(toxic_args);
	if (err.len)
		usage_errors(&p, err.buf);
	sb_release(&err);
	opt_end(&p);

	/* Open: signals, the control socket, the listener; then the records. */
	sig_setup();
	out_set_line_flush(out_stdout(), true);
	the_proxy = &px;
	atexit(at_exit);
	px.epfd = epoll_create1(EPOLL_CLOEXEC);
	px.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (px.epfd < 0 || px.tfd < 0)
		die_errno("cannot set up the event loop");
	px.armed = INT64_MAX;
	uint32_t sig_ev = 0, timer_ev = 0;
	proxy_watch(&px, sig_fd(), &sig_ev, EPOLLIN, TAG_FIX(FIX_SIGNAL));
	proxy_watch(&px, px.tfd, &timer_ev, EPOLLIN, TAG_FIX(FIX_TIMER));
	struct strbuf cerr = SB_INIT;
	if (control && ctl_listen(&px, control, &cerr) < 0)
		die("%s", cerr.buf);
	sb_release(&cerr);
	px.lfd = listen_on(&px, &listen_addr, listen_len, listen);
	proxy_watch(&px, px.lfd, &px.lev, EPOLLIN, TAG_FIX(FIX_LISTEN));
	addr_format((struct sockaddr *)&px.up_addr, px.upstream_str, sizeof(px.upstream_str));

	proxy_event_begin(&px, "listening");
	jw_kv_str(&px.w, "listen", px.listen_str);
	jw_kv_str(&px.w, "upstream", px.upstream_str);
	jw_kv_str(&px.w, "control", control);
	jw_kv_int(&px.w, "seed", (int64_t)px.seed);
	proxy_record_end(&px);
	for (size_t i = 0; i < ninitial; i++) {
		struct strbuf aerr = SB_INIT;
		proxy_add_toxic(&px, &initial[i], VIA_OPTION, &aerr);
		sb_release(&aerr);
	}
	free(initial);
	ctl_stdin_start(&px);

	int status = run(&px);

	/* Stopped by a signal: close everything, then say so. */
	size_t open = 0;
	for (size_t i = 0; i < px.nconns; i++) {
		if (!px.conns[i]->dead)
			open++;
		conn_close(&px, px.conns[i], false, "stopped", NULL);
	}
	sweep(&px);
	proxy_event_begin(&px, "stopped");
	jw_kv_str(&px.w, "signal", signal_name(sig_pending()));
	proxy_write_stats(&px, &px.w);
	jw_kv_int(&px.w, "connections_closed", (int64_t)open);
	proxy_record_end(&px);
	ctl_close_all(&px);
	close(px.lfd);
	ctl_unlink(&px);
	while (px.ntoxics)
		remove_toxic(&px, px.toxics[px.ntoxics - 1]);
	close(px.tfd);
	close(px.epfd);
	free(px.toxics);
	free(px.conns);
	free(px.heap);
	sb_release(&px.rec);
	sb_release(&px.stdin_lines.buf);
	the_proxy = NULL;
	return status;
}
