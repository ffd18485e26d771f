/*
 * provider.c: the metric providers of ofs-deploy's analysis runs. Each
 * turns one measurement into a number, "no data", or an error sentence,
 * so that the loop in measure.c can judge every kind of metric alike.
 *
 *  http     GET the metric's url; a 2xx body is JSON, the value is the
 *           first match of jsonPath (or the whole body without one): a
 *           number, or a string holding one, as Prometheus answers
 *           ("0.05" in value[1]). No match, null, an empty array or
 *           object, or Prometheus' "NaN" is no data.
 *  command  the metric's command as a hook; its stdout read the same way
 *           (empty stdout: no data); a non-zero exit is an error.
 *  haproxy  one `show stat` per measurement over the servers of the set
 *           `of`. errorRate and requestRate are differences between this
 *           look and the one before (the first against a baseline taken
 *           when the run starts), because HAProxy's counters only grow;
 *           a server whose slot changed instance between the two looks,
 *           or whose counters went down (a reload), sits that interval
 *           out. sessions is the current scur sum.
 *  health   the spec's ready check, once, on every instance of the set;
 *           the value is the healthy fraction.
 */
#include "common.h"

#include "check.h"
#include "deploy.h"
#include "haproxy.h"
#include "httpnum.h"
#include "jsonpath.h"
#include "measure.h"
#include "timefmt.h"

#define NS_PER_MS 1000000LL
#define DEFAULT_TIMEOUT_NS (5000 * NS_PER_MS)
#define DEFAULT_HAP_TIMEOUT_NS (2000 * NS_PER_MS)
#define DEFAULT_READY_TIMEOUT_NS (1000 * NS_PER_MS)
#define DEFAULT_READY_PATH "/health"

/* One server as seen by one `show stat` look. */
struct hap_look {
	char *name;     /* the server (slot) */
	char *inst;     /* the id of the instance holding it then, or NULL */
	bool http;      /* it has response counters */
	long long resp; /* responses so far, every class */
	long long err5; /* 5xx responses so far */
	long long scur;
};

struct dp_prov {
	struct dp_deploy *d;
	const struct dp_metric *m;
	/* http, command */
	struct jp *jp;
	struct strbuf jp_err; /* why jsonPath did not compile; empty if it did */
	/* haproxy */
	struct hap_look *look;
	size_t nlook;
	int64_t look_ns;      /* mono_ns of the last look; 0: none yet */
	struct strbuf base_err; /* why the baseline failed */
};

static int64_t ms_of(int64_t ns, int64_t dflt)
{
	if (ns <= 0)
		ns = dflt;
	int64_t ms = (ns + NS_PER_MS - 1) / NS_PER_MS;
	return ms > INT_MAX ? INT_MAX : ms;
}

/* ---- values out of text ------------------------------------------------ */

/*
 * text_value: the measurement in text (NUL-terminated at len) that came
 * from what ("the response from 'URL'", "the command's output"), under
 * p's jsonPath or, without one, as a whole (httpnum.h).
 */
static int text_value(const struct dp_prov *p, const char *text, size_t len, const char *what,
		      double *v, struct strbuf *err)
{
	if (p->m->json_path && !p->jp && !hn_blank(text, len)) {
		sb_addf(err, "invalid jsonPath '%s': %s", p->m->json_path, p->jp_err.buf);
		return -1;
	}
	return hn_text(text, len, p->jp, p->m->json_path, what, v, err);
}

/* ---- http ----------------------------------------------------------------- */

static int measure_http(struct dp_prov *p, double *v, struct strbuf *err)
{
	const struct dp_metric *m = p->m;
	struct strbuf body = SB_INIT, what = SB_INIT;
	int rc = -1;

	if (hn_fetch(m->url, (long)ms_of(m->timeout_ns, DEFAULT_TIMEOUT_NS), &body, err) == 0) {
		sb_addf(&what, "the response from '%s'", m->url);
		rc = text_value(p, body.buf, body.len, what.buf, v, err);
	}
	sb_release(&what);
	sb_release(&body);
	return rc;
}

/* ---- command -------------------------------------------------------------- */

