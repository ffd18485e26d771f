/*
 * fuzz_split_weights.c: libFuzzer target for ofs-split's weights parser
 * (cmd/ofs-split/weights.c, linked in by the Makefile).
 *
 * Every splitting command starts from a --weights argument, so its
 * parser must never crash or accept weights that do not add up. The
 * input (up to its first NUL) is parsed. A rejection must say why in
 * one line; an acceptance must hold weights summing to 10000 basis
 * points, write back to a text that parses to the same weights, and put
 * every hash in a variant that has a weight.
 */
#include "common.h"

#include "weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct split_weights w, again;
	struct strbuf err = SB_INIT, back = SB_INIT;
	if (weights_parse(&w, text, &err) < 0) {
		if (!err.len || strchr(err.buf, '\n'))
			abort();
	} else {
		unsigned sum = 0;
		for (size_t i = 0; i < w.n; i++)
			sum += w.v[i].bp;
		if (sum != 10000)
			abort();
		weights_format(&back, &w);
		if (weights_parse(&again, back.buf, &err) < 0 || again.n != w.n)
			abort();
		for (size_t i = 0; i < w.n; i++)
			if (strcmp(again.v[i].name, w.v[i].name) || again.v[i].bp != w.v[i].bp ||
			    again.v[i].upper != w.v[i].upper)
				abort();
		uint32_t probe[] = { 0, 1, 0x7fffffffu, 0xfffffffeu, UINT32_MAX,
				     split_murmur2(data, size, "", 0) };
		for (size_t i = 0; i < ARRAY_SIZE(probe); i++)
			if (!w.v[weights_pick(&w, probe[i])].bp)
				abort();
	}
	sb_release(&back);
	sb_release(&err);
	free(text);
	return 0;
}
