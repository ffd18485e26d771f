/*
 * start.c: `ofs-saga start`: a new saga from a definition and its input.
 *
 * The definition is validated whole, then the data (the definition's
 * defaults, the input over them, and saga_id) is checked against every
 * `${name}` the steps use, so a saga that would fail on a missing value
 * at step three is refused before step one. Starting writes the
 * journal's first record, saga.started, holding a copy of the
 * definition: a running saga keeps the version it started with, however
 * the file changes later. A saga id given twice (--id, or "saga_id" in
 * an --inputs record) with the same definition and input is not started
 * again, so a cron job that retries a feed never doubles an order.
 */
#include "common.h"

#include "cmds.h"
#include "def.h"
#include "hash.h"
#include "engine.h"
#include "journal.h"
#include "jsonl.h"
#include "jw.h"
#include "lock.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "rnd.h"
#include "saga.h"
#include "sig.h"
#include "state.h"
#include "subst.h"
#include "tracectx.h"
#include "units.h"

struct start_opts {
	int concurrency;
	bool dry_run, wait;
	const char *id, *input, *inputs;
	struct ht *batch; /* with --wait: id -> its data, of the sagas queued so far */
};

/* The saga's data: defaults, input over them, saga_id. */
static cJSON *make_data(const struct saga_def *d, const cJSON *input, const char *id)
{
	cJSON *data = d->data ? cJSON_Duplicate(d->data, true) : cJSON_CreateObject();
	if (!data)
		die("out of memory");
	const cJSON *it;
	cJSON_ArrayForEach(it, input) {
		cJSON *c = cJSON_Duplicate(it, true);
		if (!c)
			die("out of memory");
		if (cJSON_HasObjectItem(data, it->string))
			cJSON_ReplaceItemInObjectCaseSensitive(data, it->string, c);
		else
			cJSON_AddItemToObject(data, it->string, c);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(data, "saga_id");
	cJSON_AddStringToObject(data, "saga_id", id);
	return data;
}

/* Every `${name}` of the definition must be in data; problems in err. */
static bool data_complete(const struct saga_def *d, const cJSON *data, struct strbuf *err)
{
	struct cfg scratch;
	cfg_init(&scratch, d->file);
	const char **known = xcalloc(d->nsteps + 1, sizeof(*known));
	for (size_t i = 0; i < d->nsteps; i++)
		known[i] = d->steps[i].name;
	for (size_t i = 0; i < d->nsteps; i++) {
		const struct saga_step *s = &d->steps[i];
		if (s->action.json)
			subst_check(&scratch, s->action.json, s->action.ptr, data, known);
		if (s->has_compensation && s->compensation.json)
			subst_check(&scratch, s->compensation.json, s->compensation.ptr, data, known);
	}
	free(known);
	bool ok = !scratch.nerrors;
	if (!ok)
		sb_addstr(err, scratch.errors.buf);
	sb_trim_eol(err);
	cfg_free(&scratch);
	return ok;
}

static char *new_id(const struct saga_def *d)
{
	uint8_t b[8];
	char hex[17];
	rnd_bytes(b, sizeof(b));
	return xasprintf("%s-%s", d->name, tc_hex(b, sizeof(b), hex));
}

enum made { MADE_ERROR = -1, MADE_NEW, MADE_EXISTS, MADE_CONFLICT, MADE_QUEUED };

/*
 * Start saga id: with wait, hand it to the engine (which writes its
 * saga.started with the other sagas' records and syncs them together);
 * without, write saga.started whole or not at all (a temporary file
 * renamed) and print the id. An id that exists with the same definition
 * and input is not started again (with wait it is driven on); with
 * another, it is a conflict.
 */
static enum made create(const char *dir, const char *id, const struct saga_def *d,
			const cJSON *data, bool wait, struct engine *e)
{
	struct strbuf err = SB_INIT;
	char *path = saga_journal_path(dir, id);
	char *lockp = xasprintf("%s/%s.lock", dir, id);
	enum made r = MADE_ERROR;
	struct strbuf line = SB_INIT;
	int fd = lock_acquire(lockp, 10000, &err);
	if (fd < 0) {
		error("saga '%s': %s", id, err.buf);
		goto done;
	}
	if (saga_exists(path)) {
		struct saga s;
		if (saga_load(path, &s, &err) < 0) {
			error("%s", err.buf);
			saga_free(&s);
			goto done;
		}
		bool same = cJSON_Compare(s.def.cfg.root, d->cfg.root, true) &&
			    cJSON_Compare(s.data, data, true);
		saga_free(&s);
		r = same ? MADE_EXISTS : MADE_CONFLICT;
		goto done;
	}
	struct jw w;
	jw_init(&w, &line);
	rec_begin(&w, "saga.started");
	jw_kv_str(&w, "saga", id);
	jw_kv_int(&w, "seq", 1);
	jw_kv_str(&w, "definition", d->name);
	jw_kv_int(&w, "version", d->version);
	jw_key(&w, "data");
	jw_cjson(&w, data);
	jw_key(&w, "spec");
	jw_cjson(&w, d->cfg.root);
	jw_obj_end(&w);
	if (wait) {
		engine_add_new(e, id, line.buf);
		r = MADE_NEW;
		goto done;
	}
	sb_addch(&line, '\n');
	if (state_write_atomic(path, line.buf, line.len, 0600, &err) < 0) {
		error("%s", err.buf);
		goto done;
	}
	r = MADE_NEW;
done:
	lock_release(fd);
	sb_release(&line);
	free(path);
	free(lockp);
	sb_release(&err);
	return r;
}

/* A copy of tmpl with every string filled in that the data alone can
 * fill; a string needing an earlier step's output stays as written. */
static cJSON *fill_known(const cJSON *tmpl, const cJSON *data)
{
	cJSON *v = NULL;
	if (cJSON_IsString(tmpl)) {
		struct strbuf err = SB_INIT;
		v = subst_apply(tmpl, data, NULL, &err);
		sb_release(&err);
	} else if (cJSON_IsArray(tmpl) || cJSON_IsObject(tmpl)) {
		v = cJSON_IsArray(tmpl) ? cJSON_CreateArray() : cJSON_CreateObject();
		const cJSON *it;
		cJSON_ArrayForEach(it, tmpl) {
			cJSON *c = fill_known(it, data);
			if (cJSON_IsArray(tmpl))
				cJSON_AddItemToArray(v, c);
			else
				cJSON_AddItemToObject(v, it->string, c);
		}
		return v;
	}
	if (!v)
		v = cJSON_Duplicate(tmpl, true);
	if (!v)
		die("out of memory");
	return v;
}

/* --dry-run: the steps as saga.plan records, templates filled where the
 * data allows (an `${out:...}` stays as written until the step runs). */
static void print_plan(const struct saga_def *d, const cJSON *data, const char *id)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	for (size_t i = 0; i < d->nsteps; i++) {
		const struct saga_step *s = &d->steps[i];
		jw_init(&w, &sb);
		rec_begin(&w, "saga.plan");
		jw_kv_str(&w, "saga", id);
		jw_kv_str(&w, "step", s->name);
		jw_kv_int(&w, "stage", (int64_t)s->stage + 1);
		jw_kv_int(&w, "stages", (int64_t)d->nstages);
		jw_kv_str(&w, "kind", saga_kind_names[s->kind]);
		if (s->service)
			jw_kv_str(&w, "service", s->service);
		if (s->is_wait) {
			jw_kv_str(&w, "wait_signal", s->signal);
		} else {
			const struct saga_call *calls[2] = { &s->action,
							     s->has_compensation ? &s->compensation
										 : NULL };
			const char *names[2] = { "action", "compensation" };
			for (int k = 0; k < 2; k++) {
				if (!calls[k] || !calls[k]->json)
					continue;
				cJSON *v = fill_known(calls[k]->json, data);
				jw_key(&w, names[k]);
				jw_cjson(&w, v);
				cJSON_Delete(v);
			}
		}
		rec_end(&w, out_stdout());
	}
	sb_release(&sb);
}

