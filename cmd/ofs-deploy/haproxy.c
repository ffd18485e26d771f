/*
 * haproxy.c: ofs-deploy's haproxy traffic driver. It moves traffic on a
 * running HAProxy through its runtime API (libcommon/haproxy.h), never
 * by reloading, so no connection is cut and no config file is touched.
 *
 * The backend's servers are slots: the user declares spare ones
 * (`server-template s 10 127.0.0.1:1 disabled`), and a server is free
 * when it is in MAINT and no live instance (any state but DP_STOPPED)
 * names it in in->slot. apply points a free server at each new serving
 * instance (set addr, set weight, state ready), updates the weights of
 * those already serving, drains the draining ones, and puts back in
 * MAINT any server still up for an instance that must get no traffic,
 * in that order, so new servers take requests before others stop. One
 * `show stat` per apply tells what is already as wanted: only changes are
 * sent, because apply runs at every step of every deploy.
 */
#include "common.h"

#include "deploy.h"
#include "haproxy.h"
#include "strbuf.h"

#define HAP_DEFAULT_TIMEOUT_MS 2000
#define HAP_DEFAULT_DRAIN_MS 30000

/* Where and how to talk to HAProxy, from /traffic. */
struct hcfg {
	const char *sock, *backend;
	int timeout_ms;
};

static int fail(struct strbuf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct strbuf *err, const char *fmt, ...)
{
	va_list ap;
	sb_reset(err);
	va_start(ap, fmt);
	sb_vaddf(err, fmt, ap);
	va_end(ap);
	return -1;
}

/* Put "instance 'ID': " before the message in err. */
static int for_instance(const struct dp_inst *in, struct strbuf *err)
{
	char *msg = xstrdup(err->buf);
	fail(err, "instance '%s': %s", in->id, msg);
	free(msg);
	return -1;
}

static int ns_to_ms(int64_t ns, int dflt)
{
	if (ns <= 0)
		return dflt;
	int64_t ms = (ns + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void cfg_of(const struct dp_deploy *d, struct hcfg *c)
{
	const struct dp_traffic *t = &d->spec->traffic;
	c->sock = t->socket;
	c->backend = t->backend ? t->backend : d->spec->service;
	c->timeout_ms = ns_to_ms(t->timeout_ns, HAP_DEFAULT_TIMEOUT_MS);
}

static bool live(const struct dp_inst *in)
{
	return in->state != DP_STOPPED;
}

/* Whether an instance of d other than self, not stopped, holds server name. */
static bool claimed(const struct dp_deploy *d, const char *name, const struct dp_inst *self)
{
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dp_inst *in = d->inst[i];
		if (in != self && live(in) && in->slot && strcmp(in->slot, name) == 0)
			return true;
	}
	return false;
}

static struct hap_server *server_named(struct hap_server *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* The first free server of v, or NULL. */
static struct hap_server *free_server(const struct dp_deploy *d, struct hap_server *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].state == HAP_MAINT && !claimed(d, v[i].name, NULL))
			return &v[i];
	return NULL;
}

