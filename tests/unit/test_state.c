/*
 * test_state.c: unit tests for state.c, journal.c and lock.c: the state
 * directory, atomic replacement, journals with torn tails (including one
 * left by a process killed mid-record) and locks held by another process.
 */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "journal.h"
#include "lock.h"
#include "state.h"
#include "tap.h"

static char tmpdir[PATH_MAX];

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		die_errno("cannot write '%s'", path);
	close(fd);
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static int file_mode(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* The entries of a directory, sorted, joined with spaces. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *list_dir(const char *path)
{
	DIR *d = opendir(path);
	char *names[64];
	size_t n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) && n < ARRAY_SIZE(names))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = xstrdup(e->d_name);
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	struct strbuf sb = SB_INIT;
	for (size_t i = 0; i < n; i++) {
		sb_addf(&sb, "%s%s", i ? " " : "", names[i]);
		free(names[i]);
	}
	return sb_detach(&sb, NULL);
}

static void ignore_signal(int sig)
{
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* ---- state ------------------------------------------------------------- */

static void test_state_dir(void)
{
	static const char *names[] = { "OFS_STATE_DIR", "XDG_STATE_HOME", "HOME" };
	char *saved[3];
	for (size_t i = 0; i < 3; i++) {
		const char *v = getenv(names[i]);
		saved[i] = v ? xstrdup(v) : NULL;
	}
	static const struct {
		const char *ofs, *xdg, *home; /* NULL: unset */
		const char *want;             /* NULL: an error */
	} cases[] = {
		{ "/srv/ofs", "/xdg", "/home/u", "/srv/ofs" },
		{ "relative/state", NULL, "/home/u", "relative/state" },
		{ "", "/xdg", "/home/u", "/xdg/ofs" },
		{ NULL, "/xdg/", "/home/u", "/xdg//ofs" },
		{ NULL, "not/absolute", "/home/u", "/home/u/.local/state/ofs" },
		{ NULL, "", "/home/u", "/home/u/.local/state/ofs" },
		{ NULL, NULL, "/root", "/root/.local/state/ofs" },
		{ NULL, NULL, NULL, NULL },
		{ "", "", "", NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *vals[] = { cases[i].ofs, cases[i].xdg, cases[i].home };
		for (size_t k = 0; k < 3; k++)
			if (vals[k])
				setenv(names[k], vals[k], 1);
			else
				unsetenv(names[k]);
		struct strbuf err = SB_INIT;
		errno = 0;
		char *dir = state_dir(&err);
		char name[160];
		snprintf(name, sizeof(name),
			 "state_dir with OFS_STATE_DIR=%s XDG_STATE_HOME=%s HOME=%s",
			 vals[0] ? vals[0] : "(unset)", vals[1] ? vals[1] : "(unset)",
			 vals[2] ? vals[2] : "(unset)");
		if (cases[i].want) {
			is_str(dir, cases[i].want, name);
		} else {
			ok(!dir && errno == ENOENT &&
				   strcmp(err.buf, "cannot find the state directory: set "
						   "OFS_STATE_DIR, XDG_STATE_HOME or HOME") == 0,
			   "%s: an error", name);
		}
		free(dir);
		sb_release(&err);
	}
	for (size_t i = 0; i < 3; i++) {
		if (saved[i])
			setenv(names[i], saved[i], 1);
		else
			unsetenv(names[i]);
		free(saved[i]);
	}
}

static void test_mkdirs(void)
{
	struct strbuf err = SB_INIT;
	char *deep = tmp_path("a/b//c/");
	is_int(state_mkdirs(deep, 0700, &err), 0, "mkdirs creates missing parents");
	char *c = tmp_path("a/b/c");
	char *a = tmp_path("a");
	is_int(file_mode(c), 0700, "mkdirs: the last directory is 0700");
	is_int(file_mode(a), 0700, "mkdirs: parents are 0700 too");
	is_int(state_mkdirs(c, 0700, &err), 0, "mkdirs: an existing directory is fine");
	is_str(err.buf, "", "mkdirs: no message on success");

	char *file = tmp_path("a/file");
	write_file(file, "x", 1);
	char *under = tmp_path("a/file/sub");
	errno = 0;
	is_int(state_mkdirs(under, 0700, &err), -1, "mkdirs through a regular file fails");
	is_int(errno, ENOTDIR, "... with ENOTDIR");
	char *want = xasprintf("cannot create directory '%s': Not a directory", file);
	is_str(err.buf, want, "... naming the component that is in the way");
	free(want);
	sb_reset(&err);
	is_int(state_mkdirs("", 0700, &err), -1, "mkdirs of an empty path fails");
	sb_release(&err);
	free(deep);
	free(c);
	free(a);
	free(file);
	free(under);
}

static void test_write_atomic(void)
{
	struct strbuf err = SB_INIT;
	char *dir = tmp_path("atomic");
	state_mkdirs(dir, 0700, NULL);
	char *path = tmp_path("atomic/snap.json");
	is_int(state_write_atomic(path, "{\"v\":1}\n", 8, 0600, &err), 0, "write_atomic creates");
	struct strbuf got = SB_INIT;
	sb_read_file(&got, path);
	is_str(got.buf, "{\"v\":1}\n", "write_atomic: the content");
	is_int(file_mode(path), 0600, "write_atomic: mode 0600");
	struct stat before, after;
	stat(path, &before);

	mode_t old_umask = umask(077);
	is_int(state_write_atomic(path, "{\"v\":2}\n", 8, 0640, &err), 0, "write_atomic replaces");
	umask(old_umask);
	sb_reset(&got);
	sb_read_file(&got, path);
	is_str(got.buf, "{\"v\":2}\n", "write_atomic: the new content");
	is_int(file_mode(path), 0640, "write_atomic: the mode is exact whatever the umask");
	stat(path, &after);
	ok(before.st_ino != after.st_ino, "write_atomic: a new file was renamed into place");
	char *names = list_dir(dir);
	is_str(names, "snap.json", "write_atomic: no temporary file is left");
	free(names);

	is_int(state_write_atomic(path, "", 0, 0600, &err), 0, "write_atomic: empty content");
	is_int((int)file_size(path), 0, "write_atomic: the file is empty");

	/* failures leave the target and the directory as they were */
	char *sub = tmp_path("atomic/sub");
	state_mkdirs(sub, 0700, NULL);
	errno = 0;
	is_int(state_write_atomic(sub, "x", 1, 0600, &err), -1,
	       "write_atomic over a directory fails");
	is_int(errno, EISDIR, "... with EISDIR");
	char *want = xasprintf("cannot write '%s': Is a directory", sub);
	is_str(err.buf, want, "... and says so");
	free(want);
	names = list_dir(dir);
	is_str(names, "snap.json sub", "write_atomic: the failed temporary file is removed");
	free(names);

	sb_reset(&err);
	char *nodir = tmp_path("no/such/file");
	is_int(state_write_atomic(nodir, "x", 1, 0600, &err), -1,
	       "write_atomic in a missing directory");
	want = xasprintf("cannot write '%s': No such file or directory", nodir);
	is_str(err.buf, want, "... fails with ENOENT");
	free(want);

	/* a relative path writes in the current directory */
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) && chdir(dir) == 0) {
		is_int(state_write_atomic("rel.json", "{}", 2, 0600, NULL), 0,
		       "write_atomic with a relative name");
		if (chdir(cwd) < 0)
			die_errno("cannot return to '%s'", cwd);
	}
	char *rel = tmp_path("atomic/rel.json");
	is_int((int)file_size(rel), 2, "... lands in the current directory");
	free(rel);
	free(nodir);
	free(sub);
	sb_release(&got);
	sb_release(&err);
	free(path);
	free(dir);
}

