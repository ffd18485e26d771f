/*
 * subst.h: `${...}` substitution in JSON values, shared by ofs-chaos
 * (experiment configuration and activity outputs), ofs-deploy's
 * analysis gates and ofs-saga's step arguments.
 *
 * In every string of a value (object keys excepted):
 *   ${name}                 the configuration value name
 *   ${out:ACTIVITY/POINTER} the value at POINTER (RFC 6901) in the output
 *                           of the activity named ACTIVITY (no POINTER:
 *                           the whole output). ACTIVITY ends at the first
 *                           '/', so a name used here cannot hold one.
 *   $${                     a literal "${"
 * A name is everything up to the first '}'. A '$' not followed by '{'
 * is itself.
 */
#ifndef OFS_SUBST_H
#define OFS_SUBST_H

#include <stdbool.h>

#include <cJSON.h>

#include "config.h"
#include "strbuf.h"

/*
 * subst_apply: a deep copy of in with every `${...}` in every string
 * (object keys excepted) replaced:
 *   ${name}                 the configuration value name
 *   ${out:ACTIVITY/POINTER} the value at POINTER (RFC 6901) in the output
 *                           of the last run of the activity named ACTIVITY
 *                           (no POINTER: the whole output)
 * A string that is exactly one `${...}` takes the value's own JSON type
 * (a number stays a number); inside a longer string a value is spliced as
 * text (strings as they are, numbers shortest, true/false/null, objects
 * and arrays as compact JSON). `$${` is a literal `${`. config and
 * outputs are objects (name -> value). Returns the copy (caller frees
 * with cJSON_Delete) or NULL with "'${out:kill/pid}': activity 'kill'
 * has not run" style reasons in err.
 *
 * Details: config or outputs may be NULL (nothing is known). Every
 * problem in in is reported, joined by "; ", and nothing is returned:
 *   '${port}': no configuration value 'port'
 *   '${out:kill/pid}': activity 'kill' has not run
 *   '${out:kill/pid}': no value at '/pid' in the output of 'kill'
 *   '${out:/pid}': no activity name
 *   '${}': empty name
 *   unterminated '${' in 'http://${host'
 */
cJSON *subst_apply(const cJSON *in, const cJSON *config, const cJSON *outputs,
		   struct strbuf *err);

/*
 * subst_check: at load: record with cfg_error every `${...}` under node
 * (pointer ptr) whose name is not in config, or whose activity is not in
 * the NULL-terminated list known (activities declared before). Returns
 * the number of errors recorded.
 *
 * Details: each error names the string's own pointer, with "did you
 * mean" when a known name is close:
 *   /method/0/provider/url: '${bse}': no configuration value 'bse'; did you mean 'base'?
 *   /method/2/provider/arguments/0: '${out:kil/pid}': no activity 'kil' runs before this one; did you mean 'kill'?
 * plus the syntax errors of subst_apply (unterminated, empty). config
 * NULL skips the configuration names (they were checked elsewhere);
 * known NULL is an empty list. Nothing else is changed.
 */
int subst_check(struct cfg *cfg, const cJSON *node, const char *ptr, const cJSON *config,
		const char *const *known);

/*
 * subst_words: what messages call a `${name}` and the ACTIVITY of a
 * `${out:...}`, for a tool whose users know them by other names
 * (ofs-saga: "data value" and "step"); the defaults are "configuration
 * value" and "activity". The strings must outlive every later call.
 */
void subst_words(const char *value, const char *activity);

/* subst_has: whether s holds a `${` that is not the literal `$${`, that
 * is, whether subst_apply would do more than copy it (or complain). */
bool subst_has(const char *s);

#endif