/* One saga of the input; returns 0, 1 (refused input) or -1 (system). */
static int start_one(const char *dir, const struct saga_def *d, const cJSON *input,
		     const char *given_id, const struct start_opts *o, struct engine *e,
		     struct strbuf *why)
{
	const cJSON *sid = cJSON_GetObjectItemCaseSensitive(input, "saga_id");
	char *id = given_id		? xstrdup(given_id)
		   : cJSON_IsString(sid) ? xstrdup(sid->valuestring)
					 : new_id(d);
	if (!saga_id_valid(id)) {
		sb_addf(why, "'%s' is not a saga id (1..128 letters, digits, '_', '.', '-')", id);
		free(id);
		return 1;
	}
	cJSON *data = make_data(d, input, id);
	struct strbuf err = SB_INIT;
	int r = 0;
	if (!data_complete(d, data, &err)) {
		sb_addstr(why, err.buf);
		r = 1;
	} else if (o->dry_run) {
		print_plan(d, data, id);
	} else {
		enum made m = MADE_ERROR;
		char *text = cJSON_PrintUnformatted(data);
		const char *seen = o->batch ? ht_get(o->batch, id) : NULL;
		if (!text)
			die("out of memory");
		if (seen) {
			/* The journal of a saga queued by this run is not written
			 * yet: compare with what was queued. */
			m = strcmp(seen, text) ? MADE_CONFLICT : MADE_EXISTS;
			if (m == MADE_EXISTS)
				m = MADE_QUEUED;
		} else {
			m = create(dir, id, d, data, o->wait, e);
			if (o->batch && m == MADE_NEW)
				ht_put(o->batch, id, xstrdup(text));
		}
		cJSON_free(text);
		if (m == MADE_EXISTS && o->wait)
			engine_add(e, id, PRE_NONE, NULL, NULL);
		if ((m == MADE_NEW || m == MADE_EXISTS) && !o->wait) {
			out_write(out_stdout(), id, strlen(id));
			out_write(out_stdout(), "\n", 1);
		}
		if (m == MADE_CONFLICT)
			sb_addf(why, "saga '%s' exists already with another definition or input", id);
		r = m == MADE_ERROR ? -1 : m == MADE_CONFLICT ? 1 : 0;
	}
	sb_release(&err);
	cJSON_Delete(data);
	free(id);
	return r;
}

