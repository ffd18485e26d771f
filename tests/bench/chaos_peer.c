/*
 * chaos_peer.c: both ends of a TCP connection, for the tests and the
 * benchmark of `ofs-chaos proxy` (tests/ofs-chaos-proxy.bats,
 * tests/bench/chaos.sh), which may use neither netcat, socat nor
 * Python. A toxic's effect is measured on real sockets: this program is
 * the upstream server behind the proxy and the client in front of it,
 * and it times what it sees.
 *
 *   chaos_peer serve echo          echo every byte back; end after the client does
 *   chaos_peer serve file PATH     send PATH at once, then end the stream
 *   chaos_peer serve sink          count bytes to the end, answer "N\n", and
 *                                  print "N eof" (or "N reset") on stdout
 *       A server listens on 127.0.0.1, a free port, prints the port on
 *       its first line, and serves any number of connections at once
 *       from one poll(2) loop until SIGTERM or SIGINT.
 *   chaos_peer pipe [-k] [-t] ADDR  stdin to the connection, the connection
 *                                  to stdout (netcat's job); ADDR is HOST:PORT
 *                                  or unix:PATH. The write side is closed at
 *                                  the end of stdin unless -k. -t prints on
 *                                  stderr {"connect_ms", "first_byte_ms",
 *                                  "end_ms", "end": "eof"|"reset"|"error",
 *                                  "bytes_in", "bytes_out", "reads"}
 *   chaos_peer rtt ADDR N SIZE     N round trips of SIZE bytes to an echo
 *                                  server; prints {"n","size","p50_us",
 *                                  "p99_us","mean_us","min_us","max_us"}
 *   chaos_peer bulk ADDR BYTES     send BYTES to a sink, check its count;
 *                                  prints {"bytes","seconds","mb_per_s"}
 */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sig.h"
#include "strbuf.h"
#include "timefmt.h"

#define BUFSZ (256 * 1024)

/* ---- addresses -------------------------------------------------------------- */

static int connect_to(const char *addr)
{
	if (!strncmp(addr, "unix:", 5)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		const char *path = addr + 5;
		if (strlen(path) >= sizeof(sa.sun_path))
			die("unix socket path too long: '%s'", path);
		memcpy(sa.sun_path, path, strlen(path) + 1);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die_errno("cannot connect to '%s'", addr);
		return fd;
	}
	const char *colon = strrchr(addr, ':');
	if (!colon)
		die_usage("address '%s' is not HOST:PORT", addr);
	char host[64];
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)strtol(colon + 1, NULL, 10));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		die_usage("address '%s' is not IPV4:PORT", addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_errno("cannot create a socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die_errno("cannot connect to '%s'", addr);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die_errno("write failed");
		p += w;
		n -= (size_t)w;
	}
}

/* ---- servers ------------------------------------------------------------------ */

enum mode { M_ECHO, M_FILE, M_SINK };

struct peer {
	int fd;
	char *buf;          /* echo: bytes to send back */
	size_t off, len;
	size_t sent;        /* file: bytes of the file sent */
	uint64_t count;     /* sink: bytes received */
	bool in_done;       /* the client ended its stream */
	bool out_done;      /* we ended ours */
	bool dead;
};

static const char *file_data;
static size_t file_len;

static void peer_end(struct peer *p)
{
	if (!p->out_done) {
		shutdown(p->fd, SHUT_WR);
		p->out_done = true;
	}
}

static void sink_report(struct peer *p, const char *how)
{
	printf("%" PRIu64 " %s\n", p->count, how);
	fflush(stdout);
}

/* One turn for one connection; marks it dead when it is over. */
static void peer_turn(struct peer *p, enum mode m, short re)
{
	char buf[BUFSZ];
	if (m == M_FILE && p->sent < file_len) {
		ssize_t w = send(p->fd, file_data + p->sent, file_len - p->sent, MSG_NOSIGNAL);
		if (w > 0)
			p->sent += (size_t)w;
		else if (w < 0 && errno != EAGAIN) {
			p->dead = true;
			return;
		}
		if (p->sent == file_len)
			peer_end(p);
	}
	if (m == M_ECHO && p->off < p->len) {
		ssize_t w = send(p->fd, p->buf + p->off, p->len - p->off, MSG_NOSIGNAL);
		if (w > 0)
			p->off += (size_t)w;
		else if (w < 0 && errno != EAGAIN) {
			p->dead = true;
			return;
		}
		if (p->off == p->len)
			p->off = p->len = 0;
	}
	if ((re & (POLLIN | POLLHUP | POLLERR)) && !p->in_done && (m != M_ECHO || p->len == 0)) {
		ssize_t n = recv(p->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			if (m == M_SINK)
				sink_report(p, "reset");
			p->dead = true;
			return;
		}
		if (n == 0) {
			p->in_done = true;
			if (m == M_SINK) {
				sink_report(p, "eof");
				char line[32];
				int k = snprintf(line, sizeof(line), "%" PRIu64 "\n", p->count);
				send(p->fd, line, (size_t)k, MSG_NOSIGNAL);
				peer_end(p);
			}
		} else if (m == M_SINK) {
			p->count += (uint64_t)n;
		} else if (m == M_ECHO) {
			memcpy(p->buf, buf, (size_t)n);
			p->len = (size_t)n;
			p->off = 0;
			ssize_t w = send(p->fd, p->buf, p->len, MSG_NOSIGNAL);
			if (w > 0)
				p->off = (size_t)w;
			if (p->off == p->len)
				p->off = p->len = 0;
		}
	}
	if (m == M_ECHO && p->in_done && p->len == 0)
		peer_end(p);
	if (p->in_done && p->out_done && (m != M_FILE || p->sent == file_len))
		p->dead = true;
}

