/*
 * proxy_control.c: the control channel of `ofs-chaos proxy`: JSON Lines
 * requests on stdin (replies on stdout, among the records) and on the
 * optional Unix control socket (replies on the socket), one reply line
 * per request line.
 *
 * The socket side is what proxy_ctl.c, the client faults use, speaks:
 * connect, send one line, read one line, close. A client may also keep
 * the connection and send more lines. Requests are untrusted input:
 * syntax errors, unknown operations, keys and values are answered with
 * "ok": false and a reason naming the JSON pointer, lines are bounded
 * (CTL_MAX_LINE), and a client that stops reading its replies is
 * dropped. The socket file is made mode 0600 (only its owner may steer
 * the proxy), replaces a stale file left by a killed proxy, and is
 * removed at exit.
 */
#include "common.h"
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "config.h"
#include "out.h"
#include "proxy.h"
#include "record.h"

/* The longest request line taken. */
#define CTL_MAX_LINE (1024 * 1024)
/* Control clients at once; more are closed at once. */
#define CTL_MAX_CLIENTS 64
/* Replies a client may leave unread before it is dropped. */
#define CTL_MAX_OUT (4 * 1024 * 1024)

static const char *const op_names[] = { "add", "update", "remove", "list", "reset", "stats",
					NULL };
enum { OP_ADD, OP_UPDATE, OP_REMOVE, OP_LIST, OP_RESET, OP_STATS };

static dev_t ctl_dev;
static ino_t ctl_ino;
static uint32_t listen_ev, stdin_ev; /* their registered epoll events */
static bool ctl_dead;                /* a client was closed since the last sweep */

/* ---- requests --------------------------------------------------------------- */

/* cfg's errors ("request: PTR: msg" lines) as one "PTR: msg; ..." string. */
static void join_errors(const struct strbuf *errors, struct strbuf *out)
{
	const char *p = errors->buf, *end = p + errors->len;
	static const char prefix[] = "request: ";
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if ((size_t)(nl - p) >= sizeof(prefix) - 1 && !memcmp(p, prefix, sizeof(prefix) - 1))
			p += sizeof(prefix) - 1;
		if (out->len)
			sb_addstr(out, "; ");
		sb_add(out, p, (size_t)(nl - p));
		p = nl + 1;
	}
}

static void reply_begin(struct jw *w, const char *op, const cJSON *id)
{
	rec_begin(w, "chaos.proxy.reply");
	jw_key(w, "op");
	jw_str(w, op);
	if (id) {
		jw_key(w, "id");
		jw_cjson(w, id);
	}
}

static void reply_fail(struct jw *w, const char *op, const cJSON *id, const char *error)
{
	reply_begin(w, op, id);
	jw_kv_bool(w, "ok", false);
	jw_kv_str(w, "error", error);
	jw_obj_end(w);
}

/* Merge the update request u (at /toxic) over the stored toxic old and
 * validate the result into *t. Returns the errors recorded. */
static int merge_update(struct cfg *cfg, const cJSON *u, const struct toxic *old, struct toxic *t)
{
	static const char *const keys[] = { "name", "type", "stream", "toxicity", "attributes",
					    NULL };
	int before = cfg->nerrors;
	cfg_check_keys(cfg, u, "/toxic", keys);
	const char *type = NULL, *stream = NULL;
	if (cfg_get_string(cfg, u, "/toxic", "type", false, &type) == 1 &&
	    strcmp(type, toxic_type_name(old->type)))
		cfg_error(cfg, "/toxic/type",
			  "cannot change the type of toxic '%s' (%s); remove it and add another",
			  old->name, toxic_type_name(old->type));
	if (cfg_get_string(cfg, u, "/toxic", "stream", false, &stream) == 1 &&
	    strcmp(stream, toxic_stream_name(old->stream)))
		cfg_error(cfg, "/toxic/stream",
			  "cannot change the stream of toxic '%s' (%s); remove it and add another",
			  old->name, toxic_stream_name(old->stream));
	cJSON *attrs = NULL;
	cfg_get_object(cfg, u, "/toxic", "attributes", false, &attrs);
	if (cfg->nerrors > before)
		return cfg->nerrors - before;
	cJSON *merged = toxic_to_json(old);
	const cJSON *tox = cJSON_GetObjectItemCaseSensitive(u, "toxicity");
	if (tox)
		cJSON_ReplaceItemInObjectCaseSensitive(merged, "toxicity", cJSON_Duplicate(tox, 1));
	cJSON *mattrs = cJSON_GetObjectItemCaseSensitive(merged, "attributes");
	const cJSON *a;
	cJSON_ArrayForEach(a, attrs)
	{
		cJSON *dup = cJSON_Duplicate(a, 1);
		if (cJSON_GetObjectItemCaseSensitive(mattrs, a->string))
			cJSON_ReplaceItemInObjectCaseSensitive(mattrs, a->string, dup);
		else
			cJSON_AddItemToObject(mattrs, a->string, dup);
	}
	int n = toxic_parse(cfg, merged, "/toxic", t);
	cJSON_Delete(merged);
	return n;
}

