/*
 * test_haproxy.c: unit tests for haproxy.c. The `show stat` parser and the
 * name rules are tested on fixed text; everything else against a real
 * HAProxy (the Debian package `haproxy`, which CI installs through .ci/deps
 * test) that the test starts in the foreground with a generated config in
 * a temp dir: a Unix and a TCP admin stats socket on 127.0.0.1, a TCP
 * frontend, and a backend of three servers, s1 pointing at a listener this
 * test holds, s2 at a port nothing listens on, s3 disabled. HAProxy gets
 * SIGKILL through PR_SET_PDEATHSIG if the test dies, and is stopped and
 * reaped at the end otherwise, so no process is left behind. A machine
 * without haproxy fails the test with a message saying what to install.
 */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "haproxy.h"
#include "strbuf.h"
#include "tap.h"
#include "timefmt.h"

#define T 3000 /* ms for one exchange: generous, the socket answers in < 1 ms */

static char dir[] = "/tmp/ofs-test-haproxy-XXXXXX";
static char sock[128], tcp_addr[64];
static pid_t hap_pid = -1;
static int backend_fd = -1; /* the listener s1 points at */
static int fe_port;

/* ---- the parser, on fixed text --------------------------------------- */

static const char stat_text[] =
	"# pxname,svname,qcur,scur,stot,status,weight,check_desc,\n"
	"fe,FRONTEND,,2,10,OPEN,,,\n"
	"web,a,0,3,40,UP,10,\"Layer4, \"\"ok\"\"\",\n"
	"web,b,0,0,7,DRAIN,0,,\n"
	"web,c,0,,,MAINT (via web/a),5,,\n"
	"web,BACKEND,0,3,47,UP,15,,\n"
	"api,x1,0,1,1,no check,1,,\r\n"
	"\n"
	"ignored,after,blank,line\n";

static void test_parse(void)
{
	struct hap_server *v;
	size_t n;
	struct strbuf err = SB_INIT;

	ok(hap_parse_stat(stat_text, strlen(stat_text), NULL, &v, &n, &err) == 0,
	   "parse: a table with quoted fields, summary rows and CRLF");
	if (is_int((long long)n, 4, "parse: four server rows, FRONTEND/BACKEND skipped")) {
		is_str(v[0].backend, "web", "parse: pxname");
		is_str(v[0].name, "a", "parse: svname");
		is_int(v[0].scur, 3, "parse: scur");
		is_int(v[0].stot, 40, "parse: stot");
		is_int(v[0].weight, 10, "parse: weight");
		is_str(v[0].status, "UP", "parse: status");
		is_int(v[0].state, HAP_READY, "parse: UP is ready");
		is_int(v[1].state, HAP_DRAIN, "parse: DRAIN is drain");
		is_int(v[2].state, HAP_MAINT, "parse: MAINT (via ...) is maint");
		is_str(v[2].status, "MAINT (via web/a)", "parse: status kept as written");
		is_int(v[2].scur, -1, "parse: empty scur is -1");
		is_str(v[3].status, "no check", "parse: status before CRLF");
		is_int(v[3].stot, 1, "parse: last column before CR");
		ok(v[0].addr == NULL, "parse: no addr column, addr NULL");
	}
	hap_servers_free(v, n);

	static const char addr_text[] = "# pxname,svname,scur,stot,status,weight,addr,cookie\n"
					"be,s1,0,0,MAINT,1,127.0.0.1:1,\n"
					"be,s2,0,0,UP,1,[::1]:8080,c\n"
					"be,s3,0,0,UP,1,,\n"
					"be,s4,0,0,UP,1\n";
	ok(hap_parse_stat(addr_text, strlen(addr_text), "be", &v, &n, &err) == 0,
	   "parse: a table with an addr column (%s)", err.buf);
	if (is_int((long long)n, 4, "parse: addr table rows")) {
		is_str(v[0].addr, "127.0.0.1:1", "parse: addr");
		is_str(v[1].addr, "[::1]:8080", "parse: an IPv6 addr as written");
		ok(v[2].addr == NULL, "parse: empty addr is NULL");
		ok(v[3].addr == NULL, "parse: a row ending before addr has addr NULL");
	}
	hap_servers_free(v, n);

	ok(hap_parse_stat(stat_text, strlen(stat_text), "web", &v, &n, &err) == 0 && n == 3 &&
		   strcmp(v[2].name, "c") == 0,
	   "parse: a backend filter keeps its servers only");
	hap_servers_free(v, n);

	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "", "haproxy 'show stat' answer has no '# pxname,...' header" },
		{ "No such proxy.\n", "haproxy 'show stat' answer has no '# pxname,...' header" },
		{ "# pxname,svname,status,weight,scur\n",
		  "haproxy 'show stat' answer has no column 'stot'" },
		{ "# pxname,svname,status,weight,scur,stot\nbe,s1,UP\n",
		  "haproxy 'show stat' line 2 has 3 fields, fewer than 6" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = (struct hap_server *)&err; /* must be reset to NULL */
		ok(hap_parse_stat(bad[i].text, strlen(bad[i].text), NULL, &v, &n, &err) == -1 &&
			   v == NULL && n == 0,
		   "parse: bad table %zu fails", i);
		is_str(err.buf, bad[i].err, "parse: its message");
	}
	sb_release(&err);
}

