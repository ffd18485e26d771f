/*
 * capture.h: what `record` and `import` share: the output of exchange
 * records (masking applied first), the reporting of rejected input, and
 * the list of hop-by-hop header fields that never belong in a capture.
 */
#ifndef OFS_REPLAY_CAPTURE_H
#define OFS_REPLAY_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "exchange.h"
#include "mask.h"
#include "out.h"
#include "strbuf.h"

struct cap_ctx {
	struct out *out;      /* where records go */
	struct mask_set mask; /* rules applied to every exchange */
	struct strbuf rec;    /* scratch for one record */
	bool strict;          /* --strict: the first rejected input stops */
	size_t bad;           /* inputs rejected */
	size_t written;       /* exchanges written */
};

/* cap_emit: mask x, write it as one record, count it. x is left masked. */
void cap_emit(struct cap_ctx *c, struct exchange *x);

/*
 * cap_reject: report "ofs-replay: FILE:LINE: reason" (line 0: "FILE:
 * reason") and count it. Returns -1 when --strict says to stop, else 0.
 */
int cap_reject(struct cap_ctx *c, const char *file, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * cap_hop_by_hop: whether a header field is hop-by-hop (RFC 9110 section
 * 7.6.1: Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
 * Transfer-Encoding, Upgrade, and Proxy-Authenticate/-Authorization) or
 * named in the message's Connection field (connection may be NULL).
 */
bool cap_hop_by_hop(const char *name, const char *connection);

/* cap_mask_opts: add a --mask rule or die with status 2 naming the rule. */
void cap_mask_rule(struct cap_ctx *c, const char *spec);
/* cap_mask_salt: set the salt from --mask-salt (NULL: OFS_REPLAY_SALT, if set). */
void cap_mask_salt(struct cap_ctx *c, const char *salt);

#endif
