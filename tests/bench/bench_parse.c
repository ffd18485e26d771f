/*
 * bench_parse.c: the parse floor for reading spans, against which
 * `ofs-trace stats` is measured (tests/bench/trace.sh).
 *
 * Reads a JSON Lines file line by line, parses each line with
 * cJSON_ParseWithLength and deletes the tree: nothing else. No tool that
 * parses every line with cJSON can be faster than this, so the ratio of
 * a tool's time to this program's says how much its own work costs.
 * Prints the lines parsed and the lines that failed to parse, so the
 * script can check that the floor read the same input.
 */
#include "common.h"

#include <cJSON.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bench_parse file\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		fprintf(stderr, "bench_parse: cannot open '%s': %s\n", argv[1], strerror(errno));
		return 4;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long parsed = 0, bad = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		cJSON *v = cJSON_ParseWithLength(line, (size_t)n);
		if (v)
			parsed++;
		else
			bad++;
		cJSON_Delete(v);
	}
	free(line);
	fclose(f);
	printf("%ld parsed, %ld bad\n", parsed, bad);
	return 0;
}
