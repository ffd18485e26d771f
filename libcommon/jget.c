/*
 * jget.c: typed reads of one member of a parsed JSON object (jget.h),
 * shared by the readers of journals, state files and records ofs wrote.
 */
#include "common.h"
#include <math.h>

#include "jget.h"

const char *jget_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double jget_num(const cJSON *o, const char *key, double dflt)
{
	const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

int64_t jget_int(const cJSON *o, const char *key, int64_t dflt)
{
	double d = jget_num(o, key, NAN);
	/* -2^63 and 2^63 are exact doubles; NaN fails both tests */
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return dflt;
	return (int64_t)d;
}
