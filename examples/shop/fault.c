/*
 * fault.c: parsing and showing the fault switches (see fault.h). The
 * body is validated with config.h, so a bad switch is answered with the
 * same kind of message a bad config file gets: the JSON pointer and what
 * was expected.
 */
#include "common.h"

#include "config.h"
#include "fault.h"
#include "shopd.h"

static const char *const fault_keys[] = { "status", "times", "latency_ms", "hang", "exit",
						  "health", NULL };
static const char *const health_values[] = { "ok", "fail", NULL };

void shop_fault_clear(struct shop_fault *f)
{
	memset(f, 0, sizeof(*f));
	f->exit_code = -1;
}

int shop_fault_apply(struct shop_fault *f, const char *body, size_t len, struct strbuf *err)
{
	struct cfg cfg;
	if (len == 0) {
		sb_addstr(err, "fault: the body must be a JSON object of switches, got nothing");
		return -1;
	}
	if (cfg_parse_string("fault", body, len, &cfg, err) < 0) {
		cfg_free(&cfg);
		return -1;
	}
	struct shop_fault n = *f;
	cJSON *root = cfg_root_object(&cfg);
	if (root) {
		cfg_check_keys(&cfg, root, "", fault_keys);
		int64_t v, times = 0;
		int has_status = cfg_get_int(&cfg, root, "", "status", false, 0, 599, &v);
		if (has_status == 1) {
			if (v != 0 && v < 400)
				cfg_error(&cfg, "/status", "must be 0 (off) or 400..599, got %d",
					  (int)v);
			n.status = (int)v;
			n.times = 0; /* a status set anew lasts until cleared... */
		}
		int has_times = cfg_get_int(&cfg, root, "", "times", false, 1, 1000000, &times);
		if (has_times == 1) {
			if (has_status >= 0 && !n.status)
				cfg_error(&cfg, "/times",
					  "counts answers of the status fault, which is off");
			n.times = (long)times; /* ...unless counted */
		}
		if (!n.status)
			n.times = 0;
		if (cfg_get_int(&cfg, root, "", "latency_ms", false, 0, 600000, &v) == 1)
			n.latency_ms = (int)v;
		cfg_get_bool(&cfg, root, "", "hang", false, &n.hang);
		if (cfg_get_int(&cfg, root, "", "exit", false, 0, 255, &v) == 1)
			n.exit_code = (int)v;
		int h;
		if (cfg_get_enum(&cfg, root, "", "health", false, health_values, &h) == 1)
			n.health_fail = h == 1;
	}
	int r = 0;
	if (cfg.nerrors) {
		shop_cfg_errors(&cfg, err);
		r = -1;
	} else {
		*f = n;
	}
	cfg_free(&cfg);
	return r;
}

int shop_fault_status(struct shop_fault *f)
{
	int status = f->status;
	if (status && f->times > 0 && --f->times == 0)
		f->status = 0;
	return status;
}

void shop_fault_write(const struct shop_fault *f, struct jw *w)
{
	jw_obj_begin(w);
	jw_key(w, "status");
	if (f->status)
		jw_int(w, f->status);
	else
		jw_null(w);
	jw_key(w, "times");
	if (f->status && f->times)
		jw_int(w, f->times);
	else
		jw_null(w);
	jw_kv_int(w, "latency_ms", f->latency_ms);
	jw_kv_bool(w, "hang", f->hang);
	jw_key(w, "exit");
	if (f->exit_code >= 0)
		jw_int(w, f->exit_code);
	else
		jw_null(w);
	jw_kv_str(w, "health", f->health_fail ? "fail" : "ok");
	jw_obj_end(w);
}
