/*
 * test_jw.c: the JSON writer writes exactly the text the rules in jw.h
 * promise, and what it writes reads back through cJSON unchanged.
 */
#include "common.h"
#include <math.h>

#include "jw.h"
#include "rnd.h"
#include "tap.h"

static const char *escape(const char *s, size_t len, struct strbuf *sb)
{
	sb_reset(sb);
	jw_escape(sb, s, len);
	return sb->buf;
}

static void test_escaping(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
		const char *name;
	} cases[] = {
		{ "plain", 5, "\"plain\"", "plain ASCII is copied" },
		{ "", 0, "\"\"", "empty string" },
		{ "a\"b\\c", 5, "\"a\\\"b\\\\c\"", "quote and backslash are escaped" },
		{ "\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"", "short escapes for the usual controls" },
		{ "\x01\x1f", 2, "\"\\u0001\\u001f\"", "other controls as \\u00XX" },
		{ "nul\0byte", 8, "\"nul\\u0000byte\"", "an embedded NUL is escaped, not a terminator" },
		{ "\x7f/", 2, "\"\x7f/\"", "DEL and slash pass through" },
		{ "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"", "two-byte UTF-8 kept" },
		{ "\xe2\x82\xac", 3, "\"\xe2\x82\xac\"", "three-byte UTF-8 kept" },
		{ "\xf0\x9f\x9a\x80", 4, "\"\xf0\x9f\x9a\x80\"", "four-byte UTF-8 kept" },
		{ "\xff", 1, "\"\xef\xbf\xbd\"", "an invalid byte becomes U+FFFD" },
		{ "a\x80z", 3, "\"a\xef\xbf\xbdz\"", "a stray continuation byte becomes U+FFFD" },
		{ "\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"", "an overlong form is two replacements" },
		{ "\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
		  "a UTF-16 surrogate is rejected byte by byte" },
		{ "\xf4\x90\x80\x80", 4, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
		  "past U+10FFFF is rejected" },
		{ "\xe2\x82", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"", "a truncated sequence at the end" },
		{ "\xe2\x82x", 3, "\"\xef\xbf\xbd\xef\xbf\xbdx\"", "a truncated sequence mid-string" },
	};
	struct strbuf sb = SB_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_str(escape(cases[i].in, cases[i].len, &sb), cases[i].want, cases[i].name);
	sb_release(&sb);
}

static void test_structure(void)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	jw_obj_begin(&w);
	jw_kv_str(&w, "type", "span");
	jw_kv_int(&w, "n", -42);
	jw_kv_double(&w, "latency_ms", 12.5);
	jw_kv_bool(&w, "ok", true);
	jw_key(&w, "tags");
	jw_arr_begin(&w);
	jw_str(&w, "a");
	jw_null(&w);
	jw_arr_begin(&w);
	jw_arr_end(&w);
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_arr_end(&w);
	jw_key(&w, "raw");
	jw_raw(&w, "[1,2]", 5);
	jw_key(&w, "nan");
	jw_double(&w, NAN);
	jw_key(&w, "ns");
	jw_int_str(&w, INT64_MAX);
	jw_key(&w, "s");
	jw_str(&w, NULL);
	jw_obj_end(&w);
	ok(jw_done(&w), "every object and array is closed");
	is_str(sb.buf,
	       "{\"type\":\"span\",\"n\":-42,\"latency_ms\":12.5,\"ok\":true,"
	       "\"tags\":[\"a\",null,[],{}],\"raw\":[1,2],\"nan\":null,"
	       "\"ns\":\"9223372036854775807\",\"s\":null}",
	       "nested objects and arrays with commas in the right places");
	sb_release(&sb);
}

static void test_integers(void)
{
	static const int64_t vals[] = { 0, 1, -1, 9, 10, 99, 100, 12345678901234LL,
					9007199254740993LL, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	char buf[32], want[32];
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		jw_format_int(vals[i], buf);
		snprintf(want, sizeof(want), "%" PRId64, vals[i]);
		is_str(buf, want, "integer text is exact");
	}
	/* int64 extremes through cJSON: the text is exact and cJSON reads the
	 * nearest double; as a string (jw_int_str) it reads back exactly. */
	struct strbuf sb = SB_INIT;
	struct jw w;
	for (int k = 0; k < 2; k++) {
		int64_t v = k ? INT64_MIN : INT64_MAX;
		sb_reset(&sb);
		jw_init(&w, &sb);
		jw_obj_begin(&w);
		jw_kv_int(&w, "n", v);
		jw_key(&w, "s");
		jw_int_str(&w, v);
		jw_obj_end(&w);
		cJSON *o = cJSON_Parse(sb.buf);
		ok(o != NULL, "int64 extreme %d parses", k);
		if (o) {
			is_double(cJSON_GetObjectItem(o, "n")->valuedouble, (double)v, 0,
				  "as a number it reads as the nearest double");
			const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, "s"));
			char *end;
			errno = 0;
			long long back = s ? strtoll(s, &end, 10) : 0;
			ok(s && !*end && errno == 0 && back == v, "as a string it reads back exactly");
			cJSON_Delete(o);
		}
	}
	sb_release(&sb);
}

