/*
 * toxic.c: the toxic model of `ofs-chaos proxy`: validation of a toxic's
 * JSON (from --toxic or a control request), its stored form, and the
 * per-connection roll that decides whether it applies.
 *
 * The types and attributes follow Toxiproxy's, so a toxic written for
 * Toxiproxy works unchanged: times are numbers of milliseconds (the
 * slicer's delay: microseconds), bandwidth is KB/s with Toxiproxy's
 * 1 KB = 1000 bytes. A time may also be a duration string ("250ms",
 * "1.5s"), as everywhere in ofs. Every mistake is reported with its JSON
 * pointer, all of them at once, and an unknown key gets a suggestion.
 */
#include "common.h"
#include <math.h>

#include "hash.h"
#include "toxic.h"
#include "units.h"

static const char *const type_names[TOX_NTYPES + 1] = {
	[TOX_LATENCY] = "latency",         [TOX_BANDWIDTH] = "bandwidth",
	[TOX_SLOW_CLOSE] = "slow_close",   [TOX_TIMEOUT] = "timeout",
	[TOX_RESET_PEER] = "reset_peer",   [TOX_SLICER] = "slicer",
	[TOX_LIMIT_DATA] = "limit_data",   [TOX_DOWN] = "down",
	[TOX_CLOSE_AFTER] = "close_after", [TOX_SLOW_CONNECT] = "slow_connect",
	[TOX_DROP] = "drop",               [TOX_NTYPES] = NULL,
};

static const char *const stream_names[] = { "upstream", "downstream", NULL };

/* The attributes of each type, in the order they are written. */
static const char *const attr_keys[TOX_NTYPES][4] = {
	[TOX_LATENCY] = { "latency", "jitter", NULL },
	[TOX_BANDWIDTH] = { "rate", NULL },
	[TOX_SLOW_CLOSE] = { "delay", NULL },
	[TOX_TIMEOUT] = { "timeout", NULL },
	[TOX_RESET_PEER] = { "timeout", NULL },
	[TOX_SLICER] = { "average_size", "size_variation", "delay", NULL },
	[TOX_LIMIT_DATA] = { "bytes", NULL },
	[TOX_DOWN] = { NULL },
	[TOX_CLOSE_AFTER] = { "timeout", NULL },
	[TOX_SLOW_CONNECT] = { "delay", NULL },
	[TOX_DROP] = { NULL },
};

#define NS_PER_MS 1000000LL
#define NS_PER_US 1000LL
/* Integers above 2^53 do not survive a JSON number. */
#define MAX_EXACT 9007199254740991LL

const char *toxic_type_name(enum toxic_type t)
{
	return t < TOX_NTYPES ? type_names[t] : "unknown";
}

const char *toxic_stream_name(enum toxic_stream s)
{
	return s == TOX_UPSTREAM ? "upstream" : "downstream";
}

/*
 * A time attribute: a number of units (ms or µs, fractions allowed) or a
 * duration string. Returns like the cfg getters (1 set, 0 absent, -1
 * error recorded).
 */
static int get_time(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		    bool required, int64_t unit_ns, const char *unit, int64_t *ns)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const char *vptr = cfg_ptr_key(cfg, ptr, key);
	if (!v) {
		if (required) {
			cfg_error(cfg, ptr, "missing required key '%s'", key);
			return -1;
		}
		return 0;
	}
	if (cJSON_IsString(v)) {
		struct strbuf err = SB_INIT;
		int64_t val;
		int r = dur_parse(v->valuestring, &val, &err);
		if (r == 0 && val > TOXIC_MAX_NS) {
			cfg_error(cfg, vptr, "must be at most 30d, got '%s'", v->valuestring);
			r = -1;
		} else if (r < 0) {
			cfg_error(cfg, vptr, "%s", err.buf);
		}
		sb_release(&err);
		if (r < 0)
			return -1;
		*ns = val;
		return 1;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
	    v->valuedouble * (double)unit_ns > (double)TOXIC_MAX_NS) {
		cfg_error(cfg, vptr,
			  "must be a number of %s >= 0 (at most 30 days) or a duration like \"250ms\"",
			  unit);
		return -1;
	}
	*ns = (int64_t)llround(v->valuedouble * (double)unit_ns);
	return 1;
}

