/*
 * haproxy.c: the client of HAProxy's runtime API behind ofs-deploy's
 * haproxy driver (see haproxy.h). One command per connection, every
 * exchange under a deadline kept with poll(), and `show stat` read by
 * column names so that HAProxy versions adding columns do not break it.
 * Names are validated and line breaks refused before anything is sent,
 * because the runtime API reads one command per line.
 */
#include "common.h"
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "haproxy.h"
#include "strbuf.h"
#include "timefmt.h"

static int fail(struct strbuf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct strbuf *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		sb_reset(err);
		va_start(ap, fmt);
		sb_vaddf(err, fmt, ap);
		va_end(ap);
	}
	return -1;
}

const char *hap_state_name(enum hap_state st)
{
	switch (st) {
	case HAP_READY:
		return "ready";
	case HAP_DRAIN:
		return "drain";
	case HAP_MAINT:
		return "maint";
	}
	return "?";
}

int hap_valid_name(const char *name)
{
	size_t n = 0;
	for (const char *p = name; *p; p++, n++) {
		unsigned char c = (unsigned char)*p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return 0;
	}
	return n > 0 && n <= 255;
}

/* Append s to sb with CR, LF, backslash and other controls escaped. */
static void add_escaped(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n')
			sb_addstr(sb, "\\n");
		else if (c == '\r')
			sb_addstr(sb, "\\r");
		else if (c == '\\')
			sb_addstr(sb, "\\\\");
		else if (c < 0x20 || c == 0x7f)
			sb_addf(sb, "\\x%02x", c);
		else
			sb_addch(sb, c);
	}
}

/* ---- the exchange ---------------------------------------------------- */

