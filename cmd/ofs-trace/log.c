/*
 * log.c: `ofs-trace log LEVEL MESSAGE [key=value ...]`: structured
 * logging for shell scripts and cron jobs. One native log record carrying
 * the trace context of the environment (TRACEPARENT), so a script's lines
 * join the spans of the run they belong to.
 *
 * It also holds the small output helpers exec, span and log share
 * (prop.h): where records go, and appending them with one write each so
 * a nested exec writing to the same $OFS_TRACE_FILE never interleaves.
 */
#include "common.h"
#include <fcntl.h>

#include "out.h"
#include "prop.h"
#include "record.h"
#include "trace.h"

enum { LOPT_SERVICE = 1000 };

const struct opt log_opts[] = {
	{ LOPT_SERVICE, 0, "service", "name", "the service field (default $OFS_SERVICE)", NULL, 0 },
	{ 0 },
};

const char *prop_dest(const char *out)
{
	if (out && *out)
		return out;
	const char *env = getenv("OFS_TRACE_FILE");
	return env && *env ? env : NULL;
}

int prop_append(const char *path, const char *data, size_t len, struct strbuf *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sb_addf(err, "cannot write '%s': %s", path, strerror(n < 0 ? errno : EIO));
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	if (close(fd) < 0) {
		sb_addf(err, "cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static const char *skip_digits(const char *p)
{
	while (*p >= '0' && *p <= '9')
		p++;
	return p;
}

int prop_is_json_scalar(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null"))
		return 1;
	const char *p = s;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		p = skip_digits(p);
	else
		return 0;
	if (*p == '.') {
		const char *q = skip_digits(p + 1);
		if (q == p + 1)
			return 0;
		p = q;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		const char *q = skip_digits(p);
		if (q == p)
			return 0;
		p = q;
	}
	return *p == '\0';
}

void prop_put_value(struct jw *w, const char *s)
{
	if (prop_is_json_scalar(s))
		jw_raw(w, s, strlen(s));
	else
		jw_str(w, s);
}

cJSON *prop_value_json(const char *s)
{
	if (!strcmp(s, "true"))
		return cJSON_CreateTrue();
	if (!strcmp(s, "false"))
		return cJSON_CreateFalse();
	if (!strcmp(s, "null"))
		return cJSON_CreateNull();
	cJSON *v = prop_is_json_scalar(s) ? cJSON_CreateNumber(strtod(s, NULL)) : cJSON_CreateString(s);
	if (!v)
		die("out of memory");
	return v;
}

int prop_emit_span(const struct span *s, const char *dest, struct strbuf *err)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	span_write_native(&w, s);
	if (!dest) {
		out_record(out_stdout(), &sb);
		sb_release(&sb);
		return 0;
	}
	sb_addch(&sb, '\n');
	int rc = prop_append(dest, sb.buf, sb.len, err);
	sb_release(&sb);
	return rc;
}

void prop_free_attrs(struct span_attr *attrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(attrs[i].key);
		cJSON_Delete(attrs[i].value);
	}
	free(attrs);
}

static const char *const levels[] = { "debug", "info", "warn", "error", "fatal" };

static const char *const reserved[] = { "type", "ts", "trace_id", "span_id", "level",
					"service", "msg" };

int cmd_log(int argc, char **argv)
{
	struct opt_parser p;
	const char *service = NULL;
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE)
		if (c == LOPT_SERVICE)
			service = p.arg;
	char **ops;
	int n = opt_operands(&p, &ops);
	if (n < 2)
		opt_usage_error(&p, n ? "a message is required" : "a level and a message are required");
	const char *level = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		if (!strcmp(ops[0], levels[i]))
			level = levels[i];
	if (!level)
		opt_usage_error(&p, "invalid level '%s': must be debug, info, warn, error or fatal",
				ops[0]);
	for (int i = 2; i < n; i++) {
		const char *eq = strchr(ops[i], '=');
		if (!eq || eq == ops[i])
			opt_usage_error(&p, "invalid field '%s': must be key=value", ops[i]);
		for (size_t k = 0; k < ARRAY_SIZE(reserved); k++)
			if ((size_t)(eq - ops[i]) == strlen(reserved[k]) &&
			    !memcmp(ops[i], reserved[k], strlen(reserved[k])))
				opt_usage_error(&p, "invalid field '%s': '%s' is reserved", ops[i],
						reserved[k]);
		for (int j = 2; j < i; j++) {
			const char *eq2 = strchr(ops[j], '=');
			if (eq2 - ops[j] == eq - ops[i] && !memcmp(ops[i], ops[j], (size_t)(eq - ops[i])))
				opt_usage_error(&p, "field '%.*s' given twice", (int)(eq - ops[i]),
						ops[i]);
		}
	}
	if (!service) {
		const char *env = getenv("OFS_SERVICE");
		service = env && *env ? env : NULL;
	}

	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "log");
	jw_kv_str(&w, "level", level);
	if (service)
		jw_kv_str(&w, "service", service);
	jw_kv_str(&w, "msg", ops[1]);
	for (int i = 2; i < n; i++) {
		const char *eq = strchr(ops[i], '=');
		jw_keyn(&w, ops[i], (size_t)(eq - ops[i]));
		prop_put_value(&w, eq + 1);
	}
	jw_obj_end(&w);
	opt_end(&p);

	int status = EXIT_OK;
	const char *dest = prop_dest(NULL);
	if (dest) {
		struct strbuf err = SB_INIT;
		sb_addch(&sb, '\n');
		if (prop_append(dest, sb.buf, sb.len, &err) < 0) {
			error("%s", err.buf);
			status = EXIT_SYSTEM;
		}
		sb_release(&err);
	} else {
		out_record(out_stdout(), &sb);
	}
	sb_release(&sb);
	return status;
}
