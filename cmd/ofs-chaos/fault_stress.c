/*
 * fault_stress.c: the stress fault: load on this machine's CPUs, memory
 * and disk, the way a noisy neighbour or a runaway job loads it.
 *
 * The load runs in ONE detached process tree: a worker that leaves
 * ofs-chaos's session (setsid, so it leads a process group of its own),
 * keeps no descriptor of ofs-chaos (the ledger's lock and journal
 * included; stdin, stdout and stderr are /dev/null) and works from "/".
 * Its children spin on the CPUs and hold a touched allocation; the
 * worker itself writes the disk file (.ofs-chaos-stress-UID in the
 * directory asked for, fsync'd) and then waits. After its duration it
 * ends itself (an interval timer), and on SIGTERM it kills its children
 * and removes its file; the children die with it (PR_SET_PDEATHSIG).
 *
 * The order keeps the ledger honest: the worker is forked first but held
 * on a pipe, so its pid, group and start time are known; the inject
 * record is written; only then is it let go, and it reports on a second
 * pipe whether it could start (the disk file created). It survives a
 * kill -9 of ofs-chaos, and the undo needs only the record: SIGKILL to
 * the group when its leader is still the same process (or to the
 * members left when it is not), then the file removed.
 */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "fault.h"
#include "pid.h"
#include "timefmt.h"

static const char *const keys[] = { "cpu", "memory", "disk", "duration", NULL };
static const char *const disk_keys[] = { "path", "size", NULL };

#define STRESS_MAX_CPU 1024
/* How long the worker may take to say whether it started. */
#define STRESS_START_MS 10000
/* How long the undo waits for a killed group to be gone. */
#define STRESS_GONE_MS 2000
#define STRESS_CHUNK (1024 * 1024)

static void stress_validate(struct fv *v, const cJSON *prov, const char *ptr)
{
	int64_t cpu;
	uint64_t mem, size;
	const char *path;
	fv_int(v, prov, ptr, "cpu", false, 0, STRESS_MAX_CPU, &cpu);
	fv_size(v, prov, ptr, "memory", false, &mem);
	const cJSON *disk = cJSON_GetObjectItemCaseSensitive(prov, "disk");
	if (disk && !fv_deferred(v, prov, "disk")) {
		cJSON *d;
		if (cfg_get_object(v->cfg, prov, ptr, "disk", false, &d) == 1) {
			const char *dp = cfg_ptr_key(v->cfg, ptr, "disk");
			cfg_check_keys(v->cfg, d, dp, disk_keys);
			fv_string(v, d, dp, "path", true, &path);
			fv_size(v, d, dp, "size", true, &size);
		}
	}
	if (!cJSON_GetObjectItemCaseSensitive(prov, "cpu") &&
	    !cJSON_GetObjectItemCaseSensitive(prov, "memory") && !disk)
		cfg_error(v->cfg, ptr, "a stress fault needs at least one of 'cpu', 'memory', 'disk'");
}

static int stress_target(const cJSON *prov, const struct topology *topo, struct strbuf *target)
{
	(void)topo;
	static const char *const what[] = { "cpu", "memory", "disk" };
	sb_addstr(target, "stress:");
	size_t start = target->len;
	for (size_t i = 0; i < ARRAY_SIZE(what); i++) {
		if (!cJSON_GetObjectItemCaseSensitive(prov, what[i]))
			continue;
		if (target->len > start)
			sb_addch(target, '+');
		sb_addstr(target, what[i]);
	}
	return target->len > start ? 0 : -1;
}

/* ---- the worker (runs in the forked process) --------------------------- */

struct stress_plan {
	int cpu;
	uint64_t memory;
	uint64_t disk_bytes;
	char *file;             /* the disk file, or NULL */
	int64_t duration_ns;
};

static volatile sig_atomic_t stop_now;

static void on_stop(int sig)
{
	(void)sig;
	stop_now = 1;
}

static void defaults(void)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void close_range_safe(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return;
	if (close_range(lo, hi, 0) == 0)
		return;
	for (unsigned fd = lo; fd <= hi && fd < 65536; fd++)
		close((int)fd);
}

/* Close every descriptor from 3 on but keep a and b. */
static void close_others(int a, int b)
{
	unsigned lo = (unsigned)(a < b ? a : b), hi = (unsigned)(a < b ? b : a);
	if (lo > 3)
		close_range_safe(3, lo - 1);
	if (hi > lo + 1)
		close_range_safe(lo + 1, hi - 1);
	close_range_safe(hi + 1, ~0U);
}

/* A child of the worker: dies with it; does not take its stop signals. */
static pid_t spawn_child(pid_t leader, const char *name)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_NAME, name);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != leader)
		_exit(0);
	defaults();
	close_range_safe(3, ~0U); /* the start pipe and the disk file are the worker's */
	return 0;
}

static void __attribute__((noreturn)) spin(void)
{
	volatile uint64_t x = 1;
	for (;;)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
}