/* Time left until deadline (mono ms), at least 0. */
static int left_ms(int64_t deadline)
{
	int64_t now = mono_ms();
	if (now >= deadline)
		return 0;
	return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

/*
 * Wait for events on fd until the deadline: 1 ready, 0 timed out, -1
 * error (errno set). EINTR restarts with the time left.
 */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
		int r = poll(&p, 1, left_ms(deadline));
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/*
 * Parse addr into a socket address: "HOST:PORT" or "[V6]:PORT" with a
 * numeric port is TCP, anything else a Unix socket path.
 */
static int resolve(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen, int *family,
		   struct strbuf *err)
{
	const char *colon = strrchr(addr, ':');
	int tcp = 0;
	if (colon && colon != addr && colon[1] && !strchr(addr, '/')) {
		tcp = 1;
		for (const char *p = colon + 1; *p; p++)
			if (*p < '0' || *p > '9')
				tcp = 0;
	}
	memset(ss, 0, sizeof(*ss));
	if (!tcp) {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		size_t len = strlen(addr);
		if (!len)
			return fail(err, "haproxy runtime socket address is empty");
		if (len >= sizeof(un->sun_path))
			return fail(err, "haproxy runtime socket path '%s' is too long", addr);
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, addr, len + 1);
		*sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
		*family = AF_UNIX;
		return 0;
	}
	const char *host = addr;
	size_t hlen = (size_t)(colon - addr);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host++;
		hlen -= 2;
	}
	char *h = xstrndup(host, hlen);
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	int rc = getaddrinfo(h, colon + 1, &hints, &res);
	free(h);
	if (rc != 0 || !res) {
		fail(err, "cannot resolve haproxy runtime socket address '%s': %s", addr,
		     rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		if (res)
			freeaddrinfo(res);
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	*family = res->ai_family;
	freeaddrinfo(res);
	return 0;
}

/* Connect fd (non-blocking) by the deadline; -1 with errno. */
static int connect_by(int fd, const struct sockaddr_storage *ss, socklen_t len, int64_t deadline)
{
	if (connect(fd, (const struct sockaddr *)ss, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return -1;
	int r = wait_fd(fd, POLLOUT, deadline);
	if (r <= 0) {
		if (r == 0)
			errno = ETIMEDOUT;
		return -1;
	}
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return -1;
	if (soerr) {
		errno = soerr;
		return -1;
	}
	return 0;
}

int hap_command(const char *addr, const char *cmd, int timeout_ms, struct strbuf *answer,
		struct strbuf *err)
{
	sb_reset(answer);
	if (strpbrk(cmd, "\r\n")) {
		struct strbuf q = SB_INIT;
		add_escaped(&q, cmd);
		fail(err, "refusing haproxy command holding a line break: '%s'", q.buf);
		sb_release(&q);
		return -1;
	}
	if (!*cmd)
		return fail(err, "refusing an empty haproxy command");
	if (timeout_ms <= 0)
		return fail(err, "timeout for haproxy command '%s' must be positive", cmd);

	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	int family = AF_UNIX;
	if (resolve(addr, &ss, &sslen, &family, err) < 0)
		return -1;
	int64_t deadline = mono_ms() + timeout_ms;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, "cannot create a socket for haproxy runtime socket '%s': %s", addr,
			    strerror(errno));
	if (connect_by(fd, &ss, sslen, deadline) < 0) {
		fail(err, "cannot connect to haproxy runtime socket '%s': %s", addr, strerror(errno));
		goto out;
	}

	struct strbuf line = SB_INIT;
	sb_addstr(&line, cmd);
	sb_addch(&line, '\n');
	size_t off = 0;
	while (off < line.len) {
		ssize_t w = send(fd, line.buf + off, line.len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_fd(fd, POLLOUT, deadline);
			if (r > 0)
				continue;
			if (r == 0)
				errno = ETIMEDOUT;
		}
		fail(err, "cannot send '%s' to haproxy runtime socket '%s': %s", cmd, addr,
		     strerror(errno));
		sb_release(&line);
		goto out;
	}
	sb_release(&line);

	for (;;) {
		sb_grow(answer, 16384);
		ssize_t r = recv(fd, answer->buf + answer->len, answer->alloc - answer->len - 1, 0);
		if (r > 0) {
			sb_setlen(answer, answer->len + (size_t)r);
			if (answer->len > HAP_ANSWER_MAX) {
				fail(err, "haproxy answer to '%s' is over %u bytes", cmd,
				     HAP_ANSWER_MAX);
				goto out;
			}
			continue;
		}
		if (r == 0) {
			close(fd);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int p = wait_fd(fd, POLLIN, deadline);
			if (p > 0)
				continue;
			if (p == 0) {
				fail(err, "haproxy runtime socket '%s' did not answer '%s' within %d ms",
				     addr, cmd, timeout_ms);
				goto out;
			}
		}
		fail(err, "cannot read the answer to '%s' from haproxy runtime socket '%s': %s", cmd,
		     addr, strerror(errno));
		goto out;
	}
out:
	close(fd);
	sb_reset(answer);
	return -1;
}

/* ---- commands -------------------------------------------------------- */

/* Drop trailing newlines and blanks of an answer. */
static void trim_answer(struct strbuf *sb)
{
	size_t n = sb->len;
	while (n && (sb->buf[n - 1] == '\n' || sb->buf[n - 1] == '\r' || sb->buf[n - 1] == ' '))
		n--;
	sb_setlen(sb, n);
}

static int check_names(const char *backend, const char *server, struct strbuf *err)
{
	struct strbuf q = SB_INIT;
	int rc = 0;
	if (!hap_valid_name(backend)) {
		add_escaped(&q, backend);
		rc = fail(err, "invalid haproxy backend name '%s' (allowed: letters, digits, '-', '_', '.', ':')",
			  q.buf);
	} else if (server && !hap_valid_name(server)) {
		add_escaped(&q, server);
		rc = fail(err, "invalid haproxy server name '%s' (allowed: letters, digits, '-', '_', '.', ':')",
			  q.buf);
	}
	sb_release(&q);
	return rc;
}

/* Quote a (trimmed) answer for a message: escaped, first 200 bytes. */
static int answered(struct strbuf *err, const char *cmd, const struct strbuf *answer)
{
	struct strbuf q = SB_INIT;
	char *head = xstrndup(answer->buf, answer->len > 200 ? 200 : answer->len);
	add_escaped(&q, head);
	free(head);
	fail(err, "haproxy answered '%s%s' to '%s'", q.buf, answer->len > 200 ? "..." : "", cmd);
	sb_release(&q);
	return -1;
}

/* Run a command whose success is an empty answer. */
static int simple_command(const char *addr, const char *cmd, int timeout_ms, struct strbuf *err)
{
	struct strbuf answer = SB_INIT;
	int rc = hap_command(addr, cmd, timeout_ms, &answer, err);
	if (rc == 0) {
		trim_answer(&answer);
		if (answer.len)
			rc = answered(err, cmd, &answer);
	}
	sb_release(&answer);
	return rc;
}

int hap_set_weight(const char *addr, const char *backend, const char *server, int weight,
		   int timeout_ms, struct strbuf *err)
{
	if (check_names(backend, server, err) < 0)
		return -1;
	if (weight < 0 || weight > 256)
		return fail(err, "haproxy weight %d for '%s/%s' is out of range 0..256", weight,
			    backend, server);
	char *cmd = xasprintf("set weight %s/%s %d", backend, server, weight);
	int rc = simple_command(addr, cmd, timeout_ms, err);
	free(cmd);
	return rc;
}

/* Whether the n bytes at p are exactly s, or start with s (and go on). */
static int part_is(const char *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}
static int part_starts(const char *p, size_t n, const char *s)
{
	return n > strlen(s) && memcmp(p, s, strlen(s)) == 0;
}

/*
 * Whether a trimmed answer to `set server ... addr H port P` reports
 * success: its parts (", "-separated, before the last " by '") are one
 * about the address then one about the port, each a change or a no-op.
 */
static int addr_answer_ok(const char *a)
{
	const char *by = NULL;
	for (const char *p = strstr(a, " by '"); p; p = strstr(p + 1, " by '"))
		by = p;
	const char *p = a, *end = by ? by : a + strlen(a);
	int parts = 0;
	while (p < end) {
		const char *comma = strstr(p, ", ");
		const char *pe = comma && comma < end ? comma : end;
		size_t n = (size_t)(pe - p);
		if (parts == 0 && (part_is(p, n, "no need to change the addr") ||
				   part_starts(p, n, "IP changed from '")))
			parts = 1;
		else if (parts == 1 && (part_is(p, n, "no need to change the port") ||
					part_starts(p, n, "port changed from '")))
			parts = 2;
		else
			return 0;
		p = pe == end ? end : pe + 2;
	}
	return parts == 2;
}

/* A host that cannot smuggle words onto the line: [0-9a-zA-Z.:%_-], maybe in []. */
static int valid_host(const char *h)
{
	size_t n = strlen(h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n == 0 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == ':' || c == '%' || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int hap_set_addr(const char *addr, const char *backend, const char *server, const char *host,
		 int port, int timeout_ms, struct strbuf *err)
{
	if (check_names(backend, server, err) < 0)
		return -1;
	if (!valid_host(host)) {
		struct strbuf q = SB_INIT;
		add_escaped(&q, host);
		fail(err, "invalid address '%s' for haproxy server '%s/%s'", q.buf, backend,
		     server);
		sb_release(&q);
		return -1;
	}
	if (port < 1 || port > 65535)
		return fail(err, "port %d for haproxy server '%s/%s' is out of range 1..65535", port,
			    backend, server);
	char *cmd = xasprintf("set server %s/%s addr %s port %d", backend, server, host, port);
	struct strbuf answer = SB_INIT;
	int rc = hap_command(addr, cmd, timeout_ms, &answer, err);
	if (rc == 0) {
		trim_answer(&answer);
		if (!addr_answer_ok(answer.buf))
			rc = answered(err, cmd, &answer);
	}
	sb_release(&answer);
	free(cmd);
	return rc;
}

/* Read a non-negative decimal int at *p, advancing it; -1 if none. */
static int read_int(const char **p)
{
	const char *s = *p;
	long v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return -1;
		s++;
	}
	*p = s;
	return (int)v;
}

int hap_get_weight(const char *addr, const char *backend, const char *server, int *current,
		   int *initial, int timeout_ms, struct strbuf *err)
{
	if (check_names(backend, server, err) < 0)
		return -1;
	char *cmd = xasprintf("get weight %s/%s", backend, server);
	struct strbuf answer = SB_INIT;
	int rc = hap_command(addr, cmd, timeout_ms, &answer, err);
	if (rc == 0) {
		trim_answer(&answer);
		const char *p = answer.buf;
		int cur = read_int(&p);
		int init = -1;
		if (cur >= 0 && strncmp(p, " (initial ", 10) == 0) {
			p += 10;
			init = read_int(&p);
		}
		if (cur < 0 || init < 0 || strcmp(p, ")") != 0) {
			rc = answered(err, cmd, &answer);
		} else {
			if (current)
				*current = cur;
			if (initial)
				*initial = init;
		}
	}
	sb_release(&answer);
	free(cmd);
	return rc;
}

int hap_set_state(const char *addr, const char *backend, const char *server,
		  enum hap_state st, int timeout_ms, struct strbuf *err)
{
	if (check_names(backend, server, err) < 0)
		return -1;
	if (st != HAP_READY && st != HAP_DRAIN && st != HAP_MAINT)
		return fail(err, "unknown haproxy server state %d for '%s/%s'", (int)st, backend,
			    server);
	char *cmd = xasprintf("set server %s/%s state %s", backend, server, hap_state_name(st));
	int rc = simple_command(addr, cmd, timeout_ms, err);
	free(cmd);
	return rc;
}

/* ---- show stat ------------------------------------------------------- */

void hap_servers_free(struct hap_server *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].backend);
		free(v[i].name);
		free(v[i].status);
		free(v[i].addr);
	}
	free(v);
}

