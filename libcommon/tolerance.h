/*
 * tolerance.h: Chaos Toolkit style tolerances: does a probe's output
 * satisfy what the experiment expects? Shared by ofs-chaos (hypothesis
 * probes), ofs-deploy's analysis gates and ofs-saga's checks.
 *
 * Outputs are JSON values: a process provider gives {"status",
 * "stdout", "stderr"}, an http provider {"status", "headers", "body"}
 * (body parsed when it is JSON, else a string), other providers what
 * they document.
 */
#ifndef OFS_TOLERANCE_H
#define OFS_TOLERANCE_H

#include <cJSON.h>

#include "config.h"
#include "strbuf.h"

/* Regular expressions whose repetition counts multiply beyond this are
 * refused: glibc's regcomp expands {m,n} by copying. */
#define TOL_REGEX_MAX 10000

/*
 * tol_validate: record with cfg_error what is wrong with the tolerance at
 * ptr. Shapes: true/false, a string, a number (exact); an array
 * (membership: the value must equal one element; never a range); an
 * object {"type":"range","range":[lo,hi],"target"?}, {"type":"regex",
 * "pattern","target"?}, {"type":"jsonpath","path","expect"?|"count"?,
 * "target"?}, {"type":"probe"...} is refused (python). Returns errors
 * recorded.
 *
 * Details: a list must not be empty; range holds two numbers, low <=
 * high; pattern is a POSIX extended regular expression (compiled here);
 * path is a JSONPath (jsonpath.h; compiled here, errors give the
 * column); count is a whole number >= 0; expect is any JSON value, a
 * list meaning "one of"; target is a non-empty key, or an RFC 6901
 * pointer when it starts with '/'. Unknown keys get "did you mean".
 */
int tol_validate(struct cfg *cfg, const cJSON *tol, const char *ptr);

/*
 * tol_check: does output satisfy tol? Returns 1 (held) or 0 (not), and
 * appends to why, in both cases, one human line: "status 503, want one
 * of [200, 201]", "stdout does not match '^ok'", "$.items[*] count 3,
 * want 2". Default targets (so nothing crashes on a missing target): a
 * number or a list compares to "status" when the output is an object
 * that has one, else to the output itself; a string to "stdout"
 * (process) or "body" (http) when the output has one, else the output;
 * a boolean to the output when it is a boolean, else to "status" being
 * 0 (process) or 2xx (http); range to "status" or the output; regex to
 * stdout/body or the output; jsonpath to body (parsed as JSON if it is a
 * string) or the output. An explicit "target" is a key of the output
 * (or an RFC 6901 pointer when it starts with '/').
 *
 * Details:
 *  - A string or a regex also falls back to "state" (before the output
 *    itself), so "healthy" judges an ofs-health style output.
 *  - Exact values compare as JSON (a number never equals a string); a
 *    string tolerance also holds when the text only adds one final
 *    newline ("ok\n" for "ok"), as command output does.
 *  - Membership: the value equals (as JSON) one element of the list.
 *  - A boolean on a process output (it has "stdout" or "stderr", or
 *    neither "body" nor "headers") tests status 0; on an http output
 *    status 200..299. false holds when that test fails.
 *  - range: low <= value <= high, the value a number.
 *  - regex: POSIX ERE, searched (not anchored; ^ and $ also match at line
 *    breaks) in the value, which is a string or else its compact JSON.
 *  - jsonpath: with neither expect nor count, at least one match; with
 *    count only, exactly count matches; with expect only, at least one
 *    match and every match equal to expect (or, expect a list, equal to
 *    one of its elements); with both, exactly count matches satisfying
 *    expect. A string target (an explicit one too) is parsed as JSON.
 *  - An explicit target missing from the output, an output that is NULL
 *    (the provider failed), or an invalid tolerance: 0, never a crash.
 * why lines (LABEL is "status", "stdout", "body", "state", "output" or
 * the explicit target; values are shown as JSON, cut after 60 bytes;
 * control characters anywhere are written \n, \t, \r or \xNN):
 *   LABEL VALUE, want EXPECTED           exact (string, number, boolean)
 *   LABEL VALUE, want one of [A, B]      list
 *   LABEL VALUE, want LOW..HIGH          range
 *   LABEL matches 'RE' / LABEL does not match 'RE'
 *   PATH matched N value(s) / PATH matched nothing
 *   PATH count N, want C
 *   PATH matched N value(s), want E / PATH value V, want E /
 *   PATH matched nothing, want E
 *   PATH count N equal to E, want C  (E a list: count N in [A, B])
 *   no 'TARGET' in the output / LABEL is not JSON / no output
 * where a boolean's EXPECTED is 0 or non-zero (process), 2xx or not 2xx
 * (http), true or false (a boolean output).
 */
int tol_check(const cJSON *tol, const cJSON *output, struct strbuf *why);

#endif
