/*
 * telemetry.c: span and log records of a shop instance (see
 * telemetry.h). The record head (type, ts, trace_id, span_id) comes from
 * record.h's rec_begin_ctx, so the shop's records look exactly like the
 * tools' own.
 */
#include "common.h"
#include <fcntl.h>

#include "record.h"
#include "telemetry.h"
#include "timefmt.h"

static int open_append(const char *dir, const char *name, struct strbuf *err)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
	free(path);
	return fd;
}

int shop_tel_open(struct shop_tel *t, const char *dir, const char *service, const char *instance,
		  struct strbuf *err)
{
	memset(t, 0, sizeof(*t));
	sb_init(&t->sb, 512);
	t->service = service;
	t->instance = instance;
	t->log_fd = -1;
	t->span_fd = open_append(dir, "spans.jsonl", err);
	if (t->span_fd >= 0)
		t->log_fd = open_append(dir, "logs.jsonl", err);
	if (t->log_fd < 0) {
		shop_tel_close(t);
		return -1;
	}
	return 0;
}

void shop_tel_close(struct shop_tel *t)
{
	if (t->span_fd >= 0)
		close(t->span_fd);
	if (t->log_fd >= 0)
		close(t->log_fd);
	t->span_fd = t->log_fd = -1;
	sb_release(&t->sb);
}

/* Close the record in t->sb and append it to fd with one write. */
static void flush_record(struct shop_tel *t, int fd, const char *what)
{
	jw_obj_end(&t->w);
	if (!jw_done(&t->w))
		die("%s record closed with open objects", what);
	sb_addch(&t->sb, '\n');
	ssize_t n = write(fd, t->sb.buf, t->sb.len);
	if (n != (ssize_t)t->sb.len && !t->failed) {
		t->failed = true;
		if (n < 0)
			error_errno("cannot append to the %s file", what);
		else
			error("cannot append to the %s file: short write", what);
	}
	sb_reset(&t->sb);
}

void shop_tel_span(struct shop_tel *t, const struct shop_span *s)
{
	char hex[17];
	sb_reset(&t->sb);
	jw_init(&t->w, &t->sb);
	struct jw *w = &t->w;
	rec_begin_ctx(w, "span", s->start_ns, s->ctx);
	if (s->parent_id)
		jw_kv_str(w, "parent_span_id", tc_hex(s->parent_id, 8, hex));
	jw_kv_str(w, "service", t->service);
	jw_kv_str(w, "instance", t->instance);
	jw_kv_str(w, "name", s->name);
	jw_kv_str(w, "kind", s->kind);
	jw_key(w, "start_ns");
	jw_int_str(w, s->start_ns);
	jw_kv_double(w, "duration_ms", s->duration_ms);
	jw_kv_str(w, "status", s->error ? "error" : "ok");
	jw_kv_str(w, "http_method", s->method);
	jw_kv_str(w, "http_path", s->path);
	if (s->http_status)
		jw_kv_int(w, "http_status", s->http_status);
	if (s->peer_service)
		jw_kv_str(w, "peer_service", s->peer_service);
	if (s->peer_instance)
		jw_kv_str(w, "peer_instance", s->peer_instance);
	if (s->peer_address)
		jw_kv_str(w, "peer_address", s->peer_address);
	if (s->error)
		jw_kv_str(w, "error", s->error);
	flush_record(t, t->span_fd, "span");
}

struct jw *shop_tel_log_begin(struct shop_tel *t, const char *level, const struct tc *ctx,
			      const char *msg)
{
	sb_reset(&t->sb);
	jw_init(&t->w, &t->sb);
	rec_begin_ctx(&t->w, "log", ts_now_ns(), ctx);
	jw_kv_str(&t->w, "level", level);
	jw_kv_str(&t->w, "service", t->service);
	jw_kv_str(&t->w, "instance", t->instance);
	jw_kv_str(&t->w, "msg", msg);
	return &t->w;
}

void shop_tel_log_end(struct shop_tel *t)
{
	flush_record(t, t->log_fd, "log");
}