static int measure_command(struct dp_prov *p, double *v, struct strbuf *err)
{
	struct dp_hookvars hv;
	struct strbuf out = SB_INIT;
	int rc;

	dp_hook_vars(p->d->spec, NULL, 0, &hv);
	if (dp_hook_run("command", &p->m->command, &hv, NULL,
			p->m->timeout_ns > 0 ? p->m->timeout_ns : DEFAULT_TIMEOUT_NS, &out, err) < 0)
		rc = -1;
	else
		rc = text_value(p, out.buf, out.len, "the command's output", v, err);
	sb_release(&out);
	return rc;
}

/* ---- instance sets -------------------------------------------------------- */

static bool in_set(const struct dp_deploy *d, const struct dp_inst *in, enum dp_target_set of)
{
	switch (of) {
	case DP_SET_NEW:
		return in->revision == d->revision;
	case DP_SET_OLD:
		return in->revision != d->revision;
	case DP_SET_ALL:
		break;
	}
	return true;
}

/* ---- haproxy -------------------------------------------------------------- */

static const char *hap_addr(const struct dp_prov *p)
{
	return p->m->socket ? p->m->socket : p->d->spec->traffic.socket;
}

static const char *hap_backend(const struct dp_prov *p)
{
	if (p->m->backend)
		return p->m->backend;
	return p->d->spec->traffic.backend ? p->d->spec->traffic.backend : p->d->spec->service;
}

/* The instance holding slot now (a live one first), or NULL. */
static const struct dp_inst *slot_holder(const struct dp_deploy *d, const char *slot)
{
	const struct dp_inst *found = NULL;
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dp_inst *in = d->inst[i];
		if (!in->slot || strcmp(in->slot, slot))
			continue;
		if (in->state != DP_STOPPED)
			return in;
		found = in;
	}
	return found;
}

/* Whether server s counts in the metric's set: for new and old, a
 * SERVING or DRAINING instance of that side holds it; all: every server. */
static bool hap_counts(const struct dp_prov *p, const struct hap_look *s)
{
	if (p->m->of == DP_SET_ALL)
		return true;
	for (size_t i = 0; i < p->d->ninst; i++) {
		const struct dp_inst *in = p->d->inst[i];
		if ((in->state == DP_SERVING || in->state == DP_DRAINING) && in->slot &&
		    !strcmp(in->slot, s->name) && in_set(p->d, in, p->m->of))
			return true;
	}
	return false;
}

static void looks_free(struct hap_look *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].inst);
	}
	free(v);
}

static long long nonneg(long long x)
{
	return x > 0 ? x : 0;
}

/* hap_look_now: one `show stat` of the backend as looks (0, or -1 with err). */
static int hap_look_now(struct dp_prov *p, struct hap_look **out, size_t *nout,
			struct strbuf *err)
{
	const char *addr = hap_addr(p);
	struct hap_server *sv;
	size_t n;

	*out = NULL;
	*nout = 0;
	if (!addr) {
		sb_addstr(err, "no haproxy runtime socket: set the metric's socket or /traffic/socket");
		return -1;
	}
	int tms = (int)ms_of(p->d->spec->traffic.timeout_ns, DEFAULT_HAP_TIMEOUT_NS);
	if (hap_servers(addr, hap_backend(p), &sv, &n, tms, err) < 0)
		return -1;
	struct hap_look *v = n ? xcalloc(n, sizeof(*v)) : NULL;
	for (size_t i = 0; i < n; i++) {
		const struct hap_server *s = &sv[i];
		const struct dp_inst *in = slot_holder(p->d, s->name);
		v[i].name = xstrdup(s->name);
		v[i].inst = in ? xstrdup(in->id) : NULL;
		v[i].http = s->hrsp_5xx >= 0;
		v[i].resp = nonneg(s->hrsp_1xx) + nonneg(s->hrsp_2xx) + nonneg(s->hrsp_3xx) +
			    nonneg(s->hrsp_4xx) + nonneg(s->hrsp_5xx) + nonneg(s->hrsp_other);
		v[i].err5 = nonneg(s->hrsp_5xx);
		v[i].scur = nonneg(s->scur);
	}
	hap_servers_free(sv, n);
	*out = v;
	*nout = n;
	return 0;
}