void ctl_request(struct proxy *px, const char *line, size_t len, const char *via,
		 struct strbuf *reply)
{
	static const char *const keys[][4] = {
		[OP_ADD] = { "op", "id", "toxic", NULL },
		[OP_UPDATE] = { "op", "id", "toxic", NULL },
		[OP_REMOVE] = { "op", "id", "name", NULL },
		[OP_LIST] = { "op", "id", NULL },
		[OP_RESET] = { "op", "id", NULL },
		[OP_STATS] = { "op", "id", NULL },
	};
	struct jw w;
	jw_init(&w, reply);
	struct cfg cfg;
	struct strbuf why = SB_INIT;
	if (cfg_parse_string("request", line, len, &cfg, &why) < 0) {
		reply_fail(&w, NULL, NULL, why.buf);
		goto done;
	}
	const cJSON *root = cfg.root;
	const cJSON *id = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "id") : NULL;
	int op = -1;
	if (cfg_root_object(&cfg))
		cfg_get_enum(&cfg, root, "", "op", true, op_names, &op);
	if (op >= 0)
		cfg_check_keys(&cfg, root, "", keys[op]);
	const char *opname = op >= 0 ? op_names[op] : NULL;
	cJSON *tj = NULL;
	const char *name = NULL;
	struct toxic *old = NULL;
	struct toxic t;
	memset(&t, 0, sizeof(t));
	if (cfg.nerrors == 0) {
		switch (op) {
		case OP_ADD:
			if (cfg_get_object(&cfg, root, "", "toxic", true, &tj) == 1)
				toxic_parse(&cfg, tj, "/toxic", &t);
			break;
		case OP_UPDATE:
			if (cfg_get_object(&cfg, root, "", "toxic", true, &tj) == 1 &&
			    cfg_get_string(&cfg, tj, "/toxic", "name", true, &name) == 1) {
				old = proxy_find_toxic(px, name);
				if (!old)
					cfg_error(&cfg, "/toxic/name", "no toxic is named '%s'", name);
				else
					merge_update(&cfg, tj, old, &t);
			}
			break;
		case OP_REMOVE:
			if (cfg_get_string(&cfg, root, "", "name", true, &name) == 1) {
				old = proxy_find_toxic(px, name);
				if (!old)
					cfg_error(&cfg, "/name", "no toxic is named '%s'", name);
			}
			break;
		default:
			break;
		}
	}
	if (cfg.nerrors) {
		sb_reset(&why);
		join_errors(&cfg.errors, &why);
		reply_fail(&w, opname, id, why.buf);
		toxic_release(&t);
		goto done;
	}
	switch (op) {
	case OP_ADD: {
		struct strbuf aerr = SB_INIT;
		/* The reply shows the toxic as stored: write it before it moves. */
		char *stored_name = xstrdup(t.name);
		if (proxy_add_toxic(px, &t, via, &aerr) < 0) {
			reply_fail(&w, opname, id, aerr.buf);
		} else {
			reply_begin(&w, opname, id);
			jw_kv_bool(&w, "ok", true);
			jw_key(&w, "toxic");
			toxic_write(&w, proxy_find_toxic(px, stored_name));
			jw_obj_end(&w);
		}
		free(stored_name);
		sb_release(&aerr);
		break;
	}
	case OP_UPDATE:
		proxy_update_toxic(px, old, &t, via);
		reply_begin(&w, opname, id);
		jw_kv_bool(&w, "ok", true);
		jw_key(&w, "toxic");
		toxic_write(&w, old);
		jw_obj_end(&w);
		break;
	case OP_REMOVE:
		reply_begin(&w, opname, id);
		jw_kv_bool(&w, "ok", true);
		jw_key(&w, "toxic");
		toxic_write(&w, old);
		jw_obj_end(&w);
		proxy_remove_toxic(px, old, via);
		break;
	case OP_LIST:
		reply_begin(&w, opname, id);
		jw_kv_bool(&w, "ok", true);
		jw_key(&w, "toxics");
		jw_arr_begin(&w);
		for (size_t i = 0; i < px->ntoxics; i++)
			toxic_write(&w, px->toxics[i]);
		jw_arr_end(&w);
		jw_obj_end(&w);
		break;
	case OP_RESET: {
		size_t n = proxy_reset(px, via);
		reply_begin(&w, opname, id);
		jw_kv_bool(&w, "ok", true);
		jw_kv_int(&w, "removed", (int64_t)n);
		jw_obj_end(&w);
		break;
	}
	case OP_STATS:
		reply_begin(&w, opname, id);
		jw_kv_bool(&w, "ok", true);
		proxy_write_stats(px, &w);
		jw_obj_end(&w);
		break;
	}
