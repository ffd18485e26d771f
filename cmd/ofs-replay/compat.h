/*
 * compat.h: whether one JSON Schema can stand in for another, under the
 * seven compatibility modes of the Confluent Schema Registry.
 *
 * The question underneath every mode is one: can a reader holding schema
 * R accept every record a writer holding schema W may produce? BACKWARD
 * asks it with R = the new schema and W = the latest old one (new readers
 * read old data), FORWARD the other way round, FULL both; the transitive
 * modes ask it of every older version, NONE never asks. The answer is a
 * list of problems, each with the schema pointer where it was found, a
 * rule name, a message and the direction that failed.
 */
#ifndef OFS_REPLAY_COMPAT_H
#define OFS_REPLAY_COMPAT_H

#include <stdbool.h>
#include <stddef.h>

#include "jschema.h"

enum compat_mode {
	COMPAT_BACKWARD,
	COMPAT_BACKWARD_TRANSITIVE,
	COMPAT_FORWARD,
	COMPAT_FORWARD_TRANSITIVE,
	COMPAT_FULL,
	COMPAT_FULL_TRANSITIVE,
	COMPAT_NONE,
};

/* compat_mode_parse: the mode named s (upper case, as Confluent spells
 * it); -1 if none is. compat_mode_name: the name of mode. */
int compat_mode_parse(const char *s);
const char *compat_mode_name(enum compat_mode mode);

/* One problem; the strings are valid only during the callback. old is the
 * index of the old schema it concerns. */
struct compat_problem {
	const char *direction; /* "backward" or "forward" */
	const char *pointer;   /* in the reader's schema, or the writer's when the reader has none */
	const char *rule;      /* "required-added", "type-narrowed", ... */
	const char *message;
	size_t old;
};
typedef void compat_fn(const struct compat_problem *p, void *user);

/*
 * compat_check: the problems of the new schema against olds[0..nold-1]
 * (oldest first; the last one is "the latest") under mode, reported to fn
 * (may be NULL). Returns how many there were: 0 means compatible.
 */
size_t compat_check(enum compat_mode mode, const struct jschema *const *olds, size_t nold,
		    const struct jschema *new_schema, compat_fn *fn, void *user);

#endif