/* ---- journal ------------------------------------------------------------ */

struct collect {
	struct strbuf lines;   /* "lineno:line|" for each line */
	size_t calls;
	size_t stop_at;        /* return 7 at this line number; 0: never */
};

static int collect_line(const char *line, size_t len, size_t lineno, void *ctx)
{
	struct collect *c = ctx;
	c->calls++;
	if (line[len] != '\0')
		sb_addstr(&c->lines, "<not NUL-terminated>");
	sb_addf(&c->lines, "%zu:%.*s|", lineno, (int)len, line);
	return c->stop_at && lineno == c->stop_at ? 7 : 0;
}

static void test_journal_read_cases(void)
{
	static const struct {
		const char *name;
		const char *data;
		size_t len;
		int ret;            /* of journal_read */
		const char *lines;  /* as collected */
		int torn;
		int torn_bytes;
		const char *error;  /* after "journal 'PATH' ", or NULL */
	} cases[] = {
#define C(s) s, sizeof(s) - 1
		{ "two lines", C("{\"a\":1}\n{\"a\":2}\n"),
		  0, "1:{\"a\":1}|2:{\"a\":2}|", 0, 0, NULL },
		{ "empty file", C(""), 0, "", 0, 0, NULL },
		{ "cut in the middle", C("{\"a\":1}\n{\"a\":2"),
		  0, "1:{\"a\":1}|", 1, 6, NULL },
		{ "whole last line without newline", C("{\"a\":1}\n{\"a\":2}"),
		  0, "1:{\"a\":1}|", 1, 7, NULL },
		{ "garbage last line", C("{\"a\":1}\ngarbage\n"),
		  0, "1:{\"a\":1}|", 1, 8, NULL },
		{ "last line not an object", C("{\"a\":1}\n[1,2]\n"),
		  0, "1:{\"a\":1}|", 1, 6, NULL },
		{ "zeros after a crash", C("{\"a\":1}\n\0\0\0\0"),
		  0, "1:{\"a\":1}|", 1, 4, NULL },
		{ "only a torn line", C("{\"a\""), 0, "", 1, 4, NULL },
		{ "garbage in the middle", C("{\"a\":1}\ngarbage\n{\"a\":3}\n"),
		  -1, "1:{\"a\":1}|", 0, 0, "is corrupt at line 2: invalid JSON" },
		{ "bad line then a torn one", C("{\"a\":1}\ngarbage\n{\"a\""),
		  -1, "1:{\"a\":1}|", 0, 0, "is corrupt at line 2: invalid JSON" },
		{ "empty line in the middle", C("{\"a\":1}\n\n{\"a\":2}\n"),
		  -1, "1:{\"a\":1}|", 0, 0, "is corrupt at line 2: invalid JSON" },
		{ "array first", C("[1]\n{\"a\":1}\n"),
		  -1, "", 0, 0, "is corrupt at line 1: not a JSON object" },
		{ "trailing garbage", C("{\"a\":1} x\n{\"b\":2}\n"),
		  -1, "", 0, 0, "is corrupt at line 1: invalid JSON" },
		{ "NUL byte", C("{\"a\":1}\0\n{\"b\":2}\n"),
		  -1, "", 0, 0, "is corrupt at line 1: contains a NUL byte" },
		{ "whitespace and unicode", C(" {\"k\": \"\xc3\xa9\"} \n"),
		  0, "1: {\"k\": \"\xc3\xa9\"} |", 0, 0, NULL },
#undef C
	};
	char *path = tmp_path("cases.jsonl");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		write_file(path, cases[i].data, cases[i].len);
		struct collect c = { SB_INIT, 0, 0 };
		struct journal_stats st;
		struct strbuf err = SB_INIT;
		char name[160];
		snprintf(name, sizeof(name), "journal_read, %s", cases[i].name);
		int ret = journal_read(path, collect_line, &c, &st, &err);
		int e = errno;
		is_int(ret, cases[i].ret, name);
		snprintf(name, sizeof(name), "journal_read, %s: the lines", cases[i].name);
		is_str(c.lines.buf, cases[i].lines, name);
		if (cases[i].error) {
			char *want = xasprintf("journal '%s' %s", path, cases[i].error);
			snprintf(name, sizeof(name), "journal_read, %s: the message",
				 cases[i].name);
			is_str(err.buf, want, name);
			ok(e == EILSEQ, "journal_read, %s: errno EILSEQ", cases[i].name);
			free(want);
			sb_reset(&err);
			is_int(journal_repair(path, NULL, &err), -1,
			       "journal_repair refuses a corrupt journal");
			is_int((int)file_size(path), (int)cases[i].len,
			       "... and leaves it untouched");
		} else {
			ok(st.torn == cases[i].torn &&
				   st.torn_bytes == (uint64_t)cases[i].torn_bytes &&
				   st.lines == c.calls &&
				   st.valid_bytes + st.torn_bytes == (uint64_t)cases[i].len,
			   "journal_read, %s: stats (torn %d, torn_bytes %" PRIu64 ")",
			   cases[i].name, st.torn, st.torn_bytes);
			is_int(journal_repair(path, NULL, &err), cases[i].torn,
			       "journal_repair cuts only a torn tail");
			is_int((int)file_size(path),
			       (int)(cases[i].len - (size_t)cases[i].torn_bytes),
			       "... to the intact prefix");
			ok(journal_read(path, NULL, NULL, &st, &err) == 0 && !st.torn &&
				   st.lines == c.calls,
			   "... which then reads clean");
		}
		sb_release(&err);
		sb_release(&c.lines);
	}
	free(path);
}

