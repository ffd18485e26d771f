/*
 * jget.h: typed reads of one member of a parsed JSON object, for records
 * and state files ofs wrote itself, where a missing or mistyped member
 * simply means "not there" (inputs from users go through config.h, which
 * reports what is wrong with its JSON pointer).
 *
 * Every function accepts any node (NULL, not an object: the member is
 * absent) and allocates nothing.
 */
#ifndef OFS_JGET_H
#define OFS_JGET_H

#include <stdint.h>

#include <cJSON.h>

/* jget_str: the string member key of o, or NULL; owned by o. */
const char *jget_str(const cJSON *o, const char *key);
/* jget_num: the number member key of o, or dflt. */
double jget_num(const cJSON *o, const char *key, double dflt);
/* jget_int: the number member key of o truncated toward zero, or dflt
 * (also for a number outside the int64_t range, and for NaN). */
int64_t jget_int(const cJSON *o, const char *key, int64_t dflt);

#endif