/* The optional response counters: read by name, -1 when empty or absent. */
static void test_parse_hrsp(void)
{
	static const char text[] =
		"# pxname,svname,status,weight,scur,stot,hrsp_1xx,hrsp_2xx,hrsp_3xx,"
		"hrsp_4xx,hrsp_5xx,hrsp_other,\n"
		"web,a,UP,1,0,9,0,7,1,0,2,0,\n"
		"raw,t,UP,1,0,3,,,,,,,\n"
		"web,short,UP,1,0,4\n";
	static const char bare[] = "# pxname,svname,status,weight,scur,stot\nbe,s1,UP,1,0,5\n";
	static const struct {
		const char *what;
		size_t row;
		long long r1, r2, r3, r4, r5, ro;
	} want[] = {
		{ "http server", 0, 0, 7, 1, 0, 2, 0 },
		{ "tcp server: empty fields", 1, -1, -1, -1, -1, -1, -1 },
		{ "row ending before the counters", 2, -1, -1, -1, -1, -1, -1 },
	};
	struct hap_server *v;
	size_t n;
	struct strbuf err = SB_INIT;

	ok(hap_parse_stat(text, strlen(text), NULL, &v, &n, &err) == 0 && n == 3,
	   "hrsp: a table with response counters parses");
	for (size_t i = 0; n == 3 && i < ARRAY_SIZE(want); i++) {
		const struct hap_server *s = &v[want[i].row];
		ok(s->hrsp_1xx == want[i].r1 && s->hrsp_2xx == want[i].r2 &&
			   s->hrsp_3xx == want[i].r3 && s->hrsp_4xx == want[i].r4 &&
			   s->hrsp_5xx == want[i].r5 && s->hrsp_other == want[i].ro,
		   "hrsp: %s: %lld %lld %lld %lld %lld %lld", want[i].what, s->hrsp_1xx,
		   s->hrsp_2xx, s->hrsp_3xx, s->hrsp_4xx, s->hrsp_5xx, s->hrsp_other);
	}
	hap_servers_free(v, n);

	ok(hap_parse_stat(bare, strlen(bare), NULL, &v, &n, &err) == 0 && n == 1 &&
		   v[0].hrsp_5xx == -1 && v[0].hrsp_2xx == -1 && v[0].stot == 5,
	   "hrsp: columns absent from the header read as -1");
	hap_servers_free(v, n);
	sb_release(&err);
}