/* A line's fields, as offsets into a decoded copy. */
struct fields {
	struct strbuf text; /* fields, each NUL-terminated */
	size_t *start;
	size_t n, alloc;
};

/* Split one CSV line (no newline) into f; "" inside quotes is a quote. */
static void split_csv(const char *s, size_t len, struct fields *f)
{
	size_t i = 0;
	sb_reset(&f->text);
	f->n = 0;
	for (;;) {
		ALLOC_GROW(f->start, f->n + 1, f->alloc);
		f->start[f->n++] = f->text.len;
		if (i < len && s[i] == '"') {
			i++;
			while (i < len) {
				if (s[i] == '"') {
					if (i + 1 < len && s[i + 1] == '"') {
						sb_addch(&f->text, '"');
						i += 2;
						continue;
					}
					i++;
					break;
				}
				sb_addch(&f->text, s[i++]);
			}
		}
		while (i < len && s[i] != ',')
			sb_addch(&f->text, s[i++]);
		sb_addch(&f->text, '\0');
		if (i >= len)
			break;
		i++; /* the comma */
	}
}

static const char *field(const struct fields *f, size_t i)
{
	return f->text.buf + f->start[i];
}

/* A decimal number, or -1 for an empty or malformed field. */
static long long num_field(const char *s)
{
	long long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (LLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* Required columns, then the optional ones (SIZE_MAX when absent). */
enum { C_PXNAME, C_SVNAME, C_STATUS, C_WEIGHT, C_SCUR, C_STOT, C_REQUIRED, C_ADDR = C_REQUIRED,
       C_COUNT };
static const char *const col_names[C_COUNT] = { "pxname", "svname", "status", "weight",
						"scur",   "stot",   "addr" };

/* Optional columns: the response counters (absent or short rows: -1). */
enum { H_1XX, H_2XX, H_3XX, H_4XX, H_5XX, H_OTHER, H_COUNT };
static const char *const hrsp_names[H_COUNT] = { "hrsp_1xx", "hrsp_2xx", "hrsp_3xx",
						 "hrsp_4xx", "hrsp_5xx", "hrsp_other" };

/* hrsp_find: the index of each hrsp_* column in the header f, or SIZE_MAX. */
static void hrsp_find(const struct fields *f, size_t hcol[H_COUNT])
{
	for (size_t c = 0; c < H_COUNT; c++) {
		hcol[c] = SIZE_MAX;
		for (size_t i = 0; i < f->n; i++)
			if (strcmp(field(f, i), hrsp_names[c]) == 0) {
				hcol[c] = i;
				break;
			}
	}
}

/* hrsp_fill: s's response counters from the row f. */
static void hrsp_fill(struct hap_server *s, const struct fields *f, const size_t hcol[H_COUNT])
{
	long long v[H_COUNT];
	for (size_t c = 0; c < H_COUNT; c++)
		v[c] = hcol[c] < f->n ? num_field(field(f, hcol[c])) : -1;
	s->hrsp_1xx = v[H_1XX];
	s->hrsp_2xx = v[H_2XX];
	s->hrsp_3xx = v[H_3XX];
	s->hrsp_4xx = v[H_4XX];
	s->hrsp_5xx = v[H_5XX];
	s->hrsp_other = v[H_OTHER];
}

int hap_parse_stat(const char *text, size_t len, const char *backend, struct hap_server **out,
		   size_t *n, struct strbuf *err)
{
	struct fields f = { SB_INIT, NULL, 0, 0 };
	size_t col[C_COUNT], need = 0, nv = 0, av = 0, lineno = 0;
	size_t hcol[H_COUNT];
	struct hap_server *v = NULL;
	int have_header = 0, rc = 0;
	const char *p = text, *end = text + len;

	*out = NULL;
	*n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		size_t ll = (size_t)(le - p);
		lineno++;
		if (ll && p[ll - 1] == '\r')
			ll--;
		if (!have_header) {
			if (ll < 2 || p[0] != '#' || p[1] != ' ') {
				rc = fail(err, "haproxy 'show stat' answer has no '# pxname,...' header");
				goto done;
			}
			split_csv(p + 2, ll - 2, &f);
			for (size_t c = 0; c < C_COUNT; c++) {
				size_t i;
				for (i = 0; i < f.n; i++)
					if (strcmp(field(&f, i), col_names[c]) == 0)
						break;
				if (i == f.n && c >= C_REQUIRED) {
					col[c] = SIZE_MAX;
					continue;
				}
				if (i == f.n) {
					rc = fail(err, "haproxy 'show stat' answer has no column '%s'",
						  col_names[c]);
					goto done;
				}
				col[c] = i;
				if (c < C_REQUIRED && i + 1 > need)
					need = i + 1;
			}
			hrsp_find(&f, hcol);
			have_header = 1;
			p = next;
			continue;
		}
		if (ll == 0)
			break;
		split_csv(p, ll, &f);
		if (f.n < need) {
			rc = fail(err, "haproxy 'show stat' line %zu has %zu fields, fewer than %zu",
				  lineno, f.n, need);
			goto done;
		}
		const char *px = field(&f, col[C_PXNAME]);
		const char *sv = field(&f, col[C_SVNAME]);
		p = next;
		if (strcmp(sv, "FRONTEND") == 0 || strcmp(sv, "BACKEND") == 0)
			continue;
		if (backend && strcmp(px, backend) != 0)
			continue;
		ALLOC_GROW(v, nv + 1, av);
		struct hap_server *s = &v[nv++];
		const char *st = field(&f, col[C_STATUS]);
		long long w = num_field(field(&f, col[C_WEIGHT]));
		s->backend = xstrdup(px);
		s->name = xstrdup(sv);
		s->status = xstrdup(st);
		s->state = strncmp(st, "MAINT", 5) == 0	  ? HAP_MAINT
			   : strncmp(st, "DRAIN", 5) == 0 ? HAP_DRAIN
							  : HAP_READY;
		s->weight = w > INT_MAX ? -1 : (int)w;
		s->scur = num_field(field(&f, col[C_SCUR]));
		s->stot = num_field(field(&f, col[C_STOT]));
		hrsp_fill(s, &f, hcol);
		s->addr = col[C_ADDR] < f.n && *field(&f, col[C_ADDR])
				  ? xstrdup(field(&f, col[C_ADDR]))
				  : NULL;
	}
	if (!have_header)
		rc = fail(err, "haproxy 'show stat' answer has no '# pxname,...' header");
done:
	sb_release(&f.text);
	free(f.start);
	if (rc < 0) {
		hap_servers_free(v, nv);
		return -1;
	}
	*out = v;
	*n = nv;
	return 0;
}

int hap_servers(const char *addr, const char *backend, struct hap_server **out, size_t *n,
		int timeout_ms, struct strbuf *err)
{
	*out = NULL;
	*n = 0;
	if (backend && check_names(backend, NULL, err) < 0)
		return -1;
	/* Type 4 is "servers"; -1 is every server id. */
	char *cmd = backend ? xasprintf("show stat %s 4 -1", backend) : xstrdup("show stat");
	struct strbuf answer = SB_INIT;
	int rc = hap_command(addr, cmd, timeout_ms, &answer, err);
	if (rc == 0) {
		if (strncmp(answer.buf, "# ", 2) != 0) {
			trim_answer(&answer);
			rc = answered(err, cmd, &answer);
		} else {
			rc = hap_parse_stat(answer.buf, answer.len, backend, out, n, err);
		}
	}
	sb_release(&answer);
	free(cmd);
	return rc;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int hap_wait_drained(const char *addr, const char *backend, const char *server, int timeout_ms,
		     long long *left, struct strbuf *err)
{
	if (left)
		*left = -1;
	if (check_names(backend, server, err) < 0)
		return -1;
	if (timeout_ms <= 0)
		return fail(err, "timeout for draining '%s/%s' must be positive", backend, server);
	int64_t deadline = mono_ms() + timeout_ms;
	for (;;) {
		struct hap_server *v;
		size_t nv;
		/* A look near the deadline still gets time to answer. */
		int t = left_ms(deadline), floor = timeout_ms < HAP_DRAIN_LOOK_MS ? timeout_ms
										   : HAP_DRAIN_LOOK_MS;
		if (hap_servers(addr, backend, &v, &nv, t > floor ? t : floor, err) < 0) {
			if (left)
				*left = -1;
			return -1;
		}
		long long scur = -2;
		for (size_t i = 0; i < nv; i++)
			if (strcmp(v[i].name, server) == 0)
				scur = v[i].scur;
		hap_servers_free(v, nv);
		if (scur == -2)
			return fail(err, "haproxy has no server '%s/%s'", backend, server);
		if (left)
			*left = scur < 0 ? 0 : scur;
		if (scur <= 0)
			return 0;
		int rest = left_ms(deadline);
		if (rest <= 0)
			return fail(err, "server '%s/%s' still has %lld session%s after %d ms", backend,
				    server, scur, scur == 1 ? "" : "s", timeout_ms);
		sleep_ms(rest < HAP_DRAIN_POLL_MS ? rest : HAP_DRAIN_POLL_MS);
	}
}