static void test_journal_big(void)
{
	char *path = tmp_path("big.jsonl");
	struct strbuf data = SB_INIT;
	/* lines crossing every read boundary, and one line longer than a read */
	for (int i = 0; i < 5000; i++)
		sb_addf(&data, "{\"n\":%d,\"pad\":\"%0*d\"}\n", i, i % 37, 0);
	sb_addstr(&data, "{\"big\":\"");
	for (int i = 0; i < 200000; i++)
		sb_addch(&data, (char)('a' + i % 26));
	sb_addstr(&data, "\"}\n{\"n\":\"last\"}\n");
	write_file(path, data.buf, data.len);

	struct collect c = { SB_INIT, 0, 0 };
	struct journal_stats st;
	struct strbuf err = SB_INIT;
	is_int(journal_read(path, collect_line, &c, &st, &err), 0, "big journal: read");
	is_int((long long)st.lines, 5002, "big journal: every line");
	is_int((long long)st.valid_bytes, (long long)data.len, "big journal: every byte");
	struct strbuf want = SB_INIT;
	for (int i = 0; i < 5000; i++)
		sb_addf(&want, "%d:{\"n\":%d,\"pad\":\"%0*d\"}|", i + 1, i, i % 37, 0);
	ok(c.lines.len > want.len && memcmp(c.lines.buf, want.buf, want.len) == 0,
	   "big journal: lines intact across read boundaries");
	const char *tail = "|5002:{\"n\":\"last\"}|";
	ok(c.lines.len > strlen(tail) &&
		   strcmp(c.lines.buf + c.lines.len - strlen(tail), tail) == 0,
	   "big journal: the line after the long one");

	/* a bad line ending exactly at a read boundary, then more: corrupt */
	sb_reset(&data);
	size_t pad = 65536 - 8 - strlen("{\"p\":\"\"}\n");
	sb_addstr(&data, "{\"p\":\"");
	for (size_t i = 0; i < pad; i++)
		sb_addch(&data, 'x');
	sb_addstr(&data, "\"}\ngarbage\n");
	is_int((long long)data.len, 65536, "boundary case: the bad line ends at byte 65536");
	write_file(path, data.buf, data.len);
	is_int(journal_read(path, NULL, NULL, &st, &err), 0,
	       "boundary case: bad last line is torn");
	ok(st.torn && st.torn_bytes == 8 && st.lines == 1, "boundary case: stats");
	sb_addstr(&data, "{\"a\":1}\n");
	write_file(path, data.buf, data.len);
	is_int(journal_read(path, NULL, NULL, &st, &err), -1,
	       "boundary case: a line after it in the next read makes it corrupt");
	char *msg = xasprintf("journal '%s' is corrupt at line 2: invalid JSON", path);
	is_str(err.buf, msg, "boundary case: message");
	free(msg);

	/* the callback can stop the read */
	write_file(path, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", 24);
	sb_reset(&c.lines);
	c.stop_at = 2;
	is_int(journal_read(path, collect_line, &c, &st, &err), 7,
	       "a callback's non-zero value stops the read and is returned");
	is_str(c.lines.buf, "1:{\"a\":1}|2:{\"a\":2}|", "... after the line it was given");

	sb_reset(&err);
	char *missing = tmp_path("missing.jsonl");
	errno = 0;
	is_int(journal_read(missing, NULL, NULL, &st, &err), -1, "missing journal: read fails");
	is_int(errno, ENOENT, "missing journal: ENOENT");
	msg = xasprintf("cannot open journal '%s': No such file or directory", missing);
	is_str(err.buf, msg, "missing journal: message");
	free(msg);
	sb_reset(&err);
	is_int(journal_repair(missing, NULL, &err), 0, "missing journal: nothing to repair");
	is_str(err.buf, "", "missing journal: repair leaves no message");
	free(missing);
	sb_release(&want);
	sb_release(&c.lines);
	sb_release(&err);
	sb_release(&data);
	free(path);
}

/* journal_write then journal_sync: lines written together, synced once. */
static void test_journal_group(void)
{
	struct strbuf err = SB_INIT;
	char *a = tmp_path("group-a.jsonl"), *b = tmp_path("group-b.jsonl");
	struct journal *ja = journal_open(a, &err), *jb = journal_open(b, &err);
	is_int(journal_sync(ja, &err), 0, "journal_sync with nothing written");
	is_int(journal_write(ja, "{\"n\":1}", 7, &err), 0, "journal_write a/1");
	is_int(journal_write(jb, "{\"n\":1}", 7, &err), 0, "journal_write b/1");
	is_int(journal_write(ja, "{\"n\":2}", 7, &err), 0, "journal_write a/2");
	sb_reset(&err);
	ok(journal_write(ja, "[1]", 3, &err) == -1 && errno == EINVAL,
	   "journal_write checks the line like journal_append");
	is_int(journal_sync(ja, &err), 0, "journal_sync a");
	is_int(journal_sync(jb, &err), 0, "journal_sync b");
	struct strbuf got = SB_INIT;
	sb_read_file(&got, a);
	is_str(got.buf, "{\"n\":1}\n{\"n\":2}\n", "a holds both lines, in order");
	sb_reset(&got);
	sb_read_file(&got, b);
	is_str(got.buf, "{\"n\":1}\n", "b holds its line");
	journal_close(ja, NULL);
	journal_close(jb, NULL);
	sb_release(&got);
	sb_release(&err);
	free(a);
	free(b);
}

static void test_journal_append(void)
{
	struct strbuf err = SB_INIT;
	char *path = tmp_path("saga.jsonl");
	struct journal *j = journal_open(path, &err);
	ok(j != NULL, "journal_open creates the journal");
	is_int(file_mode(path), 0600, "journal_open: mode 0600");
	static const char *recs[] = { "{\"step\":1,\"state\":\"started\"}",
				      "{\"step\":1,\"state\":\"succeeded\"}" };
	for (size_t i = 0; i < 2; i++)
		is_int(journal_append(j, recs[i], strlen(recs[i]), &err), 0, "journal_append");

	static const struct {
		const char *name, *line, *why;
	} bad[] = {
		{ "text", "not json", "the record is invalid JSON" },
		{ "an array", "[1,2]", "the record is not a JSON object" },
		{ "two lines", "{\"a\":1}\n{\"b\":2}", "the record holds a newline" },
		{ "an empty line", "", "the record is invalid JSON" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		sb_reset(&err);
		errno = 0;
		int r = journal_append(j, bad[i].line, strlen(bad[i].line), &err);
		char *want = xasprintf("cannot append to journal '%s': %s", path, bad[i].why);
		ok(r == -1 && errno == EINVAL, "journal_append refuses %s", bad[i].name);
		is_str(err.buf, want, "... saying why");
		free(want);
	}
	/* the record need not be NUL-terminated: only len bytes are used */
	is_int(journal_append(j, "{\"n\":3}garbage", 7, &err), 0, "journal_append uses len bytes");
	is_int(journal_close(j, &err), 0, "journal_close");

	const char *want = "{\"step\":1,\"state\":\"started\"}\n"
			   "{\"step\":1,\"state\":\"succeeded\"}\n"
			   "{\"n\":3}\n";
	struct strbuf got = SB_INIT;
	sb_read_file(&got, path);
	is_str(got.buf, want, "the journal holds exactly the good records, one per line");

	/* reopening appends after what is there */
	j = journal_open(path, &err);
	is_int(journal_append(j, "{\"n\":4}", 7, &err), 0, "append after reopening");
	journal_close(j, NULL);
	struct journal_stats st;
	journal_read(path, NULL, NULL, &st, &err);
	is_int((long long)st.lines, 4, "four records");

	/* a write that fails halfway is cut back (file size limit as the fault) */
	j = journal_open(path, &err);
	long long size = file_size(path);
	struct rlimit old, lim;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 10;
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &lim);
	const char *longrec = "{\"step\":2,\"state\":\"started\",\"input\":\"0123456789\"}";
	sb_reset(&err);
	errno = 0;
	int r = journal_append(j, longrec, strlen(longrec), &err);
	int e = errno;
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	ok(r == -1 && e == EFBIG && strstr(err.buf, "': File too large"),
	   "a write failing halfway is reported (EFBIG)");
	is_int(file_size(path), size, "... and the partial record is cut back");
	is_int(journal_append(j, "{\"n\":5}", 7, &err), 0, "appending goes on after the failure");
	journal_close(j, NULL);
	is_int(journal_read(path, NULL, NULL, &st, &err), 0, "the journal reads clean");
	ok(st.lines == 5 && !st.torn, "... with five records");
	sb_release(&got);
	sb_release(&err);
	free(path);
}

/* A writer killed with SIGKILL halfway through a record. */
static void test_journal_crash(void)
{
	char *path = tmp_path("crash.jsonl");
	int ready[2];
	if (pipe(ready) < 0)
		die_errno("pipe");
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		struct journal *j = journal_open(path, NULL);
		for (int i = 1; i <= 3 && j; i++) {
			char rec[64];
			int n = snprintf(rec, sizeof(rec), "{\"seq\":%d,\"state\":\"done\"}", i);
			if (journal_append(j, rec, (size_t)n, NULL) < 0)
				_exit(1);
		}
		/* the first half of record 4, as a crash inside write(2) leaves it */
		int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		const char *half = "{\"seq\":4,\"sta";
		if (fd < 0 || write(fd, half, strlen(half)) < 0 || write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	char c;
	ok(pid > 0 && read(ready[0], &c, 1) == 1, "crash: the writer is halfway through record 4");
	close(ready[0]);
	kill(pid, SIGKILL);
	int status = 0;
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "crash: the writer was SIGKILLed");

	struct collect col = { SB_INIT, 0, 0 };
	struct journal_stats st;
	struct strbuf err = SB_INIT;
	is_int(journal_read(path, collect_line, &col, &st, &err), 0,
	       "crash: the journal still reads");
	is_str(col.lines.buf,
	       "1:{\"seq\":1,\"state\":\"done\"}|2:{\"seq\":2,\"state\":\"done\"}|"
	       "3:{\"seq\":3,\"state\":\"done\"}|",
	       "crash: the three complete records");
	ok(st.torn == 1 && st.torn_bytes == 13, "crash: the torn tail is reported and skipped");

	struct journal *j = journal_open(path, &err);
	ok(!j && errno == EILSEQ, "crash: journal_open refuses to append to the torn tail");
	char *want = xasprintf("cannot append to journal '%s': its last line is incomplete "
			       "(it needs repair)", path);
	is_str(err.buf, want, "crash: ... and says so");
	free(want);

	sb_reset(&err);
	is_int(journal_repair(path, &st, &err), 1, "crash: journal_repair cuts the tail");
	is_int(file_size(path), (long long)st.valid_bytes, "crash: to the intact prefix");
	j = journal_open(path, &err);
	ok(j && journal_append(j, "{\"seq\":4,\"state\":\"done\"}", 24, &err) == 0,
	   "crash: appending resumes");
	journal_close(j, NULL);
	sb_reset(&col.lines);
	journal_read(path, collect_line, &col, &st, &err);
	ok(st.lines == 4 && !st.torn &&
		   strstr(col.lines.buf, "|4:{\"seq\":4,\"state\":\"done\"}|") != NULL,
	   "crash: four clean records after the repair");
	is_int(journal_repair(path, NULL, &err), 0, "crash: a second repair has nothing to do");
	sb_release(&col.lines);
	sb_release(&err);
	free(path);
}

/* ---- lock --------------------------------------------------------------- */

static void test_lock(void)
{
	struct strbuf err = SB_INIT;
	char *path = tmp_path("svc.lock");
	int fd = lock_acquire(path, 0, &err);
	ok(fd >= 0, "lock_acquire takes a free lock");
	is_int(file_mode(path), 0600, "the lock file is 0600");
	struct strbuf got = SB_INIT;
	sb_read_file(&got, path);
	char *mine = xasprintf("%ld\n", (long)getpid());
	is_str(got.buf, mine, "the holder's pid is in the lock file");
	errno = 0;
	is_int(lock_acquire(path, 0, &err), -1, "a second open file description cannot take it");
	char *want = xasprintf("'%s' is locked by another ofs run (pid %ld)", path, (long)getpid());
	is_str(err.buf, want, "... and names the holder");
	free(want);
	lock_release(fd);
	is_int((int)file_size(path), 0, "lock_release clears the pid");
	fd = lock_acquire(path, 0, &err);
	ok(fd >= 0, "after release the lock can be taken again");
	lock_release(fd);

	/* a lock held by another process */
	int locked[2], go[2];
	if (pipe(locked) < 0 || pipe(go) < 0)
		die_errno("pipe");
	pid_t pid = fork();
	if (pid == 0) {
		close(locked[0]);
		close(go[1]);
		int cfd = lock_acquire(path, -1, NULL);
		char c;
		if (cfd < 0 || write(locked[1], "l", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
		_exit(0); /* the kernel releases the lock */
	}
	close(locked[1]);
	close(go[0]);
	char c;
	ok(pid > 0 && read(locked[0], &c, 1) == 1, "a forked child holds the lock");
	sb_reset(&err);
	errno = 0;
	is_int(lock_acquire(path, 0, &err), -1, "wait 0: busy");
	is_int(errno, EWOULDBLOCK, "wait 0: EWOULDBLOCK");
	want = xasprintf("'%s' is locked by another ofs run (pid %ld)", path, (long)pid);
	is_str(err.buf, want, "wait 0: the message names the child's pid");
	free(want);

	sb_reset(&err);
	int64_t t0 = wall_ms();
	int r = lock_acquire(path, 150, &err);
	int64_t took = wall_ms() - t0;
	ok(r == -1 && took >= 150 && took < 2000, "wait 150 ms: gives up after %lld ms",
	   (long long)took);

	/* a signal handler running during the wait ends it (SIGTERM in ofs) */
	struct sigaction on_alarm, old_alarm;
	memset(&on_alarm, 0, sizeof(on_alarm));
	on_alarm.sa_handler = ignore_signal; /* no SA_RESTART, like sig.c */
	sigaction(SIGALRM, &on_alarm, &old_alarm);
	static const int waits[] = { -1, 5000 };
	for (size_t i = 0; i < ARRAY_SIZE(waits); i++) {
		struct itimerval it = { { 0, 0 }, { 0, 50 * 1000 } };
		setitimer(ITIMER_REAL, &it, NULL);
		sb_reset(&err);
		t0 = wall_ms();
		r = lock_acquire(path, waits[i], &err);
		int e = errno;
		took = wall_ms() - t0;
		want = xasprintf("interrupted while waiting for '%s'", path);
		ok(r == -1 && e == EINTR && strcmp(err.buf, want) == 0 && took < 2000,
		   "wait %d: a signal ends the wait with EINTR", waits[i]);
		free(want);
	}
	sigaction(SIGALRM, &old_alarm, NULL);

	/* the child exits about 100 ms after the go */
	if (write(go[1], "g", 1) != 1)
		die_errno("write");
	t0 = wall_ms();
	fd = lock_acquire(path, 5000, &err);
	took = wall_ms() - t0;
	ok(fd >= 0 && took >= 50 && took < 5000, "wait 5 s: taken when the child exits (%lld ms)",
	   (long long)took);
	int status;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child held the lock and exited");
	sb_reset(&got);
	sb_read_file(&got, path);
	is_str(got.buf, mine, "the new holder's pid replaced the old");
	lock_release(fd);
	close(locked[0]);
	close(go[1]);

	sb_reset(&err);
	char *nodir = tmp_path("no/such/dir.lock");
	errno = 0;
	is_int(lock_acquire(nodir, 0, &err), -1, "a lock file in a missing directory");
	want = xasprintf("cannot open lock file '%s': No such file or directory", nodir);
	is_str(err.buf, want, "... is reported");
	free(want);
	lock_release(-1);
	free(nodir);
	free(mine);
	sb_release(&got);
	sb_release(&err);
	free(path);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/ofs-test-state.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_state_dir();
	test_mkdirs();
	test_write_atomic();
	test_journal_read_cases();
	test_journal_big();
	test_journal_append();
	test_journal_group();
	test_journal_crash();
	test_lock();

	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	struct stat st;
	ok(stat(tmpdir, &st) < 0 && errno == ENOENT, "the temporary directory is removed");
	return tap_done();
}