static const struct hap_look *look_find(const struct hap_look *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static bool same_inst(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The value of this look against the last (1, 0, -1 as dp_prov_measure). */
static int hap_value(const struct dp_prov *p, const struct hap_look *cur, size_t ncur,
		     int64_t now_ns, double *v, struct strbuf *err)
{
	size_t nset = 0, nhttp = 0;
	long long dresp = 0, derr = 0, scur = 0;

	for (size_t i = 0; i < ncur; i++) {
		const struct hap_look *s = &cur[i];
		if (!hap_counts(p, s))
			continue;
		nset++;
		scur += s->scur;
		if (!s->http)
			continue;
		nhttp++;
		const struct hap_look *was = look_find(p->look, p->nlook, s->name);
		if (!was || !was->http || !same_inst(was->inst, s->inst) || s->resp < was->resp ||
		    s->err5 < was->err5)
			continue; /* new, reused or reset: no interval to compare */
		dresp += s->resp - was->resp;
		derr += s->err5 - was->err5;
	}
	if (!nset)
		return 0;
	if (p->m->hap_metric == DP_HAP_SESSIONS) {
		*v = (double)scur;
		return 1;
	}
	if (!nhttp) {
		sb_addf(err, "haproxy backend '%s' has no http response counters (mode tcp?)",
			hap_backend(p));
		return -1;
	}
	if (p->m->hap_metric == DP_HAP_ERROR_RATE) {
		if (!dresp)
			return 0;
		*v = (double)derr / (double)dresp;
		return 1;
	}
	double secs = (double)(now_ns - p->look_ns) / 1e9;
	*v = secs > 0 ? (double)dresp / secs : 0;
	return 1;
}

static int measure_haproxy(struct dp_prov *p, double *v, struct strbuf *err)
{
	struct hap_look *cur;
	size_t ncur;

	if (hap_look_now(p, &cur, &ncur, err) < 0)
		return -1;
	int64_t now = mono_ns();
	int rc;
	if (dp_prov_is_delta(p->m) && !p->look_ns) {
		sb_addf(err, "no earlier haproxy counters to compare with (the baseline failed: %s)",
			p->base_err.buf);
		rc = -1;
	} else {
		rc = hap_value(p, cur, ncur, now, v, err);
	}
	looks_free(p->look, p->nlook);
	p->look = cur;
	p->nlook = ncur;
	p->look_ns = now;
	return rc;
}

/* ---- health --------------------------------------------------------------- */

/* The spec an instance runs under: its revision's. */
static const struct dp_spec *spec_of(const struct dp_deploy *d, const struct dp_inst *in)
{
	if (in->revision != d->revision && d->prev_spec)
		return d->prev_spec;
	return d->spec;
}

struct health_run {
	size_t healthy;
};

static void health_done(void *user, const struct check_spec *spec,
			const struct check_result *res, void *ctx)
{
	struct health_run *h = ctx;
	(void)user;
	(void)spec;
	if (res->status == CHECK_OK)
		h->healthy++;
}

/* The http or tcp ready check of in as a check_spec. */
static void ready_check(const struct dp_spec *spec, const struct dp_inst *in,
			struct check_spec *cs)
{
	const struct dp_ready *r = &spec->instances.ready;
	const char *host = in->host ? in->host : "127.0.0.1";
	check_spec_init(cs);
	cs->timeout_ms = ms_of(r->timeout_ns, DEFAULT_READY_TIMEOUT_NS);
	if (r->kind == DP_READY_HTTP) {
		const char *path = r->path ? r->path : DEFAULT_READY_PATH;
		cs->kind = CHECK_HTTP;
		cs->url = xasprintf("http://%s:%d%s%s", host, in->port, *path == '/' ? "" : "/",
				    path);
	} else {
		cs->kind = CHECK_TCP;
		cs->host = xstrdup(host);
		cs->port = in->port;
	}
}

/* Healthy count of insts by the runner's own ready, or by a command. */
static size_t health_serial(struct dp_prov *p, struct dp_inst **insts, size_t n)
{
	struct dp_deploy *d = p->d;
	struct strbuf e = SB_INIT;
	size_t healthy = 0;
	for (size_t i = 0; i < n && !dp_interrupted(); i++) {
		const struct dp_spec *spec = spec_of(d, insts[i]);
		sb_reset(&e);
		if (d->runner && d->runner->ready) {
			healthy += d->runner->ready(d, spec, insts[i], &e) == 1;
		} else {
			const struct dp_ready *r = &spec->instances.ready;
			struct dp_hookvars hv;
			dp_hook_vars(spec, insts[i], (int)i, &hv);
			healthy += dp_hook_run("ready", &r->command, &hv, NULL,
					       r->timeout_ns > 0 ? r->timeout_ns
								 : DEFAULT_READY_TIMEOUT_NS,
					       NULL, &e) == 0;
		}
	}
	sb_release(&e);
	return healthy;
}

static int measure_health(struct dp_prov *p, double *v, struct strbuf *err)
{
	struct dp_deploy *d = p->d;
	struct dp_inst **insts = xcalloc(d->ninst ? d->ninst : 1, sizeof(*insts));
	size_t n = 0, healthy = 0, nchecks = 0;
	int rc = 1;

	for (size_t i = 0; i < d->ninst; i++) {
		struct dp_inst *in = d->inst[i];
		if ((in->state == DP_READY || in->state == DP_SERVING ||
		     in->state == DP_DRAINING) &&
		    in_set(d, in, p->m->of))
			insts[n++] = in;
	}
	if (!n) {
		free(insts);
		return 0;
	}
	struct check_spec *cs = xcalloc(n, sizeof(*cs));
	struct dp_inst **serial = xcalloc(n, sizeof(*serial));
	size_t nserial = 0;
	for (size_t i = 0; i < n; i++) {
		const struct dp_spec *spec = spec_of(d, insts[i]);
		if ((d->runner && d->runner->ready) ||
		    spec->instances.ready.kind == DP_READY_COMMAND)
			serial[nserial++] = insts[i];
		else
			ready_check(spec, insts[i], &cs[nchecks++]);
	}
	if (nchecks) {
		struct check_runner *r = check_runner_new((int)nchecks, 1, 0);
		struct health_run h = { 0 };
		for (size_t i = 0; i < nchecks; i++)
			check_runner_add(r, &cs[i], NULL);
		if (check_runner_run(r, health_done, &h) < 0)
			rc = -1;
		check_runner_free(r);
		healthy += h.healthy;
	}
	if (rc == 1)
		healthy += health_serial(p, serial, nserial);
	if (rc < 0 || dp_interrupted()) {
		sb_addstr(err, "interrupted");
		rc = -1;
	} else {
		*v = (double)healthy / (double)n;
	}
	for (size_t i = 0; i < nchecks; i++)
		check_spec_release(&cs[i]);
	free(cs);
	free(serial);
	free(insts);
	return rc;
}

/* ---- the interface -------------------------------------------------------- */

bool dp_prov_is_delta(const struct dp_metric *m)
{
	return m->provider == DP_PROV_HAPROXY && m->hap_metric != DP_HAP_SESSIONS;
}

struct dp_prov *dp_prov_new(struct dp_deploy *d, const struct dp_metric *m)
{
	struct dp_prov *p = xcalloc(1, sizeof(*p));
	p->d = d;
	p->m = m;
	sb_init(&p->jp_err, 0);
	sb_init(&p->base_err, 0);
	if (m->json_path && (m->provider == DP_PROV_HTTP || m->provider == DP_PROV_COMMAND))
		p->jp = jp_compile(m->json_path, &p->jp_err, NULL);
	if (dp_prov_is_delta(m) &&
	    hap_look_now(p, &p->look, &p->nlook, &p->base_err) == 0)
		p->look_ns = mono_ns();
	return p;
}

int dp_prov_measure(struct dp_prov *p, double *v, struct strbuf *err)
{
	sb_reset(err);
	switch (p->m->provider) {
	case DP_PROV_HTTP:
		return measure_http(p, v, err);
	case DP_PROV_COMMAND:
		return measure_command(p, v, err);
	case DP_PROV_HAPROXY:
		return measure_haproxy(p, v, err);
	case DP_PROV_HEALTH:
		return measure_health(p, v, err);
	}
	sb_addstr(err, "unknown provider");
	return -1;
}

void dp_prov_free(struct dp_prov *p)
{
	if (!p)
		return;
	jp_free(p->jp);
	sb_release(&p->jp_err);
	sb_release(&p->base_err);
	looks_free(p->look, p->nlook);
	free(p);
}
