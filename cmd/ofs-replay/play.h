/*
 * play.h: what ofs-replay play's files share: one recorded exchange on
 * its way through a replay (parsed by play_exchange.c, sent and judged by
 * play.c, compared by play_compare.c).
 */
#ifndef OFS_REPLAY_PLAY_H
#define OFS_REPLAY_PLAY_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "http.h"
#include "jsondiff.h"
#include "jsonl.h"
#include "strbuf.h"

struct play_xch;

/* Which answer a finished transfer carries. */
struct play_slot {
	struct play_xch *x;
	int side; /* 0 the target, 1 the secondary */
};

/*
 * One exchange: the parsed record (owned: rec; the other pointers point
 * into it unless said otherwise) and, once sent, the answers.
 */
struct play_xch {
	cJSON *rec;
	char *id;                 /* owned: the record's id, or FILE:LINE */
	const char *method;       /* upper case copy: owned */
	const char *path;         /* as recorded */
	char *sent_path;          /* owned: after --rewrite */
	char *endpoint;           /* owned */
	bool has_ts;
	int64_t ts_ns;
	const cJSON *req_headers; /* object or NULL */
	struct strbuf req_body;
	bool has_resp;            /* a recorded response to compare with */
	bool status_only;         /* it has no body (nginx): compare status only */
	long status;
	const cJSON *resp_headers; /* object or NULL */
	struct strbuf resp_body;
	int pending;
	struct http_response resp[2];
	struct play_slot slot[2];
};

/*
 * play_xch_parse: fill x from rec (taking ownership of rec on success);
 * returns 0, or -1 with the reason in err (rec still the caller's).
 * Records of another replay.* type give 1 (skip them quietly).
 */
int play_xch_parse(struct play_xch *x, cJSON *rec, const char *where, struct strbuf *err);
/* play_xch_free: free x and everything it owns (x itself too). */
void play_xch_free(struct play_xch *x);

/* The comparison settings. */
struct play_cmp {
	const char *const *ignore;
	size_t nignore;
	char **headers;            /* --compare-header names, lower case */
	size_t nheaders;
};

/*
 * play_compare: compare x's recorded answer with resp and call fn for
 * each difference, pointers rooted in a virtual document
 * {"status":..,"headers":{..},"body":..}. Returns the number of ignored
 * differences (under --ignore prefixes).
 */
size_t play_compare(const struct play_cmp *cmp, const struct play_xch *x,
		    const struct http_response *resp, jd_fn *fn, void *user);

#endif
