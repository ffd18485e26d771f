/*
 * sha256.h: SHA-256 (FIPS 180-4), for the salted hashes ofs-replay's
 * masking rules write in place of personal data ("sha256:HEX").
 *
 * A plain streaming implementation: init, update any number of times,
 * final. No allocation, no errors; the context is the caller's. Not
 * constant-time with respect to anything but the data length, which is
 * fine for hashing values that are then published.
 */
#ifndef OFS_SHA256_H
#define OFS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
/* Room for the lower-case hex of a digest and its NUL. */
#define SHA256_HEXLEN (2 * SHA256_LEN + 1)

struct sha256 {
	uint32_t h[8];
	uint64_t nbytes;        /* bytes hashed so far */
	unsigned char buf[64];  /* a partial block */
	size_t nbuf;
};

/* sha256_init: start a new digest. */
void sha256_init(struct sha256 *c);
/* sha256_update: hash len more bytes at p (p may be NULL when len is 0). */
void sha256_update(struct sha256 *c, const void *p, size_t len);
/* sha256_final: write the digest to out; c must be initialised again to reuse. */
void sha256_final(struct sha256 *c, unsigned char out[SHA256_LEN]);
/* sha256_hex: the digest of len bytes at p as 64 lower-case hex digits into hex. */
void sha256_hex(const void *p, size_t len, char hex[SHA256_HEXLEN]);
/* sha256_to_hex: a digest as lower-case hex. */
void sha256_to_hex(const unsigned char d[SHA256_LEN], char hex[SHA256_HEXLEN]);

#endif
