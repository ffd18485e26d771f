/*
 * capture.c: helpers shared by record.c and import.c (see capture.h).
 */
#include "common.h"

#include "capture.h"

void cap_emit(struct cap_ctx *c, struct exchange *x)
{
	mask_apply(&c->mask, x);
	sb_reset(&c->rec);
	xch_write(x, &c->rec);
	out_record(c->out, &c->rec);
	c->written++;
}

int cap_reject(struct cap_ctx *c, const char *file, size_t line, const char *fmt, ...)
{
	struct strbuf msg = SB_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (line)
		error("%s:%zu: %s", file, line, msg.buf);
	else
		error("%s: %s", file, msg.buf);
	sb_release(&msg);
	c->bad++;
	return c->strict ? -1 : 0;
}

bool cap_hop_by_hop(const char *name, const char *connection)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "proxy-connection", "te", "trailer",
		"transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization",
	};
	for (size_t i = 0; i < ARRAY_SIZE(hop); i++)
		if (!strcasecmp(name, hop[i]))
			return true;
	size_t n = strlen(name);
	for (const char *p = connection; p && *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		size_t t = strcspn(p, " \t,");
		if (t == n && !strncasecmp(p, name, n))
			return true;
		p += t;
	}
	return false;
}

void cap_mask_rule(struct cap_ctx *c, const char *spec)
{
	struct strbuf err = SB_INIT;
	if (mask_add(&c->mask, spec, &err))
		die_usage("--mask %s", err.buf);
	sb_release(&err);
}

void cap_mask_salt(struct cap_ctx *c, const char *salt)
{
	if (!salt)
		salt = getenv("OFS_REPLAY_SALT");
	if (salt)
		mask_set_salt(&c->mask, salt);
}
