/*
 * hlc.h: hybrid logical clocks and vector clocks, read from records and
 * compared, for reconciling event logs that diverged (ofs-replay
 * reconcile).
 *
 * A hybrid logical clock stamp is (l, c, node): l the physical time in
 * milliseconds the node had seen, c a counter that orders events within
 * one l, node the writer's name. Stamps are totally ordered by l, then c,
 * then node (bytewise), so every replica picks the same "last writer".
 * In records a stamp is either an object {"l": 1700000000000, "c": 0,
 * "node": "a"} or a string "1700000000000.0.a" (l and c decimal, the node
 * is everything after the second dot and may itself hold dots).
 *
 * A vector clock is an object mapping node names to non-negative integer
 * counters ({"a": 3, "b": 1}); a missing node counts 0. It orders events
 * only partially: one is before another when no counter is larger and
 * one is smaller; neither before the other (and not equal) is concurrent.
 */
#ifndef OFS_HLC_H
#define OFS_HLC_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "strbuf.h"

#define HLC_NODE_MAX 128

struct hlc {
	int64_t l;                   /* milliseconds, >= 0 */
	int64_t c;                   /* logical counter, >= 0 */
	char node[HLC_NODE_MAX + 1]; /* non-empty, NUL-terminated */
};

/*
 * hlc_parse: read v (an object or a string, as above) into *out. Returns
 * 0, or -1 with a reason appended to err (if not NULL): "hlc: 'l' must be
 * a whole number >= 0", "hlc: node must be 1..128 bytes", ... No
 * allocation beyond err.
 */
int hlc_parse(const cJSON *v, struct hlc *out, struct strbuf *err);

/* hlc_cmp: <0, 0 or >0 as a is before, the same stamp as, or after b. */
int hlc_cmp(const struct hlc *a, const struct hlc *b);

/* hlc_format: the string form "l.c.node" appended to sb. */
void hlc_format(struct strbuf *sb, const struct hlc *h);

enum vc_order { VC_EQUAL, VC_BEFORE, VC_AFTER, VC_CONCURRENT };

/* vc_valid: 0 if v is a vector clock (an object of whole numbers >= 0,
 * no duplicate node), else -1 with a reason appended to err. */
int vc_valid(const cJSON *v, struct strbuf *err);

/* vc_compare: how a stands to b (both must pass vc_valid). */
enum vc_order vc_compare(const cJSON *a, const cJSON *b);

/* vc_order_name: "equal", "before", "after", "concurrent". */
const char *vc_order_name(enum vc_order o);

#endif