static void test_doubles(void)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0.0, "0" }, { 1.0, "1" }, { -2.0, "-2" }, { 0.5, "0.5" }, { 0.1, "0.1" },
		{ 12.5, "12.5" }, { 1e300, "1e+300" }, { 1e21, "1e+21" },
		{ 9007199254740992.0, "9007199254740992" }, { 123.456, "123.456" },
		{ 0.3, "0.3" }, { 2.0 / 3.0, "0.6666666666666666" }, { 5e-324, "5e-324" },
		{ 73820224240109328.0, "7.382022424010933e+16" }, { -1.5e-7, "-1.5e-07" },
		{ 0.0001, "0.0001" }, { 0.00012, "0.00012" }, { -3.000001, "-3.000001" },
		{ 999999999.5, "999999999.5" }, { 0.1 + 0.2, "0.30000000000000004" },
		{ 1234.0625, "1234.0625" }, { 1e-5, "1e-05" },
	};
	char buf[40];
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = jw_format_double(cases[i].v, buf);
		ok(n == strlen(buf), "length matches for %s", cases[i].want);
		is_str(buf, cases[i].want, "shortest round-trip text");
	}
	is_int((long long)jw_format_double(INFINITY, buf), 0, "infinity has no JSON text");

	/* Shortest means: the text %.Pg gives for the least P that reads back. */
	rnd_seed(7);
	int bad = 0, not_shortest = 0;
	for (int i = 0; i < 50000; i++) {
		uint64_t bits = rnd_u64();
		double v;
		memcpy(&v, &bits, sizeof(v));
		if (!isfinite(v))
			continue;
		jw_format_double(v, buf);
		if (strtod(buf, NULL) != v)
			bad++;
		char ref[40];
		for (int p = 1; p <= 17; p++) {
			snprintf(ref, sizeof(ref), "%.*g", p, v);
			if (strtod(ref, NULL) == v)
				break;
		}
		if (strcmp(ref, buf) && !(fabs(v) < 9007199254740992.0 && v == trunc(v)))
			not_shortest++;
	}
	/* and decimals of the kind latencies are made of */
	for (int i = 0; i < 50000; i++) {
		double v = (double)(int64_t)rnd_below(100000000) / pow(10, (double)rnd_below(8));
		if (rnd_below(2))
			v = -v;
		jw_format_double(v, buf);
		if (strtod(buf, NULL) != v)
			bad++;
		char ref[40];
		for (int p = 1; p <= 17; p++) {
			snprintf(ref, sizeof(ref), "%.*g", p, v);
			if (strtod(ref, NULL) == v)
				break;
		}
		if (strcmp(ref, buf) && !(fabs(v) < 9007199254740992.0 && v == trunc(v)))
			not_shortest++;
	}
	is_int(bad, 0, "50000 random doubles read back exactly");
	is_int(not_shortest, 0, "each is the shortest text that reads back");
}

static void test_roundtrip_cjson(void)
{
	static const char *tricky[] = {
		"", "\"", "\\", "\\\"", "\"\\\"\\", "line\nbreak", "tab\tand\rreturn",
		"\x01\x02\x03\x1e\x1f", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x80", "</script>",
		"\xe2\x80\xa8\xe2\x80\xa9", "{\"json\":[1,2]}", "\\u0041",
	};
	struct strbuf sb = SB_INIT;
	int failures = 0;
	for (size_t i = 0; i < ARRAY_SIZE(tricky); i++) {
		sb_reset(&sb);
		struct jw w;
		jw_init(&w, &sb);
		jw_obj_begin(&w);
		jw_kv_str(&w, tricky[i], tricky[i]);
		jw_obj_end(&w);
		cJSON *o = cJSON_Parse(sb.buf);
		const char *v = o && o->child ? cJSON_GetStringValue(o->child) : NULL;
		if (!v || strcmp(v, tricky[i]) || strcmp(o->child->string, tricky[i]))
			failures++;
		cJSON_Delete(o);
	}
	is_int(failures, 0, "tricky strings round-trip as keys and values through cJSON");

	rnd_seed(11);
	int unparsable = 0, changed = 0;
	char in[64];
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)rnd_below(sizeof(in));
		for (size_t k = 0; k < len; k++) {
			/* bias toward interesting bytes */
			uint64_t r = rnd_below(10);
			in[k] = r < 3 ? (char)(0x80 + rnd_below(0x80))
			      : r < 5 ? (char)rnd_below(0x20)
			      : r < 6 ? "\"\\"[rnd_below(2)] : (char)(0x20 + rnd_below(0x5f));
			if (!in[k])
				in[k] = 1;
		}
		sb_reset(&sb);
		jw_escape(&sb, in, len);
		cJSON *v = cJSON_ParseWithLength(sb.buf, sb.len);
		if (!v || !cJSON_IsString(v)) {
			unparsable++;
		} else {
			/* Valid UTF-8 input must come back byte for byte. */
			bool valid = true;
			struct strbuf again = SB_INIT;
			jw_escape(&again, v->valuestring, strlen(v->valuestring));
			if (strcmp(again.buf, sb.buf))
				changed++; /* escaping is idempotent on its own output */
			sb_release(&again);
			for (size_t k = 0; k < len; k++)
				if ((unsigned char)in[k] >= 0x80)
					valid = false;
			if (valid && (strlen(v->valuestring) != len || memcmp(v->valuestring, in, len)))
				changed++;
		}
		cJSON_Delete(v);
	}
	is_int(unparsable, 0, "20000 random byte strings always give valid JSON strings");
	is_int(changed, 0, "decoded text re-escapes identically; ASCII reads back exactly");
	sb_release(&sb);
}

static void test_passthrough(void)
{
	const char *in = "{\"a\":1,\"b\":[true,false,null,\"x\\ny\"],\"c\":{\"d\":-0.25}}";
	cJSON *o = cJSON_Parse(in);
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	jw_cjson(&w, o);
	is_str(sb.buf, in, "a cJSON tree is written back unchanged");
	cJSON_Delete(o);
	sb_release(&sb);
}

int main(void)
{
	test_escaping();
	test_structure();
	test_integers();
	test_doubles();
	test_roundtrip_cjson();
	test_passthrough();
	return tap_done();
}
