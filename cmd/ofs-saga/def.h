/*
 * def.h: a saga definition, loaded and validated completely before
 * anything runs.
 *
 * A definition is a JSON object (ofs-saga(1), DEFINITION): a name, a
 * version, default data, and ordered steps, each an action with an
 * optional compensation (an HTTP call or a command), a kind
 * (compensatable, pivot, retriable), a retry policy and a timeout, or a
 * wait for a named signal with a deadline. A group of steps written as
 * {"parallel": [...]} runs at once and is one stage. Every problem is
 * reported with its JSON pointer, then the load fails, so nothing runs
 * on a half-valid definition.
 *
 * The loaded form keeps the action and compensation as their JSON (the
 * templates), since `${...}` is filled in at each call from the saga's
 * data and the outputs of earlier steps (subst.h).
 */
#ifndef OFS_SAGA_DEF_H
#define OFS_SAGA_DEF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "config.h"

enum saga_kind { KIND_COMPENSATABLE, KIND_PIVOT, KIND_RETRIABLE };

struct saga_retry {
	int attempts;	      /* attempts in all, the first included; 0: until success */
	int64_t interval_ns;  /* wait before the first retry */
	double backoff;	      /* each wait is the last times this */
	int64_t max_interval_ns;
	bool jitter;	      /* full jitter: a uniform wait in [0, computed] */
	int *non_retryable;   /* HTTP statuses or exit codes that end the step at once */
	size_t n_non_retryable;
	bool explicit_non_retryable; /* given in the definition (else the default) */
};

/* How a call is made: exactly one of url (HTTP) and argv/shell (command). */
struct saga_call {
	const cJSON *json;    /* the call's object in the definition (template) */
	const char *ptr;      /* its JSON pointer, for messages */
	const char *url;      /* HTTP: the URL template */
	const char *method;   /* HTTP: default POST */
	const cJSON *headers; /* HTTP: object of string templates, or NULL */
	const cJSON *body;    /* HTTP: any JSON template, or NULL (no body) */
	const cJSON *argv;    /* command: array of string templates */
	const char *shell;    /* command: a /bin/sh -c script (no templates) */
	int64_t timeout_ns;   /* per attempt */
	struct saga_retry retry;
};

struct saga_step {
	const char *name;
	const char *ptr; /* "/steps/2" or "/steps/3/parallel/0" */
	size_t stage;	 /* index of its stage (a step or a parallel group) */
	enum saga_kind kind;
	const char *service; /* what it touches, for graph and lint; may be NULL */
	bool idempotent;     /* declared safe to repeat (default true) */
	bool is_wait;
	struct saga_call action;       /* not for a wait step */
	struct saga_call compensation; /* has_compensation */
	bool has_compensation;
	/* wait steps */
	const char *signal;
	int64_t wait_timeout_ns; /* 0: no deadline */
	bool timeout_continues;	 /* on_timeout "continue" (else compensate) */
};

struct saga_def {
	struct cfg cfg; /* the document and its errors */
	const char *file;
	const char *name;
	int64_t version;
	const char *description;
	const cJSON *data; /* default data (object) or NULL */
	struct saga_step *steps;
	size_t nsteps;
	size_t nstages;
	ssize_t pivot; /* index into steps, -1: none */
	/* stage s holds steps [stage_first[s], stage_first[s + 1]) */
	size_t *stage_first;
};

/* The kinds' names, in enum order, NULL-terminated. */
extern const char *const saga_kind_names[];

/*
 * def_load: read and validate path. Returns 0, or -1 after printing
 * every problem ("FILE: POINTER: message") on stderr; *d must be freed
 * with def_free either way.
 */
int def_load(const char *path, struct saga_def *d);

/*
 * def_from_json: the same for a definition already parsed (a journal's
 * copy), named name in messages; root is copied. Problems go to err.
 */
int def_from_json(const cJSON *root, const char *name, struct saga_def *d,
		  struct strbuf *err);

/* def_free: release everything d holds. */
void def_free(struct saga_def *d);

/* def_find: the index of the step called name, or -1. */
ssize_t def_find(const struct saga_def *d, const char *name);

/* def_stage_of_pivot: the pivot's stage, or nstages when there is none. */
size_t def_pivot_stage(const struct saga_def *d);

#endif
