/*
 * bench_jw.c: the record writer against cJSON on the same records.
 *
 * Builds N span-like records (about 270 bytes each, the shape DESIGN.md
 * measures) two ways: streaming with jw into a reused buffer, and by
 * building a cJSON tree, cJSON_PrintUnformatted and freeing both. Both
 * outputs are checksummed so neither loop can be optimised away, and the
 * two texts are compared for the first record. Prints one line per side
 * and the ratio, in the format of tests/bench/lib.sh.
 */
#include "common.h"
#include <time.h>

#include "jw.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *services[] = { "gateway", "orders", "payments", "inventory", "shipping" };
static const char *ops[] = { "POST /orders", "GET /health", "POST /charge", "POST /reserve" };

static void with_jw(struct strbuf *sb, int i)
{
	struct jw w;
	jw_init(&w, sb);
	jw_obj_begin(&w);
	jw_kv_str(&w, "type", "span");
	jw_kv_str(&w, "ts", "2026-11-22T02:31:00.123456Z");
	jw_kv_str(&w, "trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
	jw_kv_str(&w, "span_id", "00f067aa0ba902b7");
	jw_kv_str(&w, "parent_span_id", "53995c3f42cd8ad8");
	jw_kv_str(&w, "service", services[i % 5]);
	jw_kv_str(&w, "name", ops[i % 4]);
	jw_kv_str(&w, "kind", "server");
	jw_kv_double(&w, "duration_ms", 12.25 + (i % 1000));
	jw_kv_int(&w, "status_code", 200);
	jw_kv_bool(&w, "error", i % 50 == 0);
	jw_key(&w, "attributes");
	jw_obj_begin(&w);
	jw_kv_str(&w, "http.method", "POST");
	jw_kv_str(&w, "http.route", "/orders/{id}");
	jw_kv_int(&w, "order.items", i % 7);
	jw_obj_end(&w);
	jw_obj_end(&w);
}

static char *with_cjson(int i)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "span");
	cJSON_AddStringToObject(o, "ts", "2026-11-22T02:31:00.123456Z");
	cJSON_AddStringToObject(o, "trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
	cJSON_AddStringToObject(o, "span_id", "00f067aa0ba902b7");
	cJSON_AddStringToObject(o, "parent_span_id", "53995c3f42cd8ad8");
	cJSON_AddStringToObject(o, "service", services[i % 5]);
	cJSON_AddStringToObject(o, "name", ops[i % 4]);
	cJSON_AddStringToObject(o, "kind", "server");
	cJSON_AddNumberToObject(o, "duration_ms", 12.25 + (i % 1000));
	cJSON_AddNumberToObject(o, "status_code", 200);
	cJSON_AddBoolToObject(o, "error", i % 50 == 0);
	cJSON *a = cJSON_AddObjectToObject(o, "attributes");
	cJSON_AddStringToObject(a, "http.method", "POST");
	cJSON_AddStringToObject(a, "http.route", "/orders/{id}");
	cJSON_AddNumberToObject(a, "order.items", i % 7);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

int main(int argc, char **argv)
{
	long n = 1000000;
	if (argc > 1) {
		char *end;
		n = strtol(argv[1], &end, 10);
		if (*end || n <= 0)
			die_usage("usage: bench_jw [records]");
	}
	/* Same text both ways, or the comparison means nothing. */
	struct strbuf sb = SB_INIT;
	with_jw(&sb, 1);
	char *ref = with_cjson(1);
	if (strcmp(sb.buf, ref))
		die("outputs differ:\n  jw:    %s\n  cJSON: %s", sb.buf, ref);
	size_t rec_len = sb.len;
	free(ref);

	unsigned long sum1 = 0, sum2 = 0;
	double t0 = now();
	for (long i = 0; i < n; i++) {
		sb_reset(&sb);
		with_jw(&sb, (int)i);
		sum1 += sb.len + (unsigned char)sb.buf[sb.len / 2];
	}
	double t_jw = now() - t0;

	t0 = now();
	for (long i = 0; i < n; i++) {
		char *s = with_cjson((int)i);
		size_t len = strlen(s);
		sum2 += len + (unsigned char)s[len / 2];
		free(s);
	}
	double t_cjson = now() - t0;
	if (sum1 != sum2)
		die("checksums differ: %lu vs %lu", sum1, sum2);

	printf("json writer: %ld records of ~%zu bytes\n", n, rec_len);
	printf("  ofs jw                    %8.3f s  %10.0f records/s\n", t_jw, (double)n / t_jw);
	printf("  cJSON build+print         %8.3f s  %10.0f records/s\n", t_cjson,
	       (double)n / t_cjson);
	printf("  ratio (peer / ofs)        %8.2fx %s\n", t_cjson / t_jw,
	       t_cjson / t_jw >= 3 ? "(target >= 3x: met)" : "(target >= 3x: NOT met)");
	sb_release(&sb);
	return 0;
}