static void __attribute__((noreturn)) hold_memory(uint64_t bytes)
{
	if (bytes > SIZE_MAX)
		_exit(1);
	unsigned char *p = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		_exit(1);
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		page = 4096;
	for (uint64_t i = 0; i < bytes; i += (uint64_t)page)
		p[i] = (unsigned char)(i >> 12 | 1);
	for (;;)
		pause();
}

static void report(int fd, const char *msg)
{
	size_t len = strlen(msg);
	while (len) {
		ssize_t n = write(fd, msg, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		msg += n;
		len -= (size_t)n;
	}
}

/* Write the disk file until its size, a full disk, or a stop. */
static void fill(int fd, uint64_t bytes)
{
	unsigned char *buf = malloc(STRESS_CHUNK);
	if (!buf)
		return;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < STRESS_CHUNK; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	uint64_t done = 0;
	while (done < bytes && !stop_now) {
		size_t n = bytes - done < STRESS_CHUNK ? (size_t)(bytes - done) : STRESS_CHUNK;
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* ENOSPC: the disk is as full as it gets */
		done += (uint64_t)w;
	}
	fsync(fd);
	free(buf);
}

static void __attribute__((noreturn)) worker(int go, int st, const struct stress_plan *p)
{
	setsid();
	prctl(PR_SET_NAME, "ofs-stress");
	defaults();
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	close_others(go, st);
	if (chdir("/") < 0)
		_exit(1);
	char c;
	ssize_t r;
	while ((r = read(go, &c, 1)) < 0 && errno == EINTR)
		;
	if (r != 1)
		_exit(0); /* the injection was abandoned */
	close(go);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (p->duration_ns > 0) {
		struct itimerval it;
		memset(&it, 0, sizeof(it));
		it.it_value.tv_sec = (time_t)(p->duration_ns / 1000000000);
		it.it_value.tv_usec = (suseconds_t)(p->duration_ns % 1000000000 / 1000);
		if (!it.it_value.tv_sec && !it.it_value.tv_usec)
			it.it_value.tv_usec = 1;
		setitimer(ITIMER_REAL, &it, NULL);
	}

	int dfd = -1;
	if (p->file) {
		dfd = open(p->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (dfd < 0) {
			char msg[512];
			snprintf(msg, sizeof(msg), "cannot create '%s': %s", p->file, strerror(errno));
			report(st, msg);
			_exit(1);
		}
	}
	pid_t self = getpid();
	pid_t kids[STRESS_MAX_CPU + 1];
	int nkids = 0;
	for (int i = 0; i < p->cpu; i++) {
		pid_t k = spawn_child(self, "ofs-stress-cpu");
		if (k == 0)
			spin();
		if (k > 0)
			kids[nkids++] = k;
	}
	if (p->memory) {
		pid_t k = spawn_child(self, "ofs-stress-mem");
		if (k == 0)
			hold_memory(p->memory);
		if (k > 0)
			kids[nkids++] = k;
	}
	report(st, "ok");
	close(st);

	if (dfd >= 0) {
		fill(dfd, p->disk_bytes);
		close(dfd);
	}
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!stop_now)
		sigsuspend(&old);
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	if (p->file)
		unlink(p->file);
	_exit(0);
}

/* ---- injecting --------------------------------------------------------- */

/* Read the worker's start report: "ok" or a reason. 0, or -1 with err. */
static int await_start(int fd, struct strbuf *err)
{
	struct strbuf got = SB_INIT;
	int64_t end = mono_ms() + STRESS_START_MS;
	int rc = -1;
	for (;;) {
		int64_t left = end - mono_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0) {
			sb_addf(err, "the stress worker did not start within %d ms", STRESS_START_MS);
			break;
		}
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sb_addf(err, "cannot wait for the stress worker: %s", strerror(errno));
			break;
		}
		if (!n)
			continue;
		char buf[512];
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0) {
			sb_add(&got, buf, (size_t)r);
			continue;
		}
		if (!strcmp(got.buf, "ok"))
			rc = 0;
		else if (got.len)
			sb_add(err, got.buf, got.len);
		else
			sb_addstr(err, "the stress worker ended before it started");
		break;
	}
	sb_release(&got);
	return rc;
}