static cJSON *parse_input(const char *text)
{
	struct cfg c;
	struct strbuf err = SB_INIT;
	if (cfg_parse_string("--input", text, strlen(text), &c, &err) < 0)
		die_usage("%s", err.buf);
	if (!cJSON_IsObject(c.root))
		die_usage("--input: must be a JSON object, got %s", cfg_type_name(c.root));
	cJSON *v = cJSON_Duplicate(c.root, true);
	cfg_free(&c);
	sb_release(&err);
	return v;
}

int saga_concurrency(const char *arg)
{
	long long n;
	struct strbuf err = SB_INIT;
	if (num_parse_int(arg, 1, 10000, &n, &err) < 0)
		opt_usage_error(NULL, "--concurrency: %s", err.buf);
	sb_release(&err);
	return (int)n;
}

int cmd_start(int argc, char **argv)
{
	struct start_opts o = { .concurrency = 16 };
	struct opt_parser op;
	int c;
	opt_begin(&op, argc, argv);
	while ((c = opt_next(&op)) != OPT_DONE) {
		switch (c) {
		case 'c':
			o.concurrency = saga_concurrency(op.arg);
			break;
		case GOPT_DRY_RUN:
			o.dry_run = true;
			break;
		case GOPT_ID:
			o.id = op.arg;
			break;
		case 'i':
			o.input = op.arg;
			break;
		case GOPT_INPUTS:
			o.inputs = op.arg;
			break;
		case 'w':
			o.wait = true;
			break;
		}
	}
	char **ops;
	int nops = opt_operands(&op, &ops);
	if (nops != 1)
		opt_usage_error(&op, nops ? "one definition at a time" : "no definition given");
	if (o.inputs && (o.input || o.id))
		opt_usage_error(&op, "--inputs takes each saga's input and id from its records");
	if (o.id && !saga_id_valid(o.id))
		opt_usage_error(&op, "--id: '%s' is not a saga id (1..128 letters, digits, '_', "
				     "'.', '-')", o.id);
	cJSON *input = o.input ? parse_input(o.input) : cJSON_CreateObject();
	struct saga_def d;
	if (def_load(ops[0], &d) < 0) {
		def_free(&d);
		cJSON_Delete(input);
		opt_end(&op);
		return EXIT_USAGE;
	}
	struct strbuf err = SB_INIT;
	struct jsonl_reader *rd = NULL;
	if (o.inputs && !(rd = jsonl_open(o.inputs, 0, &err))) {
		error("%s", err.buf);
		sb_release(&err);
		def_free(&d);
		cJSON_Delete(input);
		opt_end(&op);
		return EXIT_USAGE;
	}
	char *dir = o.dry_run ? xstrdup("") : saga_dir(true, &err);
	if (!dir)
		die("%s", err.buf);
	if (o.wait)
		sig_setup();
	struct engine *e = engine_new(dir, o.concurrency, false, false);
	if (o.wait)
		o.batch = ht_new();
	int status = EXIT_OK;
	if (!o.inputs) {
		struct strbuf why = SB_INIT;
		int r = start_one(dir, &d, input, o.id, &o, e, &why);
		if (why.len)
			error_lines(why.buf, why.len);
		sb_release(&why);
		status = r < 0 ? EXIT_SYSTEM : r > 0 ? EXIT_USAGE : EXIT_OK;
	} else {
		cJSON *rec;
		int got;
		while ((got = jsonl_next(rd, &rec)) > 0) {
			struct strbuf why = SB_INIT;
			int r = 2;
			if (!cJSON_IsObject(rec))
				jsonl_reject(rd, "not a JSON object");
			else
				r = start_one(dir, &d, rec, NULL, &o, e, &why);
			if (r == 1) {
				/* one line per rejected record */
				for (char *nl = strchr(why.buf, '\n'); nl; nl = strchr(nl, '\n'))
					*nl = ';', nl[1] == '\0' ? (void)(*nl = '\0') : (void)0;
				jsonl_reject(rd, "%s", why.buf);
			}
			if (r < 0)
				status = EXIT_SYSTEM;
			sb_release(&why);
			cJSON_Delete(rec);
		}
		jsonl_close(rd);
		int js = jsonl_exit_status(EXIT_OK);
		status = status > js ? status : js;
	}
	if (o.wait) {
		int es = engine_run(e);
		status = status > es ? status : es;
	}
	engine_free(e);
	if (o.batch)
		ht_free(o.batch, free);
	free(dir);
	sb_release(&err);
	def_free(&d);
	cJSON_Delete(input);
	opt_end(&op);
	return status;
}