static int get_count(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		     bool required, int64_t min, uint64_t *out)
{
	int64_t v;
	int r = cfg_get_int(cfg, obj, ptr, key, required, min, MAX_EXACT, &v);
	if (r == 1)
		*out = (uint64_t)v;
	return r;
}

static int check_name(struct cfg *cfg, const char *ptr, const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 128) {
		cfg_error(cfg, ptr, "must be 1 to 128 bytes long");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '/') {
			cfg_error(cfg, ptr, "must not contain '/' or control characters");
			return -1;
		}
	}
	return 0;
}

static int parse_attributes(struct cfg *cfg, const cJSON *a, const char *ptr, struct toxic *t)
{
	int before = cfg->nerrors;
	static const cJSON empty = { .type = cJSON_Object };
	if (!a)
		a = &empty;
	cfg_check_keys(cfg, a, ptr, attr_keys[t->type]);
	switch (t->type) {
	case TOX_LATENCY:
		get_time(cfg, a, ptr, "latency", true, NS_PER_MS, "milliseconds", &t->latency_ns);
		get_time(cfg, a, ptr, "jitter", false, NS_PER_MS, "milliseconds", &t->jitter_ns);
		break;
	case TOX_BANDWIDTH: {
		double rate = 0;
		int r = cfg_get_number(cfg, a, ptr, "rate", true, 0, 1e9, &rate);
		if (r == 1 && rate <= 0)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "rate"),
				  "must be greater than 0 (KB/s), got 0");
		t->rate_kbs = rate;
		break;
	}
	case TOX_SLOW_CLOSE:
	case TOX_SLOW_CONNECT:
		get_time(cfg, a, ptr, "delay", true, NS_PER_MS, "milliseconds", &t->delay_ns);
		break;
	case TOX_TIMEOUT:
	case TOX_RESET_PEER:
		get_time(cfg, a, ptr, "timeout", false, NS_PER_MS, "milliseconds", &t->timeout_ns);
		break;
	case TOX_CLOSE_AFTER:
		get_time(cfg, a, ptr, "timeout", true, NS_PER_MS, "milliseconds", &t->timeout_ns);
		break;
	case TOX_SLICER: {
		int r = get_count(cfg, a, ptr, "average_size", true, 1, &t->average_size);
		int s = get_count(cfg, a, ptr, "size_variation", false, 0, &t->size_variation);
		if (r == 1 && s >= 0 && t->size_variation >= t->average_size)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "size_variation"),
				  "must be less than average_size (%" PRIu64 "), got %" PRIu64,
				  t->average_size, t->size_variation);
		get_time(cfg, a, ptr, "delay", false, NS_PER_US, "microseconds", &t->delay_ns);
		break;
	}
	case TOX_LIMIT_DATA:
		get_count(cfg, a, ptr, "bytes", true, 0, &t->bytes);
		break;
	case TOX_DOWN:
	case TOX_DROP:
	case TOX_NTYPES:
		break;
	}
	return cfg->nerrors - before;
}

