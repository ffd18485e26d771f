/*
 * mapspec.h: the spec of `ofs-replay map`, loaded and validated
 * completely before any record is read.
 *
 * A spec is a JSON object: {"drop_unknown": BOOL, "rules": [RULE...]}.
 * Each rule names one operation by a member whose value is the JSON
 * pointer of the field it works on, plus that operation's own members:
 *
 *   {"rename": PTR, "to": NAME}          a member renamed in place
 *   {"move": PTR, "to": PTR}             a field moved anywhere
 *   {"convert": PTR, "from": T, "to": T [, "scale": N]}
 *        T: string, number, boolean, cents, decimal, epoch_s, epoch_ms,
 *        epoch_us, rfc3339; pairs: string<->number, string<->boolean,
 *        cents<->decimal (decimal = cents / scale, default 100),
 *        epoch_*<->rfc3339
 *   {"compute": PTR, "template": "${/first} ${/last}"}
 *   {"default": PTR, "value": ANY}       set when absent
 *   {"enum": PTR, "values": [[FROM, TO], ...]}  scalars
 *   {"drop": PTR}
 *   {"keep": PTR}                        a field kept by drop_unknown
 *
 * Rules run in order. rename, move, convert, enum and keep can be
 * reversed (mapspec_reverse), compute, default and drop cannot.
 * Problems are gathered as "FILE: /rules/2/to: message" lines, all of
 * them, before the load fails.
 */
#ifndef OFS_REPLAY_MAPSPEC_H
#define OFS_REPLAY_MAPSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "config.h"
#include "vscan.h"

enum mr_op { MR_RENAME, MR_MOVE, MR_CONVERT, MR_COMPUTE, MR_DEFAULT, MR_ENUM, MR_DROP, MR_KEEP };

enum mr_type {
	MT_STRING,
	MT_NUMBER,
	MT_BOOLEAN,
	MT_CENTS,
	MT_DECIMAL,
	MT_EPOCH_S,
	MT_EPOCH_MS,
	MT_EPOCH_US,
	MT_RFC3339,
};

/* A piece of a compute template: literal text, or the value at a pointer. */
struct mr_piece {
	char *text; /* literal (when ptr.text is NULL) */
	struct vptr ptr;
};

struct mr_rule {
	enum mr_op op;
	char *where;       /* "/rules/3", for messages */
	struct vptr path;  /* the field worked on */
	struct vptr to;    /* rename and move: where it goes */
	enum mr_type from, into;
	double scale;
	struct mr_piece *pieces; /* compute */
	size_t npieces;
	cJSON *value;            /* default: owned */
	cJSON **pair_from, **pair_to; /* enum: owned */
	size_t npairs;
};

struct mapspec {
	char *file;
	struct mr_rule *rules;
	size_t n;
	bool drop_unknown;
};

/* mr_op_name, mr_type_name: the spec's words ("rename", "epoch_ms"). */
const char *mr_op_name(enum mr_op op);
const char *mr_type_name(enum mr_type t);

/*
 * mapspec_parse: validate the spec in text (len bytes; name for
 * messages) into *ms. Returns 0, or -1 with one line per problem
 * ("NAME: /rules/0/to: ...\n", or "NAME:LINE:COL: invalid JSON: ...")
 * appended to errors; *ms is then empty. Free with mapspec_free.
 */
int mapspec_parse(const char *name, const char *text, size_t len, struct mapspec *ms,
		  struct strbuf *errors);

/* mapspec_load: read path and mapspec_parse it; errors as above, or
 * "cannot open 'PATH': REASON". */
int mapspec_load(const char *path, struct mapspec *ms, struct strbuf *errors);

/*
 * mapspec_reverse: turn ms into its inverse (rules inverted, in reverse
 * order). Returns 0, or -1 with a line per rule that cannot be reversed
 * ("NAME: /rules/2: compute cannot be reversed") appended to errors, ms
 * then unchanged.
 */
int mapspec_reverse(struct mapspec *ms, struct strbuf *errors);

void mapspec_free(struct mapspec *ms);

#endif
