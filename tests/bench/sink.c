/*
 * sink.c: a stand-in tracing backend for the ofs-trace export tests.
 *
 * `sink DIR [SCRIPT]` listens on 127.0.0.1 on a free port, writes the
 * port to DIR/port, and saves every request: DIR/req-NNNN.body holds the
 * body exactly as received (gzip stays gzip) and DIR/req-NNNN.meta the
 * method, path, Content-Type, Content-Encoding and the status answered.
 * SCRIPT is the statuses to answer, in order, comma separated ("503,
 * 503,202"; "503r1" adds Retry-After: 1); once it is used up every
 * request gets 202. SIGTERM or SIGINT ends it. Built like the benchmark
 * programs, against libcommon's own HTTP server, so the tests need no
 * Python or netcat.
 */
#include "common.h"
#include <fcntl.h>

#include "httpd.h"
#include "sig.h"
#include "state.h"

struct sink {
	const char *dir;
	const char *script; /* the rest of the script, or "" */
	unsigned n;
};

static void save(const char *path, const void *data, size_t len)
{
	if (state_write_atomic(path, data, len, 0644, NULL) < 0)
		die_errno("cannot write '%s'", path);
}

static void handle(struct httpd_request *req, struct httpd_response *resp, void *user)
{
	struct sink *s = user;
	int status = 202, retry_after = -1;
	if (*s->script) {
		char *end;
		long v = strtol(s->script, &end, 10);
		if (end == s->script || v < 200 || v > 599)
			die("bad script at '%s'", s->script);
		status = (int)v;
		if (*end == 'r') {
			const char *num = end + 1;
			retry_after = (int)strtol(num, &end, 10);
			if (end == num)
				die("bad script at '%s'", s->script);
		}
		s->script = *end == ',' ? end + 1 : end;
	}
	unsigned k = s->n++;
	char *body = xasprintf("%s/req-%04u.body", s->dir, k);
	save(body, req->body.buf ? req->body.buf : "", req->body.len);
	const char *ct = httpd_header_get(req, "Content-Type");
	const char *ce = httpd_header_get(req, "Content-Encoding");
	char *meta = xasprintf("method %s\npath %s\ncontent-type %s\ncontent-encoding %s\nstatus %d\n",
			       req->method, req->path, ct ? ct : "-", ce ? ce : "-", status);
	char *metapath = xasprintf("%s/req-%04u.meta", s->dir, k);
	save(metapath, meta, strlen(meta));
	free(body);
	free(meta);
	free(metapath);
	resp->status = status;
	if (retry_after >= 0) {
		char v[32];
		snprintf(v, sizeof(v), "%d", retry_after);
		httpd_response_header(resp, "Retry-After", v);
	}
	sb_addstr(&resp->body, status < 300 ? "{}" : "{\"error\":\"scripted\"}");
}

int main(int argc, char **argv)
{
	ofs_progname = "sink";
	if (argc < 2 || argc > 3)
		die_usage("usage: sink DIR [STATUS,...]");
	struct sink s = { argv[1], argc == 3 ? argv[2] : "", 0 };
	struct httpd_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.handler = handle;
	cfg.user = &s;
	struct strbuf err = SB_INIT;
	struct httpd *srv = httpd_new(&cfg, &err);
	if (!srv)
		die("%s", err.buf);
	char port[16];
	snprintf(port, sizeof(port), "%d\n", httpd_port(srv));
	char *portfile = xasprintf("%s/port", s.dir);
	save(portfile, port, strlen(port));
	free(portfile);
	sig_setup();
	while (!sig_pending())
		if (httpd_run_once(srv, 200) < 0 && errno != EINTR)
			die_errno("poll failed");
	httpd_free(srv);
	sb_release(&err);
	return 0;
}
