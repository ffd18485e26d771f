/*
 * pidfind.c: finding the processes faults act on, through /proc.
 *
 * A kill or pause names its target as a topology instance, a service
 * (one instance picked, or all), a pid file or a pid. An instance is
 * found by what it does rather than by what it claims: the process that
 * listens on the instance's port on this machine (/proc/net/tcp and
 * tcp6 give the listening sockets' inodes, /proc/PID/fd the processes
 * holding them), so a stale pid file never sends a signal to the wrong
 * process. Every process is remembered with its start time (field 22 of
 * /proc/PID/stat): a pid reused by another program after a crash is then
 * never mistaken for the one the fault was injected into. The /proc
 * reading itself is libcommon's (pid.h); this file turns the targets of
 * an experiment into processes.
 */
#include "common.h"

#include "fault.h"
#include "pid.h"
#include "rnd.h"
#include "suggest.h"

/* ---- targets of kill and pause ----------------------------------------- */

static const char *const target_keys[] = { "instance", "service", "pid_file", "pid" };
static const char *const pick_names[] = { "random", "first", "all", NULL };
enum { PICK_RANDOM, PICK_FIRST, PICK_ALL };

void ftarget_validate(struct fv *v, const cJSON *prov, const char *ptr, const char *kind)
{
	const char *given[ARRAY_SIZE(target_keys)];
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(target_keys); i++)
		if (cJSON_GetObjectItemCaseSensitive(prov, target_keys[i]))
			given[n++] = target_keys[i];
	if (!n)
		cfg_error(v->cfg, ptr,
			  "a %s fault needs a target: one of 'instance', 'service', 'pid_file' "
			  "or 'pid'", kind);
	else if (n > 1)
		cfg_error(v->cfg, ptr, "give one target, not both '%s' and '%s'", given[0],
			  given[1]);
	const char *s;
	int64_t i;
	int pick;
	fv_string(v, prov, ptr, "instance", false, &s);
	fv_string(v, prov, ptr, "service", false, &s);
	fv_string(v, prov, ptr, "pid_file", false, &s);
	fv_int(v, prov, ptr, "pid", false, 1, INT_MAX, &i);
	if (cJSON_GetObjectItemCaseSensitive(prov, "pick") &&
	    !cJSON_GetObjectItemCaseSensitive(prov, "service"))
		cfg_error(v->cfg, cfg_ptr_key(v->cfg, ptr, "pick"), "only with 'service'");
	else
		fv_enum(v, prov, ptr, "pick", false, pick_names, &pick);
}

static bool has_subst(const cJSON *prov)
{
	for (size_t i = 0; i < ARRAY_SIZE(target_keys); i++) {
		const char *s = fget_str(prov, target_keys[i]);
		if (s && strstr(s, "${"))
			return true;
	}
	const char *pick = fget_str(prov, "pick");
	return pick && strstr(pick, "${");
}

static int pick_of(const cJSON *prov)
{
	const char *p = fget_str(prov, "pick");
	for (int i = 0; p && pick_names[i]; i++)
		if (!strcmp(p, pick_names[i]))
			return i;
	return PICK_RANDOM;
}

int ftarget_name(const cJSON *prov, const struct topology *topo, struct strbuf *target)
{
	if (has_subst(prov))
		return -1;
	const char *s;
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(prov, "pid");
	if ((s = fget_str(prov, "instance")) != NULL) {
		sb_addf(target, "instance:%s", s);
		return 0;
	}
	if ((s = fget_str(prov, "service")) != NULL) {
		int pick = pick_of(prov);
		if (pick == PICK_ALL) {
			sb_addf(target, "service:%s", s);
			return 0;
		}
		if (pick == PICK_RANDOM || !topo)
			return -1; /* known once picked */
		int idx = topo_service_index(topo, s);
		if (idx < 0 || !topo->services[idx].ninstances)
			return -1;
		sb_addf(target, "instance:%s", topo->services[idx].instances[0].id);
		return 0;
	}
	if (cJSON_IsNumber(pid)) {
		sb_addf(target, "pid:%ld", (long)pid->valuedouble);
		return 0;
	}
	if ((s = fget_str(prov, "pid_file")) != NULL) {
		pid_t p;
		struct strbuf err = SB_INIT;
		int r = pid_file_read(s, &p, &err);
		sb_release(&err);
		if (r < 0)
			return -1;
		sb_addf(target, "pid:%ld", (long)p);
		return 0;
	}
	return -1;
}

/* "; did you mean 'x'?" for a name that is not among names. */
static void add_hint(struct strbuf *err, const char *word, const char *const *names, size_t n)
{
	const char *near = suggest_closest(word, names, n);
	if (near)
		sb_addf(err, "; did you mean '%s'?", near);
}

static const struct topo_instance *find_instance(const struct topology *t, const char *id,
						 struct strbuf *err)
{
	const struct topo_instance *in = topo_find_instance(t, id);
	if (in)
		return in;
	sb_addf(err, "no instance '%s' in the topology", id);
	size_t n = 0, k = 0;
	for (size_t i = 0; i < t->nservices; i++)
		n += t->services[i].ninstances;
	const char **names = xcalloc(n + 1, sizeof(*names));
	for (size_t i = 0; i < t->nservices; i++)
		for (size_t j = 0; j < t->services[i].ninstances; j++)
			names[k++] = t->services[i].instances[j].id;
	add_hint(err, id, names, n);
	free(names);
	return NULL;
}

