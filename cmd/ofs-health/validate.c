/*
 * validate.c: `ofs-health validate -f FILE`: load and check a topology
 * exactly as check and watch do, probing nothing. Every problem is
 * printed with its JSON pointer and the status is 2; a valid file exits
 * 0 silently (with -v, one line saying what it holds), so it fits in a
 * CI step or a pre-commit hook.
 */
#include "common.h"

#include "health.h"
#include "opt.h"

int cmd_validate(int argc, char **argv)
{
	struct opt_parser p;
	const char *file = NULL;
	bool verbose = false;
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE) {
		if (c == 'f')
			file = p.arg;
		else if (c == 'v')
			verbose = true;
	}
	char **ops;
	if (opt_operands(&p, &ops) > 0)
		opt_usage_error(&p, "unexpected operand '%s'", ops[0]);
	if (!file)
		opt_usage_error(&p, "-f is required");
	opt_end(&p);

	struct topology t;
	struct strbuf err = SB_INIT;
	int status = EXIT_OK;
	if (topo_load(file, &t, &err) < 0) {
		error_lines(err.buf, err.len);
		if (!err.len)
			error("invalid topology '%s'", file);
		status = EXIT_USAGE;
	} else if (verbose) {
		size_t ninst = 0, ndeps = 0;
		for (size_t i = 0; i < t.nservices; i++) {
			ninst += t.services[i].ninstances;
			ndeps += t.services[i].ndeps;
		}
		struct strbuf sb = SB_INIT;
		sb_addf(&sb, "%s: valid: %zu %s, %zu %s, %zu %s\n", file, t.nservices,
			t.nservices == 1 ? "service" : "services", ninst,
			ninst == 1 ? "instance" : "instances", ndeps,
			ndeps == 1 ? "dependency" : "dependencies");
		out_write(out_stdout(), sb.buf, sb.len);
		sb_release(&sb);
	}
	topo_free(&t);
	sb_release(&err);
	return status;
}