/* host:port as show stat's addr column writes it ([host]:port for IPv6). */
static char *addr_text(const char *host, int port)
{
	bool v6 = strchr(host, ':') && host[0] != '[';
	return xasprintf("%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

static int check_serving(const struct dp_inst *in, struct strbuf *err)
{
	if (in->weight < 1 || in->weight > 256)
		return fail(err, "instance '%s' is serving with weight %d: haproxy weights are 1..256",
			    in->id, in->weight);
	if (!in->host || in->port < 1)
		return fail(err, "instance '%s' has no address for haproxy", in->id);
	return 0;
}

/*
 * Make server s (as show stat described it) send in->weight to in's
 * address: set addr, set weight, state ready, each only if needed; s is
 * updated to say what is now true.
 */
static int point_server(const struct hcfg *c, struct hap_server *s, const struct dp_inst *in,
			struct strbuf *err)
{
	char *want = addr_text(in->host, in->port);
	if (!s->addr || strcmp(s->addr, want) != 0) {
		if (hap_set_addr(c->sock, c->backend, s->name, in->host, in->port, c->timeout_ms,
				 err) < 0) {
			free(want);
			return for_instance(in, err);
		}
		free(s->addr);
		s->addr = want;
	} else {
		free(want);
	}
	if (s->weight != in->weight) {
		if (hap_set_weight(c->sock, c->backend, s->name, in->weight, c->timeout_ms, err) < 0)
			return for_instance(in, err);
		s->weight = in->weight;
	}
	if (s->state != HAP_READY) {
		if (hap_set_state(c->sock, c->backend, s->name, HAP_READY, c->timeout_ms, err) < 0)
			return for_instance(in, err);
		s->state = HAP_READY;
	}
	return 0;
}

/* Forget a slot the backend no longer has (HAProxy restarted with another config). */
static void drop_vanished_slot(struct dp_inst *in, struct hap_server *v, size_t n)
{
	if (in->slot && !server_named(v, n, in->slot)) {
		free(in->slot);
		in->slot = NULL;
	}
}

/* Step 1: a free server for each serving instance without one. */
static int take_slots(struct dp_deploy *d, const struct hcfg *c, struct hap_server *v, size_t n,
		      struct strbuf *err)
{
	for (size_t i = 0; i < d->ninst; i++) {
		struct dp_inst *in = d->inst[i];
		if (in->state != DP_SERVING || in->slot)
			continue;
		struct hap_server *s = free_server(d, v, n);
		if (!s)
			return fail(err,
				    "no free server in haproxy backend '%s' (%zu in use): add servers "
				    "(server-template) or lower maxSurge",
				    c->backend, n);
		/* Held from now on, so a failure below leaves it to release. */
		in->slot = xstrdup(s->name);
		if (point_server(c, s, in, err) < 0)
			return -1;
	}
	return 0;
}

/* Step 2: serving instances already holding a server get their weight. */
static int update_serving(struct dp_deploy *d, const struct hcfg *c, struct hap_server *v,
			  size_t n, struct strbuf *err)
{
	for (size_t i = 0; i < d->ninst; i++) {
		struct dp_inst *in = d->inst[i];
		if (in->state != DP_SERVING || !in->slot)
			continue;
		struct hap_server *s = server_named(v, n, in->slot);
		if (s && point_server(c, s, in, err) < 0)
			return -1;
	}
	return 0;
}

/* Step 3: draining instances' servers take no new requests. */
static int drain_servers(struct dp_deploy *d, const struct hcfg *c, struct hap_server *v,
			 size_t n, struct strbuf *err)
{
	for (size_t i = 0; i < d->ninst; i++) {
		struct dp_inst *in = d->inst[i];
		if (in->state != DP_DRAINING || !in->slot)
			continue;
		const struct hap_server *s = server_named(v, n, in->slot);
		if (s && s->state == HAP_READY &&
		    hap_set_state(c->sock, c->backend, s->name, HAP_DRAIN, c->timeout_ms, err) < 0)
			return for_instance(in, err);
	}
	return 0;
}

/* Step 4: any other instance's server that is still up goes to MAINT. */
static int maint_others(struct dp_deploy *d, const struct hcfg *c, struct hap_server *v,
			size_t n, struct strbuf *err)
{
	for (size_t i = 0; i < d->ninst; i++) {
		struct dp_inst *in = d->inst[i];
		if (in->state == DP_SERVING || in->state == DP_DRAINING || !in->slot)
			continue;
		const struct hap_server *s = server_named(v, n, in->slot);
		if (!s || s->state == HAP_MAINT || claimed(d, in->slot, in))
			continue;
		if (hap_set_state(c->sock, c->backend, s->name, HAP_MAINT, c->timeout_ms, err) < 0)
			return for_instance(in, err);
	}
	return 0;
}

/* Keep the first line of an answer, without its end. */
static void first_line(struct strbuf *sb)
{
	char *nl = strpbrk(sb->buf, "\r\n");
	if (nl)
		sb_setlen(sb, (size_t)(nl - sb->buf));
}

static int hap_prepare(struct dp_deploy *d, struct strbuf *err)
{
	struct hcfg c;
	cfg_of(d, &c);
	if (!c.sock || !*c.sock)
		return fail(err, "traffic driver haproxy needs the runtime socket ('socket')");
	if (!hap_valid_name(c.backend))
		return fail(err, "invalid haproxy backend name '%s'", c.backend);

	struct strbuf answer = SB_INIT;
	char *cmd = xasprintf("show stat %s 4 -1", c.backend);
	struct hap_server *v = NULL;
	size_t n = 0;
	int rc = hap_command(c.sock, cmd, c.timeout_ms, &answer, err);
	if (rc == 0 && strncmp(answer.buf, "# ", 2) == 0) {
		rc = hap_parse_stat(answer.buf, answer.len, c.backend, &v, &n, err);
	} else if (rc == 0) {
		first_line(&answer);
		if (strcmp(answer.buf, "No such proxy.") == 0)
			rc = fail(err, "haproxy has no backend '%s'", c.backend);
		else
			rc = fail(err, "haproxy answered '%.200s' to '%s'", answer.buf, cmd);
	}
	if (rc == 0 && n == 0)
		rc = fail(err,
			  "haproxy backend '%s' has no servers: declare spare ones, e.g. "
			  "'server-template s 10 127.0.0.1:1 disabled'",
			  c.backend);
	/* Changing weights and states needs `level admin` (HAProxy >= 2.0 tells). */
	if (rc == 0 && hap_command(c.sock, "show cli level", c.timeout_ms, &answer, NULL) == 0) {
		first_line(&answer);
		if (strcmp(answer.buf, "operator") == 0 || strcmp(answer.buf, "user") == 0)
			rc = fail(err,
				  "haproxy runtime socket '%s' is at level %s: ofs-deploy needs "
				  "'stats socket ... level admin'",
				  c.sock, answer.buf);
	}
	hap_servers_free(v, n);
	sb_release(&answer);
	free(cmd);
	return rc;
}

static int hap_apply(struct dp_deploy *d, struct strbuf *err)
{
	struct hcfg c;
	cfg_of(d, &c);
	for (size_t i = 0; i < d->ninst; i++)
		if (d->inst[i]->state == DP_SERVING && check_serving(d->inst[i], err) < 0)
			return -1;

	struct hap_server *v;
	size_t n;
	if (hap_servers(c.sock, c.backend, &v, &n, c.timeout_ms, err) < 0)
		return -1;
	for (size_t i = 0; i < d->ninst; i++)
		if (live(d->inst[i]))
			drop_vanished_slot(d->inst[i], v, n);
	int rc = take_slots(d, &c, v, n, err);
	if (rc == 0)
		rc = update_serving(d, &c, v, n, err);
	if (rc == 0)
		rc = drain_servers(d, &c, v, n, err);
	if (rc == 0)
		rc = maint_others(d, &c, v, n, err);
	hap_servers_free(v, n);
	return rc;
}

static int hap_wait(struct dp_deploy *d, struct dp_inst *in, int64_t timeout_ns,
		    struct strbuf *err)
{
	if (!in->slot)
		return 0;
	struct hcfg c;
	cfg_of(d, &c);
	int ms = ns_to_ms(timeout_ns > 0 ? timeout_ns : d->spec->traffic.drain_timeout_ns,
			  HAP_DEFAULT_DRAIN_MS);
	if (hap_wait_drained(c.sock, c.backend, in->slot, ms, NULL, err) < 0) {
		char *msg = xstrdup(err->buf);
		fail(err, "instance '%s' not drained: %s", in->id, msg);
		free(msg);
		return -1;
	}
	return 0;
}

static int hap_release(struct dp_deploy *d, struct dp_inst *in, struct strbuf *err)
{
	if (!in->slot)
		return 0;
	/* A server another live instance took over is theirs now. */
	if (!claimed(d, in->slot, in)) {
		struct hcfg c;
		cfg_of(d, &c);
		if (hap_set_state(c.sock, c.backend, in->slot, HAP_MAINT, c.timeout_ms, err) < 0)
			return for_instance(in, err);
	}
	free(in->slot);
	in->slot = NULL;
	return 0;
}

static void hap_free_state(struct dp_deploy *d)
{
	(void)d;
}

const struct dp_router dp_router_haproxy = {
	.name = "haproxy",
	.max_weight = 256,
	.prepare = hap_prepare,
	.apply = hap_apply,
	.wait_drained = hap_wait,
	.release = hap_release,
	.free_state = hap_free_state,
};