int toxic_parse(struct cfg *cfg, const cJSON *j, const char *ptr, struct toxic *t)
{
	static const char *const keys[] = { "name", "type", "stream", "toxicity", "attributes",
					    NULL };
	int before = cfg->nerrors;
	memset(t, 0, sizeof(*t));
	t->stream = TOX_DOWNSTREAM;
	t->toxicity = 1;
	if (!cJSON_IsObject(j)) {
		cfg_error(cfg, ptr, "must be an object, got %s", cfg_type_name(j));
		return cfg->nerrors - before;
	}
	cfg_check_keys(cfg, j, ptr, keys);
	int type = -1, stream = TOX_DOWNSTREAM;
	int rt = cfg_get_enum(cfg, j, ptr, "type", true, type_names, &type);
	cfg_get_enum(cfg, j, ptr, "stream", false, stream_names, &stream);
	t->stream = (enum toxic_stream)stream;
	cfg_get_number(cfg, j, ptr, "toxicity", false, 0, 1, &t->toxicity);
	const char *name = NULL;
	if (cfg_get_string(cfg, j, ptr, "name", false, &name) == 1)
		check_name(cfg, cfg_ptr_key(cfg, ptr, "name"), name);
	cJSON *attrs = NULL;
	int ra = cfg_get_object(cfg, j, ptr, "attributes", false, &attrs);
	if (rt == 1 && ra >= 0) {
		t->type = (enum toxic_type)type;
		parse_attributes(cfg, attrs, cfg_ptr_key(cfg, ptr, "attributes"), t);
	}
	if (cfg->nerrors > before)
		return cfg->nerrors - before;
	if (name)
		t->name = xstrdup(name);
	else
		t->name = xasprintf("%s_%s", toxic_type_name(t->type), toxic_stream_name(t->stream));
	return 0;
}

/* A time in the JSON unit: 100 (ms), 0.5 (ms), 1500 (µs). */
static double in_units(int64_t ns, int64_t unit_ns)
{
	return (double)ns / (double)unit_ns;
}

void toxic_write(struct jw *w, const struct toxic *t)
{
	jw_obj_begin(w);
	jw_kv_str(w, "name", t->name);
	jw_kv_str(w, "type", toxic_type_name(t->type));
	jw_kv_str(w, "stream", toxic_stream_name(t->stream));
	jw_kv_double(w, "toxicity", t->toxicity);
	jw_key(w, "attributes");
	jw_obj_begin(w);
	switch (t->type) {
	case TOX_LATENCY:
		jw_kv_double(w, "latency", in_units(t->latency_ns, NS_PER_MS));
		jw_kv_double(w, "jitter", in_units(t->jitter_ns, NS_PER_MS));
		break;
	case TOX_BANDWIDTH:
		jw_kv_double(w, "rate", t->rate_kbs);
		break;
	case TOX_SLOW_CLOSE:
	case TOX_SLOW_CONNECT:
		jw_kv_double(w, "delay", in_units(t->delay_ns, NS_PER_MS));
		break;
	case TOX_TIMEOUT:
	case TOX_RESET_PEER:
	case TOX_CLOSE_AFTER:
		jw_kv_double(w, "timeout", in_units(t->timeout_ns, NS_PER_MS));
		break;
	case TOX_SLICER:
		jw_kv_int(w, "average_size", (int64_t)t->average_size);
		jw_kv_int(w, "size_variation", (int64_t)t->size_variation);
		jw_kv_double(w, "delay", in_units(t->delay_ns, NS_PER_US));
		break;
	case TOX_LIMIT_DATA:
		jw_kv_int(w, "bytes", (int64_t)t->bytes);
		break;
	case TOX_DOWN:
	case TOX_DROP:
	case TOX_NTYPES:
		break;
	}
	jw_obj_end(w);
	jw_obj_end(w);
}

cJSON *toxic_to_json(const struct toxic *t)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	toxic_write(&w, t);
	cJSON *j = cJSON_ParseWithLength(sb.buf, sb.len);
	sb_release(&sb);
	if (!j)
		die("out of memory");
	return j;
}

void toxic_release(struct toxic *t)
{
	free(t->name);
	t->name = NULL;
}

uint64_t toxic_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

double toxic_roll(uint64_t seed, uint64_t conn, const char *name)
{
	uint64_t h = hash_bytes(name, strlen(name), seed);
	uint64_t x = toxic_mix(h ^ toxic_mix(conn ^ toxic_mix(seed)));
	return (double)(x >> 11) * 0x1.0p-53;
}
