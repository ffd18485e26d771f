/*
 * rnd.h: random numbers. rnd_bytes is for identifiers (trace and span
 * ids, saga ids) and reads the kernel's CSPRNG; rnd_u64 and friends are a
 * fast generator for jitter and sampling, seeded from the kernel and
 * reseeded after fork so parent and child never share a sequence.
 */
#ifndef OFS_RND_H
#define OFS_RND_H

#include <stddef.h>
#include <stdint.h>

/* rnd_bytes: fill buf with n unpredictable bytes; dies if the kernel fails. */
void rnd_bytes(void *buf, size_t n);
uint64_t rnd_u64(void);
/* rnd_below: uniform in [0, n); n == 0 returns 0. */
uint64_t rnd_below(uint64_t n);
/* rnd_unit: uniform double in [0, 1). */
double rnd_unit(void);
/* rnd_seed: make rnd_u64 deterministic (tests, simulations). */
void rnd_seed(uint64_t seed);

#endif
