/*
 * rnd.c: kernel randomness for ids and xoshiro256** for fast draws
 * (see rnd.h).
 */
#include "common.h"
#include <sys/random.h>

#include "rnd.h"

static uint64_t state[4];
static pid_t seeded_pid;
static int fixed_seed;

void rnd_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die_errno("cannot read random bytes");
		}
		p += r;
		n -= (size_t)r;
	}
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rnd_seed(uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		state[i] = splitmix(&seed);
	fixed_seed = 1;
	seeded_pid = getpid();
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rnd_u64(void)
{
	if (!fixed_seed && seeded_pid != getpid()) {
		uint64_t seed;
		rnd_bytes(&seed, sizeof(seed));
		rnd_seed(seed);
		fixed_seed = 0;
	}
	uint64_t result = rotl(state[1] * 5, 7) * 9;
	uint64_t t = state[1] << 17;
	state[2] ^= state[0];
	state[3] ^= state[1];
	state[1] ^= state[2];
	state[0] ^= state[3];
	state[2] ^= t;
	state[3] = rotl(state[3], 45);
	return result;
}

uint64_t rnd_below(uint64_t n)
{
	if (n == 0)
		return 0;
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do
		x = rnd_u64();
	while (x >= limit);
	return x % n;
}

double rnd_unit(void)
{
	return (double)(rnd_u64() >> 11) * 0x1.0p-53;
}
