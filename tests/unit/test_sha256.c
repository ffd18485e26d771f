/*
 * test_sha256.c: sha256.c against the FIPS 180-4 example vectors (the
 * one-block "abc", the two-block 448-bit message, one million 'a'), the
 * empty message, and the same digests fed in pieces of every size, so the
 * buffering of partial blocks is covered as well as the padding.
 */
#include "common.h"

#include "sha256.h"
#include "tap.h"

static const struct {
	const char *msg;
	const char *want;
} vectors[] = {
	{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	/* 55, 56 and 64 bytes: the padding edges */
	{ "0123456789012345678901234567890123456789012345678901234",
	  "f34d5a0f80c0cbf84c8c0b90218c22637abd199965249da736a20143c8c9c9d9" },
	{ "01234567890123456789012345678901234567890123456789012345",
	  "83aa034bda83e458a0dc9cbce0d4e354716aa0ff770ed37ac0ed2b292052e4af" },
	{ "0123456789012345678901234567890123456789012345678901234567890123",
	  "9674d9e078535b7cec43284387a6ee39956188e735a85452b0050b55341cda56" },
};

int main(void)
{
	char hex[SHA256_HEXLEN];
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		const char *m = vectors[i].msg;
		size_t n = strlen(m);
		sha256_hex(m, n, hex);
		is_str(hex, vectors[i].want, "one piece");
		int same = 1;
		for (size_t step = 1; step <= n; step++) {
			struct sha256 c;
			unsigned char d[SHA256_LEN];
			sha256_init(&c);
			for (size_t off = 0; off < n; off += step)
				sha256_update(&c, m + off, n - off < step ? n - off : step);
			sha256_final(&c, d);
			sha256_to_hex(d, hex);
			if (strcmp(hex, vectors[i].want)) {
				diag("pieces of %zu give %s", step, hex);
				same = 0;
			}
		}
		ok(same, "every piece size gives the same digest (vector %zu)", i);
	}

	/* FIPS 180-4 / NIST: one million repetitions of 'a'. */
	struct sha256 c;
	unsigned char d[SHA256_LEN];
	char a[1000];
	memset(a, 'a', sizeof(a));
	sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		sha256_update(&c, a, sizeof(a));
	sha256_final(&c, d);
	sha256_to_hex(d, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "one million 'a'");

	sha256_init(&c);
	sha256_update(&c, NULL, 0);
	sha256_final(&c, d);
	sha256_to_hex(d, hex);
	is_str(hex, vectors[0].want, "a NULL empty update");
	return tap_done();
}
