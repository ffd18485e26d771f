/*
 * validate.c: `ofs-scale validate POLICY...`: load and check policy files
 * exactly as every other command does, and change nothing.
 *
 * Meant for CI and pre-commit hooks: a valid file prints nothing (the
 * status says it), an invalid one prints all of its problems on stderr,
 * each naming the file and the JSON pointer, and the next file is still
 * checked. The status is 2 when any file was invalid or unreadable.
 */
#include "common.h"

#include "cmds.h"
#include "opt.h"
#include "scale.h"

int cmd_validate(int argc, char **argv)
{
	struct opt_parser p;
	opt_begin(&p, argc, argv);
	while (opt_next(&p) != OPT_DONE)
		;
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (nops == 0)
		opt_usage_error(&p, "missing policy file");
	int status = EXIT_OK;
	for (int i = 0; i < nops; i++) {
		struct sc_policy pol;
		if (sc_policy_load(ops[i], &pol) < 0)
			status = EXIT_USAGE;
		sc_policy_free(&pol);
	}
	opt_end(&p);
	return status;
}
