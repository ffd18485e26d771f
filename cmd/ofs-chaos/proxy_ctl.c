/*
 * proxy_ctl.c: the client side of a fault proxy's control socket.
 *
 * Faults in an experiment (and `recover` after a crash) add and remove
 * toxics on a running `ofs-chaos proxy` by sending it one JSON command
 * line over its Unix socket and reading one reply line. The whole
 * exchange is bounded by a timeout, so a hung proxy never hangs a run.
 */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "chaos.h"
#include "timefmt.h"

/* Wait for events on fd until the deadline; 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -1 : n;
	}
}

int proxy_ctl_request(const char *sock_path, const char *request, int timeout_ms,
		      struct strbuf *reply, struct strbuf *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(sock_path) >= sizeof(addr.sun_path)) {
		sb_addf(err, "proxy control socket path '%s' is too long", sock_path);
		return -1;
	}
	memcpy(addr.sun_path, sock_path, strlen(sock_path) + 1);
	int64_t deadline = mono_ms() + timeout_ms;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		sb_addf(err, "cannot create socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
		sb_addf(err, "cannot connect to proxy control '%s': %s", sock_path, strerror(errno));
		close(fd);
		return -1;
	}
	struct strbuf out = SB_INIT;
	sb_addstr(&out, request);
	sb_addch(&out, '\n');
	size_t sent = 0;
	int rc = -1;
	while (sent < out.len) {
		int w = wait_fd(fd, POLLOUT, deadline);
		if (w <= 0)
			goto timeout;
		ssize_t n = send(fd, out.buf + sent, out.len - sent, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			sb_addf(err, "cannot send to proxy control '%s': %s", sock_path,
				strerror(errno));
			goto done;
		}
		sent += (size_t)n;
	}
	sb_reset(reply);
	for (;;) {
		char *nl = memchr(reply->buf, '\n', reply->len);
		if (nl) {
			sb_setlen(reply, (size_t)(nl - reply->buf));
			rc = 0;
			goto done;
		}
		int w = wait_fd(fd, POLLIN, deadline);
		if (w <= 0)
			goto timeout;
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			sb_addf(err, "cannot read from proxy control '%s': %s", sock_path,
				strerror(errno));
			goto done;
		}
		if (n == 0) {
			sb_addf(err, "proxy control '%s' closed the connection without a reply",
				sock_path);
			goto done;
		}
		sb_add(reply, buf, (size_t)n);
	}
timeout:
	sb_addf(err, "proxy control '%s' did not answer within %d ms", sock_path, timeout_ms);
done:
	sb_release(&out);
	close(fd);
	return rc;
}