done:
	sb_release(&why);
	cfg_free(&cfg);
}

/* ---- lines -------------------------------------------------------------------- */

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* One request line: its reply (plus "\n") is appended to out. */
static void one_line(struct proxy *px, const char *s, size_t n, const char *via,
		     struct strbuf *out)
{
	if (n && s[n - 1] == '\r')
		n--;
	if (blank(s, n))
		return;
	ctl_request(px, s, n, via, out);
	sb_addch(out, '\n');
}

static void too_long(struct strbuf *out)
{
	struct jw w;
	jw_init(&w, out);
	struct strbuf msg = SB_INIT;
	sb_addf(&msg, "request line longer than %d bytes", CTL_MAX_LINE);
	reply_fail(&w, NULL, NULL, msg.buf);
	sb_release(&msg);
	sb_addch(out, '\n');
}

/* Take n more bytes; answer every complete line into out. At eof a last
 * line without its newline counts too. */
static void lines_feed(struct proxy *px, struct ctl_lines *l, const char *data, size_t n,
		       bool eof, const char *via, struct strbuf *out)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		if (l->skipping) {
			if (nl)
				l->skipping = false;
		} else if (l->buf.len + take > CTL_MAX_LINE) {
			sb_reset(&l->buf);
			too_long(out);
			l->skipping = !nl;
		} else {
			sb_add(&l->buf, data, take);
			if (nl) {
				one_line(px, l->buf.buf, l->buf.len, via, out);
				sb_reset(&l->buf);
			}
		}
		if (!nl)
			break;
		data = nl + 1;
		n -= take + 1;
	}
	if (eof) {
		if (!l->skipping && l->buf.len)
			one_line(px, l->buf.buf, l->buf.len, via, out);
		sb_reset(&l->buf);
		l->skipping = false;
	}
}

/* ---- the socket ------------------------------------------------------------- */

int ctl_listen(struct proxy *px, const char *path, struct strbuf *err)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	size_t len = strlen(path);
	if (len >= sizeof(sa.sun_path)) {
		sb_addf(err, "control socket path '%s' is too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, len + 1);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			sb_addf(err, "cannot create control socket '%s': it exists and is not a socket",
				path);
			return -1;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0) {
			sb_addf(err, "cannot create a socket: %s", strerror(errno));
			return -1;
		}
		int r = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
		int e = errno;
		close(probe);
		if (r == 0) {
			sb_addf(err, "control socket '%s' is in use by a running process", path);
			return -1;
		}
		if (e != ECONNREFUSED && e != ENOENT) {
			sb_addf(err, "cannot check control socket '%s': %s", path, strerror(e));
			return -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			sb_addf(err, "cannot replace stale control socket '%s': %s", path,
				strerror(errno));
			return -1;
		}
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		sb_addf(err, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (r < 0) {
		sb_addf(err, "cannot create control socket '%s': %s", path, strerror(e));
		close(fd);
		return -1;
	}
	px->control_path = path;
	px->ctl_bound = true;
	if (chmod(path, 0600) < 0 || listen(fd, 64) < 0 || stat(path, &st) < 0) {
		sb_addf(err, "cannot set up control socket '%s': %s", path, strerror(errno));
		close(fd);
		unlink(path);
		px->ctl_bound = false;
		return -1;
	}
	ctl_dev = st.st_dev;
	ctl_ino = st.st_ino;
	px->ctl_fd = fd;
	proxy_watch(px, fd, &listen_ev, EPOLLIN, TAG_FIX(FIX_CONTROL));
	return 0;
}

void ctl_unlink(struct proxy *px)
{
	if (!px->ctl_bound)
		return;
	struct stat st;
	/* Remove it only if it is still ours, not a later proxy's. */
	if (stat(px->control_path, &st) == 0 && st.st_dev == ctl_dev && st.st_ino == ctl_ino)
		unlink(px->control_path);
	px->ctl_bound = false;
	if (px->ctl_fd >= 0)
		close(px->ctl_fd);
	px->ctl_fd = -1;
}

static void client_close(struct ctl_client *cl)
{
	if (cl->dead)
		return;
	close(cl->fd);
	cl->fd = -1;
	cl->ev = 0;
	cl->dead = true;
	ctl_dead = true;
}

/* Ask epoll for what the client needs now: input until its end,
 * writability while replies wait. */
static void client_watch(struct proxy *px, struct ctl_client *cl)
{
	if (cl->dead)
		return;
	uint32_t want = cl->eof ? 0 : EPOLLIN;
	if (cl->out_off < cl->out.len)
		want |= EPOLLOUT;
	proxy_watch(px, cl->fd, &cl->ev, want, TAG_OF(cl, TAG_CTL));
}