/* The process of an instance: the one listening on its port. */
static int instance_pid(const struct topo_instance *in, pid_t *pid, struct strbuf *err)
{
	if (in->port <= 0) {
		sb_addf(err, "instance '%s' has no port to find its process by", in->id);
		return -1;
	}
	struct strbuf why = SB_INIT;
	int r = pid_listener(in->port, pid, &why);
	if (r < 0)
		sb_addf(err, "cannot find the process of instance '%s': %s", in->id, why.buf);
	sb_release(&why);
	return r;
}

/* Check a pid target: alive, not ourselves, not init. */
static int pid_ok(pid_t pid, uint64_t *start, struct strbuf *err)
{
	struct pidstat st;
	if (pid == getpid()) {
		sb_addf(err, "pid %ld is ofs-chaos itself", (long)pid);
		return -1;
	}
	if (pid == 1) {
		sb_addstr(err, "refusing to act on pid 1");
		return -1;
	}
	if (pid_stat(pid, &st) < 0 || st.state == 'Z' || st.state == 'X') {
		sb_addf(err, "no process with pid %ld", (long)pid);
		return -1;
	}
	*start = st.start;
	return 0;
}

int ftarget_resolve(struct fault_ctx *fc, const cJSON *prov, struct ftarget **out, size_t *n,
		    struct strbuf *target, cJSON *details, struct strbuf *err)
{
	const struct topology *topo = fc->topo;
	const char *instance = fget_str(prov, "instance");
	const char *service = fget_str(prov, "service");
	const char *pid_file = fget_str(prov, "pid_file");
	struct ftarget *t = NULL;
	size_t nt = 0;
	*out = NULL;
	*n = 0;
	if ((instance || service) && !topo) {
		sb_addf(err, "%s targets need a topology (--topology, or \"topology\" in the "
			     "experiment)", instance ? "instance" : "service");
		return -1;
	}
	if (instance || service) {
		const struct topo_instance *pick[1];
		const struct topo_instance *const *ins = pick;
		size_t nins = 1;
		const struct topo_service *svc = NULL;
		if (instance) {
			if (!(pick[0] = find_instance(topo, instance, err)))
				return -1;
		} else {
			int idx = topo_service_index(topo, service);
			if (idx < 0) {
				const char **names = xcalloc(topo->nservices + 1, sizeof(*names));
				for (size_t i = 0; i < topo->nservices; i++)
					names[i] = topo->services[i].name;
				sb_addf(err, "no service '%s' in the topology", service);
				add_hint(err, service, names, topo->nservices);
				free(names);
				return -1;
			}
			svc = &topo->services[idx];
			if (!svc->ninstances) {
				sb_addf(err, "service '%s' has no instances", service);
				return -1;
			}
			int how = pick_of(prov);
			if (how == PICK_ALL) {
				nins = svc->ninstances;
				ins = NULL;
			} else {
				size_t at = how == PICK_FIRST ? 0 : rnd_below(svc->ninstances);
				pick[0] = &svc->instances[at];
			}
		}
		t = xcalloc(nins, sizeof(*t));
		for (size_t i = 0; i < nins; i++) {
			const struct topo_instance *in = ins ? ins[i] : &svc->instances[i];
			t[i].in = in;
			if (instance_pid(in, &t[i].pid, err) < 0 ||
			    pid_ok(t[i].pid, &t[i].start, err) < 0) {
				free(t);
				return -1;
			}
		}
		nt = nins;
		const struct topo_service *s = &topo->services[t[0].in->service];
		if (!ins) {
			sb_addf(target, "service:%s", s->name);
			cJSON_AddStringToObject(details, "service", s->name);
			cJSON *ids = cJSON_AddArrayToObject(details, "instances");
			cJSON *pids = cJSON_AddArrayToObject(details, "pids");
			for (size_t i = 0; i < nt; i++) {
				cJSON_AddItemToArray(ids, cJSON_CreateString(t[i].in->id));
				cJSON_AddItemToArray(pids, cJSON_CreateNumber((double)t[i].pid));
			}
		} else {
			sb_addf(target, "instance:%s", t[0].in->id);
			cJSON_AddStringToObject(details, "instance", t[0].in->id);
			cJSON_AddStringToObject(details, "service", s->name);
			cJSON_AddNumberToObject(details, "pid", (double)t[0].pid);
		}
	} else {
		pid_t pid;
		if (pid_file) {
			if (pid_file_read(pid_file, &pid, err) < 0)
				return -1;
		} else {
			pid = (pid_t)fget_int(prov, "pid", 0);
		}
		t = xcalloc(1, sizeof(*t));
		t->pid = pid;
		if (pid_ok(pid, &t->start, err) < 0) {
			free(t);
			return -1;
		}
		nt = 1;
		sb_addf(target, "pid:%ld", (long)pid);
		cJSON_AddNumberToObject(details, "pid", (double)pid);
		if (pid_file)
			cJSON_AddStringToObject(details, "pid_file", pid_file);
	}
	*out = t;
	*n = nt;
	return 0;
}
