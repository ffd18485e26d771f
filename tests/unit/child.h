/*
 * child.h: run a function in a child process with stdout and stderr
 * captured, for unit tests of code that exits (die, usage errors, write
 * failures) or writes to the standard streams.
 */
#ifndef OFS_TEST_CHILD_H
#define OFS_TEST_CHILD_H

#include "strbuf.h"

struct child_result {
	int status; /* exit status, or 128 + signal */
	struct strbuf out, err;
};

/*
 * child_run: fork; in the child point stdout at out_path (NULL: a temp
 * file that is captured) and stderr at a captured temp file, call fn(arg)
 * and exit with its return value through exit_after_output. The parent
 * waits and fills r (release with child_release).
 */
void child_run(struct child_result *r, const char *out_path, int (*fn)(void *), void *arg);
void child_release(struct child_result *r);

#endif
