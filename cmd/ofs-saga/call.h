/*
 * call.h: making one call of a saga step and reading how it ended
 * (call.c). The engine decides what to call and when; this module knows
 * HTTP and commands.
 */
#ifndef OFS_SAGA_CALL_H
#define OFS_SAGA_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "def.h"
#include "http.h"
#include "proc.h"
#include "strbuf.h"

/* Who is calling: what a command sees in its environment and on stdin. */
struct call_ctx {
	const char *saga, *step, *key; /* key: the attempt's idempotency key */
	bool compensation;
	int attempt;
	const cJSON *data, *outputs; /* the saga's data and the outputs so far */
	void *user;		     /* handed back with the result */
};

/* How a call ended. Release error and output when done with it. */
struct call_outcome {
	bool ok;
	bool definite; /* the call surely failed (else its outcome is unknown) */
	bool not_sent; /* it failed before anything was sent: the key stays */
	int code;      /* HTTP status or exit code; 0: none; -1: no retry can mend it */
	struct strbuf error;
	cJSON *output; /* owned: the answer's body or stdout, as JSON when it is */
	int64_t duration_ms;
};

/*
 * call_start_http, call_start_command: queue the call rendered (sc's
 * template with its `${...}` filled in) on client or pool, with
 * ctx->user as the user pointer of its result. false with the reason
 * in err when it cannot be made (nothing was queued).
 */
bool call_start_http(struct http_client *client, const struct saga_call *sc,
		     const cJSON *rendered, const struct call_ctx *ctx, struct strbuf *err);
bool call_start_command(struct proc_pool *pool, const struct saga_call *sc,
			const cJSON *rendered, const struct call_ctx *ctx, struct strbuf *err);

/* call_http_outcome, call_proc_outcome: what a finished call says. */
void call_http_outcome(const struct http_response *resp, struct call_outcome *o);
void call_proc_outcome(const struct proc_result *pr, struct call_outcome *o);

#endif