static void client_flush(struct ctl_client *cl)
{
	while (cl->out_off < cl->out.len) {
		ssize_t n = send(cl->fd, cl->out.buf + cl->out_off, cl->out.len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			client_close(cl);
			return;
		}
		cl->out_off += (size_t)n;
	}
	if (cl->out_off == cl->out.len) {
		sb_reset(&cl->out);
		cl->out_off = 0;
		if (cl->eof)
			client_close(cl);
	} else if (cl->out.len - cl->out_off > CTL_MAX_OUT) {
		client_close(cl);
	}
}

static void client_read(struct proxy *px, struct ctl_client *cl)
{
	char buf[65536];
	ssize_t n = recv(cl->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		cl->eof = true;
		lines_feed(px, &cl->in, buf, 0, true, VIA_SOCKET, &cl->out);
	} else {
		lines_feed(px, &cl->in, buf, (size_t)n, false, VIA_SOCKET, &cl->out);
	}
	client_flush(cl);
}

static void accept_clients(struct proxy *px)
{
	for (;;) {
		int fd = accept4(px->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (px->nctls >= CTL_MAX_CLIENTS) {
			close(fd);
			continue;
		}
		struct ctl_client *cl = xcalloc(1, sizeof(*cl));
		cl->fd = fd;
		sb_init(&cl->in.buf, 0);
		sb_init(&cl->out, 0);
		ALLOC_GROW(px->ctls, px->nctls + 1, px->actls);
		px->ctls[px->nctls++] = cl;
		client_watch(px, cl);
	}
}

static void client_free(struct ctl_client *cl)
{
	client_close(cl);
	sb_release(&cl->in.buf);
	sb_release(&cl->out);
	free(cl);
}

/* ---- stdin --------------------------------------------------------------------- */

static void stdin_end(struct proxy *px)
{
	if (stdin_ev)
		proxy_watch(px, STDIN_FILENO, &stdin_ev, 0, TAG_FIX(FIX_STDIN));
	px->stdin_open = false;
}

/* Read what stdin has; false at its end. */
static bool stdin_read(struct proxy *px)
{
	char buf[65536];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	struct strbuf out = SB_INIT;
	/* The end of stdin (or an error reading it) leaves the proxy
	 * running, controlled by the socket and by signals. */
	if (n <= 0)
		lines_feed(px, &px->stdin_lines, buf, 0, true, VIA_STDIN, &out);
	else
		lines_feed(px, &px->stdin_lines, buf, (size_t)n, false, VIA_STDIN, &out);
	if (out.len) {
		struct out *o = out_stdout();
		out_write(o, out.buf, out.len);
		out_flush(o);
	}
	sb_release(&out);
	return n > 0;
}

void ctl_stdin_start(struct proxy *px)
{
	if (fcntl(STDIN_FILENO, F_GETFD) < 0) {
		px->stdin_open = false;
		return;
	}
	px->stdin_open = true;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_FIX(FIX_STDIN) };
	if (epoll_ctl(px->epfd, EPOLL_CTL_ADD, STDIN_FILENO, &ev) == 0) {
		stdin_ev = EPOLLIN;
		return;
	}
	/* A regular file: reading it never blocks. */
	while (stdin_read(px))
		;
	stdin_end(px);
}

/* ---- the loop's side ------------------------------------------------------------ */

void ctl_event(struct proxy *px, uint64_t tag, uint32_t events)
{
	if ((tag & 3) == TAG_CTL) {
		struct ctl_client *cl = (struct ctl_client *)(uintptr_t)(tag & ~(uint64_t)3);
		if (cl->dead)
			return;
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			client_read(px, cl);
		if (!cl->dead && (events & EPOLLOUT))
			client_flush(cl);
		client_watch(px, cl);
		return;
	}
	if (tag == TAG_FIX(FIX_CONTROL)) {
		accept_clients(px);
	} else if (tag == TAG_FIX(FIX_STDIN) && px->stdin_open) {
		if (!stdin_read(px))
			stdin_end(px);
	}
}

void ctl_sweep(struct proxy *px)
{
	if (!ctl_dead)
		return;
	ctl_dead = false;
	size_t kept = 0;
	for (size_t i = 0; i < px->nctls; i++) {
		if (px->ctls[i]->dead)
			client_free(px->ctls[i]);
		else
			px->ctls[kept++] = px->ctls[i];
	}
	px->nctls = kept;
}

void ctl_close_all(struct proxy *px)
{
	for (size_t i = 0; i < px->nctls; i++)
		client_free(px->ctls[i]);
	free(px->ctls);
	px->ctls = NULL;
	px->nctls = px->actls = 0;
	if (px->stdin_open)
		stdin_end(px);
}