static void test_names(void)
{
	static const struct {
		const char *name;
		int valid;
	} cases[] = {
		{ "be", 1 },	    { "web-v2_blue.1:x", 1 }, { "", 0 },	{ "a b", 0 },
		{ "be/s1", 0 },	    { "s1;shutdown", 0 },     { "s1\n", 0 },	{ "\xc3\xa9", 0 },
		{ "a\"b", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(hap_valid_name(cases[i].name), cases[i].valid, cases[i].name);
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	is_int(hap_valid_name(longname), 0, "names: longer than 255 bytes");
	is_str(hap_state_name(HAP_DRAIN), "drain", "names: state name");
}

/* ---- a real haproxy -------------------------------------------------- */

static char *find_haproxy(void)
{
	const char *path = getenv("PATH");
	struct strbuf dirs = SB_INIT;
	sb_addf(&dirs, "%s:/usr/sbin:/usr/local/sbin:/sbin", path ? path : "");
	char *found = NULL;
	for (char *d = dirs.buf, *e; d && !found; d = e) {
		e = strchr(d, ':');
		if (e)
			*e++ = '\0';
		if (!*d)
			continue;
		char *p = xasprintf("%s/haproxy", d);
		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	sb_release(&dirs);
	return found;
}

/* A listening TCP socket on 127.0.0.1 with a kernel-chosen port. */
static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		die_errno("cannot listen on 127.0.0.1");
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A port free right now (for haproxy to bind just after). */
static int free_port(void)
{
	int port;
	close(listen_any(&port));
	return port;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void stop_haproxy(void)
{
	if (hap_pid <= 0)
		return;
	kill(hap_pid, SIGTERM);
	int status;
	for (int i = 0; i < 200; i++) {
		if (waitpid(hap_pid, &status, WNOHANG) == hap_pid) {
			hap_pid = -1;
			return;
		}
		sleep_ms(10);
	}
	kill(hap_pid, SIGKILL);
	waitpid(hap_pid, &status, 0);
	hap_pid = -1;
}

static void cleanup(void)
{
	stop_haproxy();
	char *files[] = { "h.sock", "h.cfg", "haproxy.log", "refused.sock" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *p = xasprintf("%s/%s", dir, files[i]);
		unlink(p);
		free(p);
	}
	rmdir(dir);
}

static int start_haproxy(const char *bin)
{
	int be_port, stats_port = free_port();
	fe_port = free_port();
	backend_fd = listen_any(&be_port);
	snprintf(sock, sizeof(sock), "%s/h.sock", dir);
	snprintf(tcp_addr, sizeof(tcp_addr), "127.0.0.1:%d", stats_port);

	struct strbuf cfg = SB_INIT;
	sb_addf(&cfg,
		"global\n"
		"\tmaxconn 100\n"
		"\tstats socket %s mode 600 level admin\n"
		"\tstats socket 127.0.0.1:%d level admin\n"
		"defaults\n"
		"\tmode tcp\n"
		"\ttimeout connect 1s\n"
		"\ttimeout client 30s\n"
		"\ttimeout server 30s\n"
		"frontend fe\n"
		"\tbind 127.0.0.1:%d\n"
		"\tdefault_backend be\n"
		"backend be\n"
		"\tserver s1 127.0.0.1:%d weight 10\n"
		"\tserver s2 127.0.0.1:%d\n"
		"\tserver s3 127.0.0.1:%d weight 5 disabled\n",
		sock, stats_port, fe_port, be_port, free_port(), free_port());
	char *cfg_path = xasprintf("%s/h.cfg", dir);
	char *log_path = xasprintf("%s/haproxy.log", dir);
	FILE *f = fopen(cfg_path, "w");
	if (!f || fwrite(cfg.buf, 1, cfg.len, f) != cfg.len || fclose(f) != 0)
		die_errno("cannot write '%s'", cfg_path);
	sb_release(&cfg);

	pid_t parent = getpid();
	hap_pid = fork();
	if (hap_pid < 0)
		die_errno("fork");
	if (hap_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(bin, "haproxy", "-f", cfg_path, "-db", (char *)NULL);
		_exit(127);
	}
	free(cfg_path);

	/* Ready when the Unix socket answers. */
	struct strbuf answer = SB_INIT, err = SB_INIT;
	int up = 0;
	for (int i = 0; i < 500 && !up; i++) {
		up = hap_command(sock, "show info", 200, &answer, &err) == 0;
		if (!up) {
			int status;
			if (waitpid(hap_pid, &status, WNOHANG) == hap_pid) {
				hap_pid = -1;
				break;
			}
			sleep_ms(10);
		}
	}
	if (!up) {
		struct strbuf log = SB_INIT;
		sb_read_file(&log, log_path);
		diag("haproxy did not come up (%s); its log:\n%s", err.buf, log.buf);
		sb_release(&log);
	}
	free(log_path);
	sb_release(&answer);
	sb_release(&err);
	return up;
}

/* The server called name in v, or NULL. */
static const struct hap_server *find(const struct hap_server *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static void test_servers(void)
{
	struct hap_server *v;
	size_t n;
	struct strbuf err = SB_INIT;
	ok(hap_servers(sock, "be", &v, &n, T, &err) == 0, "servers: show stat of be (%s)", err.buf);
	if (is_int((long long)n, 3, "servers: three servers, no summary rows")) {
		is_str(v[0].name, "s1", "servers: s1 first");
		is_str(v[0].backend, "be", "servers: its backend");
		is_int(v[0].weight, 10, "servers: s1 weight from the config");
		is_int(v[1].weight, 1, "servers: s2 default weight 1");
		is_int(v[0].state, HAP_READY, "servers: s1 ready");
		is_str(v[0].status, "no check", "servers: status without health checks");
		is_int(v[2].state, HAP_MAINT, "servers: disabled s3 is maint");
		is_str(v[2].status, "MAINT", "servers: its status");
		is_int(v[0].scur, 0, "servers: no sessions yet");
		ok(v[0].addr && strncmp(v[0].addr, "127.0.0.1:", 10) == 0,
		   "servers: addr from show stat (%s)", v[0].addr ? v[0].addr : "NULL");
	}
	hap_servers_free(v, n);

	ok(hap_servers(sock, NULL, &v, &n, T, &err) == 0 && n == 3,
	   "servers: every backend (frontend rows skipped)");
	hap_servers_free(v, n);

	ok(hap_servers(sock, "nob", &v, &n, T, &err) == -1 && v == NULL && n == 0,
	   "servers: an unknown backend fails");
	is_str(err.buf, "haproxy answered 'No such proxy.' to 'show stat nob 4 -1'",
	       "servers: with haproxy's message");
	sb_release(&err);
}

static void test_weight(void)
{
	struct strbuf err = SB_INIT;
	int cur = -1, init = -1;
	ok(hap_set_weight(sock, "be", "s1", 20, T, &err) == 0, "weight: set be/s1 20 (%s)",
	   err.buf);
	ok(hap_get_weight(sock, "be", "s1", &cur, &init, T, &err) == 0, "weight: get be/s1");
	is_int(cur, 20, "weight: current");
	is_int(init, 10, "weight: initial from the config");

	struct hap_server *v;
	size_t n;
	if (hap_servers(sock, "be", &v, &n, T, &err) == 0 && find(v, n, "s1"))
		is_int(find(v, n, "s1")->weight, 20, "weight: visible in show stat");
	else
		ok(0, "weight: visible in show stat (%s)", err.buf);
	hap_servers_free(v, n);

	ok(hap_set_weight(sock, "be", "s1", 0, T, &err) == 0 &&
		   hap_get_weight(sock, "be", "s1", &cur, NULL, T, &err) == 0 && cur == 0,
	   "weight: 0 is allowed");
	ok(hap_set_weight(sock, "be", "s1", 256, T, &err) == 0 &&
		   hap_get_weight(sock, "be", "s1", &cur, NULL, T, &err) == 0 && cur == 256,
	   "weight: 256 is allowed");
	hap_set_weight(sock, "be", "s1", 10, T, &err);

	ok(hap_set_weight(sock, "be", "s1", 257, T, &err) == -1, "weight: 257 refused");
	is_str(err.buf, "haproxy weight 257 for 'be/s1' is out of range 0..256",
	       "weight: its message");
	ok(hap_set_weight(sock, "be", "x", 10, T, &err) == -1, "weight: unknown server fails");
	is_str(err.buf, "haproxy answered 'No such server.' to 'set weight be/x 10'",
	       "weight: haproxy's message for a server");
	ok(hap_set_weight(sock, "nob", "s1", 10, T, &err) == -1, "weight: unknown backend fails");
	is_str(err.buf, "haproxy answered 'No such backend.' to 'set weight nob/s1 10'",
	       "weight: haproxy's message for a backend");
	ok(hap_get_weight(sock, "nob", "s1", &cur, &init, T, &err) == -1,
	   "weight: get on an unknown backend fails");
	is_str(err.buf, "haproxy answered 'No such backend.' to 'get weight nob/s1'",
	       "weight: get's message");
	sb_release(&err);
}

static enum hap_state state_of(const char *name, char *status, size_t size)
{
	struct hap_server *v;
	size_t n;
	enum hap_state st = (enum hap_state)-1;
	if (hap_servers(sock, "be", &v, &n, T, NULL) == 0 && find(v, n, name)) {
		st = find(v, n, name)->state;
		snprintf(status, size, "%s", find(v, n, name)->status);
	}
	hap_servers_free(v, n);
	return st;
}

static void test_states(void)
{
	struct strbuf err = SB_INIT;
	char status[64] = "";
	static const struct {
		enum hap_state st;
		const char *status;
	} steps[] = {
		{ HAP_DRAIN, "DRAIN" },
		{ HAP_MAINT, "MAINT" },
		{ HAP_READY, "no check" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		ok(hap_set_state(sock, "be", "s2", steps[i].st, T, &err) == 0,
		   "state: set be/s2 %s (%s)", hap_state_name(steps[i].st), err.buf);
		is_int(state_of("s2", status, sizeof(status)), steps[i].st,
		       "state: visible in show stat");
		is_str(status, steps[i].status, "state: status column");
	}
	ok(hap_set_state(sock, "be", "x", HAP_DRAIN, T, &err) == -1,
	   "state: unknown server fails");
	is_str(err.buf, "haproxy answered 'No such server.' to 'set server be/x state drain'",
	       "state: haproxy's message");
	ok(hap_set_state(sock, "be", "s2", (enum hap_state)7, T, &err) == -1,
	   "state: an unknown state is refused");
	sb_release(&err);
}

/* The addr column of server name. */
static void addr_of(const char *name, char *out, size_t size)
{
	struct hap_server *v;
	size_t n;
	snprintf(out, size, "?");
	if (hap_servers(sock, "be", &v, &n, T, NULL) == 0 && find(v, n, name))
		snprintf(out, size, "%s", find(v, n, name)->addr ? find(v, n, name)->addr : "NULL");
	hap_servers_free(v, n);
}

static void test_set_addr(void)
{
	/* Answers of HAProxy 2.6, success and failure, checked by hand. */
	static const struct {
		const char *server, *host;
		int port;
		const char *want_addr; /* in show stat after; NULL: the call fails */
		const char *err;
	} cases[] = {
		{ "s3", "127.0.0.2", 18001, "127.0.0.2:18001", NULL }, /* IP and port changed */
		{ "s3", "127.0.0.2", 18001, "127.0.0.2:18001", NULL }, /* no need to change either */
		{ "s3", "127.0.0.2", 18002, "127.0.0.2:18002", NULL }, /* port only */
		{ "s3", "127.0.0.1", 18002, "127.0.0.1:18002", NULL }, /* IP only */
		{ "s3", "::1", 18003, "[::1]:18003", NULL },
		{ "s3", "[::1]", 18003, "[::1]:18003", NULL },
		{ "s3", "bogus", 18004, NULL,
		  "haproxy answered 'Invalid addr 'bogus' by 'stats socket command'' to "
		  "'set server be/s3 addr bogus port 18004'" },
		{ "s3", "localhost", 18004, NULL,
		  "haproxy answered 'Invalid addr 'localhost' by 'stats socket command'' to "
		  "'set server be/s3 addr localhost port 18004'" },
		{ "x", "127.0.0.1", 18004, NULL,
		  "haproxy answered 'No such server.' to 'set server be/x addr 127.0.0.1 port 18004'" },
		{ "s3", "127.0.0.1", 0, NULL,
		  "port 0 for haproxy server 'be/s3' is out of range 1..65535" },
		{ "s3", "127.0.0.1", 99999, NULL,
		  "port 99999 for haproxy server 'be/s3' is out of range 1..65535" },
		{ "s3", "127.0.0.1 port 1", 5, NULL,
		  "invalid address '127.0.0.1 port 1' for haproxy server 'be/s3'" },
		{ "s3", "", 5, NULL, "invalid address '' for haproxy server 'be/s3'" },
		{ "s3", "1.2.3.4\nshutdown", 5, NULL,
		  "invalid address '1.2.3.4\\nshutdown' for haproxy server 'be/s3'" },
	};
	struct strbuf err = SB_INIT;
	char addr[128], name[64];
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(name, sizeof(name), "set addr %zu: %s port %d", i, cases[i].host,
			 cases[i].port);
		for (char *c = name; (c = strchr(c, '\n')) != NULL;)
			*c = ' '; /* one TAP line */
		int rc = hap_set_addr(sock, "be", cases[i].server, cases[i].host, cases[i].port, T,
				      &err);
		if (cases[i].want_addr) {
			ok(rc == 0, "%s (%s)", name, err.buf);
			addr_of(cases[i].server, addr, sizeof(addr));
			is_str(addr, cases[i].want_addr, name);
		} else {
			is_int(rc, -1, name);
			is_str(err.buf, cases[i].err, name);
		}
	}
	addr_of("s3", addr, sizeof(addr));
	is_str(addr, "[::1]:18003", "set addr: failures left the server as it was");
	ok(hap_set_addr(sock, "nob", "s3", "127.0.0.1", 1, T, &err) == -1,
	   "set addr: unknown backend fails");
	is_str(err.buf,
	       "haproxy answered 'No such backend.' to 'set server nob/s3 addr 127.0.0.1 port 1'",
	       "set addr: its message");
	char status[64];
	is_int(state_of("s3", status, sizeof(status)), HAP_MAINT, "set addr: state unchanged");
	sb_release(&err);
}

static int connect_frontend(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fe_port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die_errno("cannot connect to the haproxy frontend");
	return fd;
}

static long long scur_of(const char *name)
{
	struct hap_server *v;
	size_t n;
	long long scur = -1;
	if (hap_servers(sock, "be", &v, &n, T, NULL) == 0 && find(v, n, name))
		scur = find(v, n, name)->scur;
	hap_servers_free(v, n);
	return scur;
}

static void test_drain(void)
{
	struct strbuf err = SB_INIT;
	/* Only s1 (our listener) may take the connection. */
	hap_set_state(sock, "be", "s2", HAP_MAINT, T, &err);
	int client = connect_frontend();
	struct pollfd p = { .fd = backend_fd, .events = POLLIN, .revents = 0 };
	int conn = -1;
	if (poll(&p, 1, 3000) == 1)
		conn = accept(backend_fd, NULL, NULL);
	ok(conn >= 0, "drain: haproxy passed the connection on to s1");
	long long scur = -1;
	for (int i = 0; i < 300 && scur != 1; i++) {
		scur = scur_of("s1");
		if (scur != 1)
			sleep_ms(10);
	}
	is_int(scur, 1, "drain: scur counts the open connection");

	ok(hap_set_state(sock, "be", "s1", HAP_DRAIN, T, &err) == 0, "drain: s1 drained");
	long long left = -5;
	int64_t t0 = mono_ms();
	ok(hap_wait_drained(sock, "be", "s1", 300, &left, &err) == -1,
	   "drain: times out while the connection stays open");
	int64_t took = mono_ms() - t0;
	ok(took >= 290 && took < 2000, "drain: after about the timeout (%" PRId64 " ms)", took);
	is_int(left, 1, "drain: left is the count");
	is_str(err.buf, "server 'be/s1' still has 1 session after 300 ms", "drain: its message");

	close(client);
	if (conn >= 0)
		close(conn);
	left = -5;
	ok(hap_wait_drained(sock, "be", "s1", 5000, &left, &err) == 0,
	   "drain: returns once the connection is closed (%s)", err.buf);
	is_int(left, 0, "drain: nothing left");

	ok(hap_wait_drained(sock, "be", "nosuch", 1000, &left, &err) == -1 && left == -1,
	   "drain: an unknown server fails with left -1");
	is_str(err.buf, "haproxy has no server 'be/nosuch'", "drain: its message");
	ok(hap_wait_drained(sock, "nob", "s1", 1000, &left, &err) == -1 && left == -1,
	   "drain: an unknown backend fails with left -1");
	is_str(err.buf, "haproxy answered 'No such proxy.' to 'show stat nob 4 -1'",
	       "drain: haproxy's message");

	hap_set_state(sock, "be", "s1", HAP_READY, T, &err);
	hap_set_state(sock, "be", "s2", HAP_READY, T, &err);
	sb_release(&err);
}

static void test_errors(void)
{
	struct strbuf answer = SB_INIT, err = SB_INIT;
	char *missing = xasprintf("%s/nosuch.sock", dir);
	ok(hap_command(missing, "show info", T, &answer, &err) == -1, "errors: missing socket");
	char *want = xasprintf("cannot connect to haproxy runtime socket '%s': "
			       "No such file or directory", missing);
	is_str(err.buf, want, "errors: its message");
	free(want);
	free(missing);

	/* A socket file nobody listens on any more: connection refused. */
	char *refused = xasprintf("%s/refused.sock", dir);
	int ufd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", refused);
	if (ufd >= 0 && bind(ufd, (struct sockaddr *)&un, sizeof(un)) == 0) {
		close(ufd);
		ok(hap_command(refused, "show info", T, &answer, &err) == -1,
		   "errors: refused socket");
		want = xasprintf("cannot connect to haproxy runtime socket '%s': "
				 "Connection refused", refused);
		is_str(err.buf, want, "errors: its message");
		free(want);
	} else {
		ok(0, "errors: cannot make a stale socket file");
	}
	free(refused);

	ok(hap_command(sock, "show info\nshutdown sessions server be/s1", T, &answer, &err) == -1,
	   "errors: LF refused");
	is_str(err.buf,
	       "refusing haproxy command holding a line break: "
	       "'show info\\nshutdown sessions server be/s1'",
	       "errors: its message, escaped");
	ok(hap_command(sock, "show info\r", T, &answer, &err) == -1, "errors: CR refused");
	ok(hap_command(sock, "", T, &answer, &err) == -1, "errors: empty command refused");
	ok(hap_set_weight(sock, "be", "s1\nshutdown", 1, T, &err) == -1,
	   "errors: server name with LF refused");
	is_str(err.buf,
	       "invalid haproxy server name 's1\\nshutdown' (allowed: letters, digits, '-', '_', "
	       "'.', ':')",
	       "errors: its message");
	ok(hap_set_state(sock, "be;shutdown sessions", "s1", HAP_MAINT, T, &err) == -1,
	   "errors: backend name with ';' refused");
	is_str(err.buf,
	       "invalid haproxy backend name 'be;shutdown sessions' (allowed: letters, digits, "
	       "'-', '_', '.', ':')",
	       "errors: its message");

	/* A TCP peer that accepts but never answers. */
	int port, mute = listen_any(&port);
	char *addr = xasprintf("127.0.0.1:%d", port);
	int64_t t0 = mono_ms();
	ok(hap_command(addr, "show info", 200, &answer, &err) == -1, "errors: silent peer");
	int64_t took = mono_ms() - t0;
	ok(took >= 190 && took < 2000, "errors: after the timeout (%" PRId64 " ms)", took);
	want = xasprintf("haproxy runtime socket '%s' did not answer 'show info' within 200 ms",
			 addr);
	is_str(err.buf, want, "errors: its message");
	free(want);
	free(addr);
	close(mute);

	sb_release(&answer);
	sb_release(&err);
}

static void test_tcp(void)
{
	struct strbuf answer = SB_INIT, err = SB_INIT;
	ok(hap_command(tcp_addr, "get weight be/s1", T, &answer, &err) == 0,
	   "tcp: command over HOST:PORT (%s)", err.buf);
	is_str(answer.buf, "10 (initial 10)\n\n", "tcp: the raw answer, as received");
	ok(hap_set_weight(tcp_addr, "be", "s2", 7, T, &err) == 0, "tcp: set weight");
	int cur = -1;
	ok(hap_get_weight(sock, "be", "s2", &cur, NULL, T, &err) == 0 && cur == 7,
	   "tcp: seen on the Unix socket");
	struct hap_server *v;
	size_t n;
	ok(hap_servers(tcp_addr, "be", &v, &n, T, &err) == 0 && n == 3, "tcp: show stat");
	hap_servers_free(v, n);
	sb_release(&answer);
	sb_release(&err);
}

int main(void)
{
	test_parse();
	test_parse_hrsp();
	test_names();

	char *bin = find_haproxy();
	if (!ok(bin != NULL, "haproxy is installed")) {
		diag("haproxy not found in PATH nor /usr/sbin: install the Debian package "
		     "'haproxy' (sh .ci/deps test does)");
		return tap_done();
	}
	if (!mkdtemp(dir))
		die_errno("mkdtemp");
	atexit(cleanup);
	int up = start_haproxy(bin);
	free(bin);
	if (!ok(up, "haproxy starts and answers on its stats socket"))
		return tap_done();

	test_servers();
	test_weight();
	test_states();
	test_set_addr();
	test_drain();
	test_errors();
	test_tcp();
	stop_haproxy();
	close(backend_fd);
	return tap_done();
}