static int serve(int argc, char **argv)
{
	if (argc < 3)
		die_usage("usage: chaos_peer serve echo|file PATH|sink");
	enum mode m;
	struct strbuf file = SB_INIT;
	if (!strcmp(argv[2], "echo")) {
		m = M_ECHO;
	} else if (!strcmp(argv[2], "sink")) {
		m = M_SINK;
	} else if (!strcmp(argv[2], "file") && argc == 4) {
		m = M_FILE;
		if (sb_read_file(&file, argv[3]) < 0)
			die_errno("cannot read '%s'", argv[3]);
		file_data = file.buf;
		file_len = file.len;
	} else {
		die_usage("usage: chaos_peer serve echo|file PATH|sink");
	}
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, len) < 0 || listen(lfd, 512) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0)
		die_errno("cannot listen on 127.0.0.1");
	printf("%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	sig_setup();
	struct peer **peers = NULL;
	size_t npeers = 0, apeers = 0;
	struct pollfd *fds = NULL;
	size_t afds = 0;
	while (!sig_pending()) {
		ALLOC_GROW(fds, npeers + 2, afds);
		fds[0] = (struct pollfd){ .fd = sig_fd(), .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (size_t i = 0; i < npeers; i++) {
			struct peer *p = peers[i];
			short ev = 0;
			if (!p->in_done && (m != M_ECHO || p->len == 0))
				ev |= POLLIN;
			if ((m == M_ECHO && p->len) || (m == M_FILE && p->sent < file_len))
				ev |= POLLOUT;
			fds[2 + i] = (struct pollfd){ .fd = p->fd, .events = ev };
		}
		if (poll(fds, npeers + 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_errno("poll failed");
		}
		size_t polled = npeers, kept = 0;
		for (size_t i = 0; i < polled; i++) {
			struct peer *p = peers[i];
			if (fds[2 + i].revents)
				peer_turn(p, m, fds[2 + i].revents);
			if (p->dead) {
				close(p->fd);
				free(p->buf);
				free(p);
			} else {
				peers[kept++] = p;
			}
		}
		npeers = kept;
		if (fds[1].revents & POLLIN) {
			int fd;
			while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				struct peer *p = xcalloc(1, sizeof(*p));
				p->fd = fd;
				if (m == M_ECHO)
					p->buf = xmalloc(BUFSZ);
				ALLOC_GROW(peers, npeers + 1, apeers);
				peers[npeers++] = p;
				if (m == M_FILE)
					peer_turn(p, m, 0);
			}
		}
	}
	for (size_t i = 0; i < npeers; i++) {
		close(peers[i]->fd);
		free(peers[i]->buf);
		free(peers[i]);
	}
	free(peers);
	free(fds);
	sb_release(&file);
	close(lfd);
	return 0;
}

/* ---- the client ------------------------------------------------------------ */

static double ms_since(int64_t t0)
{
	return (double)(mono_ns() - t0) / 1e6;
}

static int pipe_cmd(int argc, char **argv)
{
	bool keep = false, timing = false;
	int i = 2;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-k"))
			keep = true;
		else if (!strcmp(argv[i], "-t"))
			timing = true;
		else
			die_usage("usage: chaos_peer pipe [-k] [-t] ADDR");
	}
	if (i != argc - 1)
		die_usage("usage: chaos_peer pipe [-k] [-t] ADDR");
	int64_t t0 = mono_ns();
	int fd = connect_to(argv[i]);
	double connect_ms = ms_since(t0), first_ms = -1;
	nonblock(fd);
	char *out = xmalloc(BUFSZ);
	size_t off = 0, len = 0;
	bool in_open = true;
	uint64_t bytes_in = 0, bytes_out = 0, reads = 0;
	const char *end = "eof";
	char buf[BUFSZ];
	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = in_open && len == 0 ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = fd, .events = (short)(POLLIN | (len ? POLLOUT : 0)) },
		};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_errno("poll failed");
		}
		if (fds[0].revents) {
			ssize_t n = read(STDIN_FILENO, out, BUFSZ);
			if (n <= 0) {
				in_open = false;
				if (!keep)
					shutdown(fd, SHUT_WR);
			} else {
				off = 0;
				len = (size_t)n;
			}
		}
		if (len) {
			ssize_t w = send(fd, out + off, len - off, MSG_NOSIGNAL);
			if (w > 0) {
				off += (size_t)w;
				bytes_out += (uint64_t)w;
			}
			if (off == len)
				off = len = 0;
			if (w < 0 && errno != EAGAIN) {
				end = errno == ECONNRESET ? "reset" : "error";
				break;
			}
			if (!in_open && !len && !keep)
				shutdown(fd, SHUT_WR);
		}
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n < 0) {
				end = errno == ECONNRESET ? "reset" : "error";
				break;
			}
			if (n == 0)
				break;
			if (first_ms < 0)
				first_ms = ms_since(t0);
			reads++;
			bytes_in += (uint64_t)n;
			write_all(STDOUT_FILENO, buf, (size_t)n);
		}
	}
	double end_ms = ms_since(t0);
	close(fd);
	free(out);
	if (timing)
		fprintf(stderr,
			"{\"connect_ms\":%.3f,\"first_byte_ms\":%.3f,\"end_ms\":%.3f,\"end\":\"%s\","
			"\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64 ",\"reads\":%" PRIu64 "}\n",
			connect_ms, first_ms, end_ms, end, bytes_in, bytes_out, reads);
	return 0;
}

