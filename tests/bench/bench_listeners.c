/*
 * bench_listeners.c: N loopback HTTP servers in one process, the fixture
 * of the ofs-health benchmark (tests/bench/health.sh).
 *
 * A thousand instances to check must not cost a thousand processes, or
 * the machine measures the fixture instead of the checker. So this opens
 * N listening sockets on 127.0.0.1 (free ports), prints each port on its
 * own line and then "ready", and serves them all from one poll(2) loop:
 * every request, parsed by libcommon's HTTP parser, is answered
 * "200 ok"; keep-alive and pipelining are honoured, a malformed request
 * gets the parser's status and a close. SIGINT or SIGTERM (sig.h) ends
 * it; it then says on stderr how many requests it answered, so the
 * script can tell that every check really reached a server.
 *
 * Usage: bench_listeners N
 */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "httpparse.h"
#include "sig.h"
#include "strbuf.h"

#define MAX_LISTENERS 30000

static const char ok_reply[] = "HTTP/1.1 200 OK\r\n"
			       "Content-Type: text/plain\r\n"
			       "Content-Length: 3\r\n"
			       "\r\n"
			       "ok\n";

struct conn {
	int fd;
	struct httpd_parser parser;
	struct strbuf out; /* bytes still to send */
	size_t sent;       /* of out */
	bool closing;      /* close once out is sent */
};

static struct conn **conns;
static size_t nconns, aconns;
static unsigned long served;

/* Raise the soft limit on open files to the hard one: N listeners and
 * as many connections need more than the usual 1024. */
static void raise_nofile(size_t want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die_errno("cannot read the limit on open files");
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			die_errno("cannot raise the limit on open files");
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		die("%zu listeners need about %zu open files; the limit is %llu", want / 2, want,
		    (unsigned long long)rl.rlim_cur);
}

/* listen_any: a non-blocking listening socket on 127.0.0.1, port in *port. */
static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_errno("cannot create a socket");
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		die_errno("cannot listen on 127.0.0.1");
	*port = ntohs(sa.sin_port);
	return fd;
}

static void conn_add(int fd)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	httpd_parser_init(&c->parser, NULL);
	sb_init(&c->out, 0);
	ALLOC_GROW(conns, nconns + 1, aconns);
	conns[nconns++] = c;
}

static void conn_free(struct conn *c)
{
	close(c->fd);
	httpd_parser_release(&c->parser);
	sb_release(&c->out);
	free(c);
}

static void accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
				warn("accept: %s", strerror(errno));
			return;
		}
		conn_add(fd);
	}
}

/* Feed what arrived to the parser; queue one answer per complete request. */
static void conn_take(struct conn *c, const char *data, size_t len)
{
	while (len > 0 && !c->closing) {
		size_t used = 0;
		int r = httpd_parser_feed(&c->parser, data, len, &used);
		if (r == HTTPD_PARSE_MORE)
			return;
		if (r == HTTPD_PARSE_ERROR) {
			sb_addf(&c->out, "HTTP/1.1 %d Bad Request\r\nContent-Length: 0\r\n"
					 "Connection: close\r\n\r\n", c->parser.status);
			c->closing = true;
			return;
		}
		sb_add(&c->out, ok_reply, sizeof(ok_reply) - 1);
		served++;
		if (!c->parser.req.keep_alive)
			c->closing = true;
		httpd_parser_reset(&c->parser);
		data += used;
		len -= used;
	}
}

/* Returns false when the connection is finished and must be freed. */
static bool conn_read(struct conn *c)
{
	char buf[16384];
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n > 0) {
			conn_take(c, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		/* End of stream or an error: nothing more will be asked. */
		return false;
	}
}

static bool conn_write(struct conn *c)
{
	while (c->sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n < 0)
			return false;
		c->sent += (size_t)n;
	}
	sb_reset(&c->out);
	c->sent = 0;
	return !c->closing;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		die_usage("usage: bench_listeners N");
	char *end;
	errno = 0;
	long n = strtol(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || n < 1 || n > MAX_LISTENERS)
		die_usage("bench_listeners: N must be 1..%d, got '%s'", MAX_LISTENERS, argv[1]);
	size_t nl = (size_t)n;
	raise_nofile(2 * nl + 64);
	sig_setup();

	int *lfds = xcalloc(nl, sizeof(*lfds));
	for (size_t i = 0; i < nl; i++) {
		int port;
		lfds[i] = listen_any(&port);
		printf("%d\n", port);
	}
	printf("ready\n");
	if (fflush(stdout) == EOF)
		die_errno("cannot write the ports");

	struct pollfd *fds = NULL;
	size_t afds = 0;
	while (!sig_pending()) {
		size_t nfds = 1 + nl + nconns;
		ALLOC_GROW(fds, nfds, afds);
		fds[0] = (struct pollfd){ .fd = sig_fd(), .events = POLLIN };
		for (size_t i = 0; i < nl; i++)
			fds[1 + i] = (struct pollfd){ .fd = lfds[i], .events = POLLIN };
		for (size_t i = 0; i < nconns; i++)
			fds[1 + nl + i] = (struct pollfd){
				.fd = conns[i]->fd,
				.events = (short)(conns[i]->out.len ? POLLOUT : POLLIN),
			};
		if (poll(fds, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_errno("poll");
		}
		/* Connections first, by the index they had when polled; new
		 * ones are appended after them and wait for the next turn. */
		size_t polled = nconns, kept = 0;
		for (size_t i = 0; i < polled; i++) {
			struct conn *c = conns[i];
			short re = fds[1 + nl + i].revents;
			bool alive = true;
			if (re & (POLLIN | POLLHUP | POLLERR))
				alive = conn_read(c) || c->out.len > 0;
			if (alive && c->out.len)
				alive = conn_write(c);
			if (alive)
				conns[kept++] = c;
			else
				conn_free(c);
		}
		nconns = kept;
		for (size_t i = 0; i < nl; i++)
			if (fds[1 + i].revents & POLLIN)
				accept_all(lfds[i]);
	}

	for (size_t i = 0; i < nconns; i++)
		conn_free(conns[i]);
	for (size_t i = 0; i < nl; i++)
		close(lfds[i]);
	free(conns);
	free(lfds);
	free(fds);
	fprintf(stderr, "bench_listeners: answered %lu requests\n", served);
	return 0;
}