static int stress_inject(struct fault_op *op, struct strbuf *err)
{
	struct stress_plan plan;
	memset(&plan, 0, sizeof(plan));
	const cJSON *prov = op->prov;
	const cJSON *disk = cJSON_GetObjectItemCaseSensitive(prov, "disk");
	char *dir = NULL;
	if (cJSON_GetObjectItemCaseSensitive(prov, "cpu")) {
		plan.cpu = (int)fget_int(prov, "cpu", 1);
		if (!plan.cpu) {
			long n = sysconf(_SC_NPROCESSORS_ONLN);
			plan.cpu = n < 1 ? 1 : n > STRESS_MAX_CPU ? STRESS_MAX_CPU : (int)n;
		}
	}
	plan.memory = fget_size(prov, "memory", 0);
	plan.duration_ns = op->duration_ns;
	stress_target(prov, NULL, &op->target);
	if (plan.cpu)
		cJSON_AddNumberToObject(op->out, "cpu", plan.cpu);
	if (plan.memory)
		cJSON_AddNumberToObject(op->out, "memory_bytes", (double)plan.memory);
	if (disk) {
		const char *path = fget_str(disk, "path");
		struct stat st;
		dir = realpath(path, NULL);
		if (!dir || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			sb_addf(err, "cannot fill '%s': %s", path, dir ? "not a directory" : strerror(errno));
			free(dir);
			return -1;
		}
		plan.disk_bytes = fget_size(disk, "size", 0);
		cJSON *d = cJSON_AddObjectToObject(op->out, "disk");
		cJSON_AddStringToObject(d, "path", dir);
		if (!op->fc->dry_run) {
			plan.file = xasprintf("%s/.ofs-chaos-stress-%s", dir, op->uid);
			cJSON_AddStringToObject(d, "file", plan.file);
		}
		cJSON_AddNumberToObject(d, "bytes", (double)plan.disk_bytes);
	}
	free(dir);
	if (op->fc->dry_run)
		return fault_commit(op, err);

	int go[2], st[2];
	if (pipe2(go, O_CLOEXEC) < 0) {
		sb_addf(err, "cannot create a pipe: %s", strerror(errno));
		free(plan.file);
		return -1;
	}
	if (pipe2(st, O_CLOEXEC) < 0) {
		sb_addf(err, "cannot create a pipe: %s", strerror(errno));
		close(go[0]);
		close(go[1]);
		free(plan.file);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		sb_addf(err, "cannot start the stress worker: %s", strerror(errno));
		close(go[0]);
		close(go[1]);
		close(st[0]);
		close(st[1]);
		free(plan.file);
		return -1;
	}
	if (pid == 0) {
		close(go[1]);
		close(st[0]);
		worker(go[0], st[1], &plan);
	}
	close(go[0]);
	close(st[1]);
	struct pidstat ps;
	uint64_t start = pid_stat(pid, &ps) == 0 ? ps.start : 0;
	cJSON_AddNumberToObject(op->undo, "pid", (double)pid);
	cJSON_AddNumberToObject(op->undo, "pgid", (double)pid);
	cJSON_AddNumberToObject(op->undo, "pid_start", (double)start);
	if (plan.file)
		cJSON_AddStringToObject(op->undo, "file", plan.file);
	cJSON_AddNumberToObject(op->out, "pid", (double)pid);
	cJSON_AddNumberToObject(op->out, "pgid", (double)pid);

	int rc = fault_commit(op, err);
	if (rc == 0) {
		ssize_t w;
		while ((w = write(go[1], "g", 1)) < 0 && errno == EINTR)
			;
		close(go[1]);
		go[1] = -1;
		if (w != 1) {
			sb_addf(err, "cannot start the stress worker: %s", strerror(errno));
			rc = -1;
		} else {
			rc = await_start(st[0], err);
		}
	}
	if (go[1] >= 0)
		close(go[1]); /* unreleased: the worker exits */
	close(st[0]);
	if (rc < 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (plan.file && op->recorded)
			unlink(plan.file);
	}
	free(plan.file);
	return rc;
}

/* ---- undo -------------------------------------------------------------- */

static int stress_undo(struct fault_ctx *fc, const cJSON *rec, const cJSON *undo,
		       struct strbuf *note, struct strbuf *err)
{
	(void)fc;
	(void)rec;
	pid_t pid = (pid_t)fget_int(undo, "pid", 0);
	pid_t pgid = (pid_t)fget_int(undo, "pgid", 0);
	uint64_t start = (uint64_t)fget_int(undo, "pid_start", 0);
	const char *file = fget_str(undo, "file");
	if (pid <= 1 || pgid <= 1 || !start) {
		sb_addstr(err, "the stress worker in the ledger has no pid, group and start time");
		return -1;
	}
	bool any = false;
	if (pid_alive(pid, start)) {
		any = true;
		if (kill(-pgid, SIGKILL) < 0 && errno != ESRCH) {
			sb_addf(err, "cannot kill process group %ld: %s", (long)pgid, strerror(errno));
			return -1;
		}
	}
	int64_t end = mono_ms() + STRESS_GONE_MS;
	for (;;) {
		pid_reap(pid);
		pid_t *left;
		size_t n = pid_group(pgid, start, &left);
		for (size_t i = 0; i < n; i++)
			kill(left[i], SIGKILL);
		free(left);
		if (!n && !pid_alive(pid, start))
			break;
		any = true;
		if (mono_ms() >= end) {
			sb_addf(err, "process group %ld is still alive after SIGKILL", (long)pgid);
			return -1;
		}
		fault_sleep_ms(10);
	}
	if (file) {
		if (unlink(file) == 0)
			any = true;
		else if (errno != ENOENT) {
			sb_addf(err, "cannot remove '%s': %s", file, strerror(errno));
			return -1;
		}
	}
	if (!any)
		sb_addstr(note, "nothing to undo: the stress had ended");
	return 0;
}

const struct fault_kind fault_kind_stress = {
	"stress", keys, stress_validate, stress_target, stress_inject, stress_undo,
};
