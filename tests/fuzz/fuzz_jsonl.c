/*
 * fuzz_jsonl.c: libFuzzer target for the JSON Lines reader and, through
 * it, the writer. The input becomes a memory file (gzip or not, as its
 * bytes say); every record read is written back with jw_cjson, and that
 * text must parse again: the writer may never emit invalid JSON.
 */
#include "common.h"
#include <sys/mman.h>

#include "jsonl.h"
#include "jw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-jsonl", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	lseek(fd, 0, SEEK_SET);
	struct jsonl_reader *r = jsonl_open_fd(fd, "fuzz", JSONL_QUIET | JSONL_ANY_VALUE);
	struct strbuf sb = SB_INIT;
	cJSON *o;
	while (jsonl_next(r, &o) == 1) {
		struct jw w;
		sb_reset(&sb);
		jw_init(&w, &sb);
		jw_cjson(&w, o);
		cJSON *back = cJSON_ParseWithLength(sb.buf, sb.len);
		if (!back)
			abort();
		cJSON_Delete(back);
		cJSON_Delete(o);
	}
	if (jsonl_good(r) + jsonl_bad(r) > jsonl_lineno(r))
		abort();
	jsonl_close(r);
	sb_release(&sb);
	return 0;
}