static void read_exact(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("connection ended early");
		p += r;
		n -= (size_t)r;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static long arg_num(const char *s, long min)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		die_usage("bad number '%s'", s);
	return v;
}

static int rtt_cmd(int argc, char **argv)
{
	if (argc != 5)
		die_usage("usage: chaos_peer rtt ADDR N SIZE");
	size_t n = (size_t)arg_num(argv[3], 1), size = (size_t)arg_num(argv[4], 1);
	int fd = connect_to(argv[2]);
	char *msg = xmalloc(size), *back = xmalloc(size);
	memset(msg, 'x', size);
	int64_t *t = xcalloc(n, sizeof(*t));
	size_t warm = n / 20 < 100 ? n / 20 : 100;
	for (size_t i = 0; i < warm; i++) {
		write_all(fd, msg, size);
		read_exact(fd, back, size);
	}
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t a = mono_ns();
		write_all(fd, msg, size);
		read_exact(fd, back, size);
		t[i] = mono_ns() - a;
		sum += (double)t[i];
	}
	close(fd);
	qsort(t, n, sizeof(*t), cmp_i64);
	size_t p99 = (size_t)ceil(0.99 * (double)n) - 1;
	printf("{\"n\":%zu,\"size\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f,"
	       "\"min_us\":%.1f,\"max_us\":%.1f}\n",
	       n, size, (double)t[(n - 1) / 2] / 1e3, (double)t[p99] / 1e3, sum / (double)n / 1e3,
	       (double)t[0] / 1e3, (double)t[n - 1] / 1e3);
	free(t);
	free(msg);
	free(back);
	return 0;
}

static int bulk_cmd(int argc, char **argv)
{
	if (argc != 4)
		die_usage("usage: chaos_peer bulk ADDR BYTES");
	uint64_t total = (uint64_t)arg_num(argv[3], 1);
	char *buf = xmalloc(1 << 20);
	memset(buf, 'b', 1 << 20);
	int64_t t0 = mono_ns();
	int fd = connect_to(argv[2]);
	uint64_t left = total;
	while (left) {
		size_t n = left < (1u << 20) ? (size_t)left : (1u << 20);
		write_all(fd, buf, n);
		left -= n;
	}
	shutdown(fd, SHUT_WR);
	char reply[64];
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, reply + got, sizeof(reply) - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	reply[got] = '\0';
	double s = (double)(mono_ns() - t0) / 1e9;
	close(fd);
	free(buf);
	if (strtoull(reply, NULL, 10) != total)
		die("the sink counted '%.*s' bytes, not %" PRIu64, (int)strcspn(reply, "\n"), reply,
		    total);
	printf("{\"bytes\":%" PRIu64 ",\"seconds\":%.6f,\"mb_per_s\":%.1f}\n", total, s,
	       (double)total / s / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	ofs_progname = "chaos_peer";
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		die_usage("usage: chaos_peer serve|pipe|rtt|bulk ...");
	if (!strcmp(argv[1], "serve"))
		return serve(argc, argv);
	if (!strcmp(argv[1], "pipe"))
		return pipe_cmd(argc, argv);
	if (!strcmp(argv[1], "rtt"))
		return rtt_cmd(argc, argv);
	if (!strcmp(argv[1], "bulk"))
		return bulk_cmd(argc, argv);
	die_usage("usage: chaos_peer serve|pipe|rtt|bulk ...");
}
