/*
 * fuzz_haproxy_stat.c: libFuzzer target for the `show stat` CSV parser of
 * haproxy.c, which reads text from a process ofs does not control. Every
 * input is parsed twice, unfiltered and filtered by the first server's
 * backend: a parse succeeds or fails cleanly, every server row is
 * complete, none is a FRONTEND/BACKEND summary, and the filtered list is
 * exactly the unfiltered rows of that backend.
 */
#include "common.h"

#include "haproxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hap_server *all, *some;
	size_t n, m;
	struct strbuf err = SB_INIT;
	if (hap_parse_stat((const char *)data, size, NULL, &all, &n, &err) < 0) {
		if (all || n || !err.len)
			abort();
		sb_release(&err);
		return 0;
	}
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (n > lines)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (!all[i].backend || !all[i].name || !all[i].status)
			abort();
		if (!strcmp(all[i].name, "FRONTEND") || !strcmp(all[i].name, "BACKEND"))
			abort();
		if (all[i].state != HAP_READY && all[i].state != HAP_DRAIN &&
		    all[i].state != HAP_MAINT)
			abort();
		if (all[i].weight < -1 || all[i].scur < -1 || all[i].stot < -1)
			abort();
	}
	if (n) {
		char *be = xstrdup(all[0].backend);
		size_t want = 0;
		for (size_t i = 0; i < n; i++)
			want += strcmp(all[i].backend, be) == 0;
		if (hap_parse_stat((const char *)data, size, be, &some, &m, &err) < 0 || m != want)
			abort();
		for (size_t i = 0, j = 0; i < n; i++) {
			if (strcmp(all[i].backend, be) != 0)
				continue;
			if (strcmp(some[j].name, all[i].name) != 0 || some[j].scur != all[i].scur)
				abort();
			j++;
		}
		hap_servers_free(some, m);
		free(be);
	}
	hap_servers_free(all, n);
	sb_release(&err);
	return 0;
}
