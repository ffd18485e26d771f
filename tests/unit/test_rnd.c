/*
 * test_rnd.c: random draws stay in range, are roughly uniform, repeat
 * under a fixed seed, and differ between a parent and its child.
 */
#include "common.h"
#include <sys/wait.h>

#include "rnd.h"
#include "tap.h"

int main(void)
{
	int counts[10] = { 0 };
	int out_of_range = 0;
	for (int i = 0; i < 100000; i++) {
		uint64_t x = rnd_below(10);
		if (x >= 10)
			out_of_range++;
		else
			counts[x]++;
		double u = rnd_unit();
		if (u < 0 || u >= 1)
			out_of_range++;
	}
	is_int(out_of_range, 0, "rnd_below and rnd_unit stay in range");
	int lo = counts[0], hi = counts[0];
	for (int i = 1; i < 10; i++) {
		lo = counts[i] < lo ? counts[i] : lo;
		hi = counts[i] > hi ? counts[i] : hi;
	}
	ok(lo > 9400 && hi < 10600, "rnd_below(10) is roughly uniform (%d..%d of 10000)", lo, hi);
	is_int((long long)rnd_below(0), 0, "rnd_below(0) is 0");

	rnd_seed(42);
	uint64_t a = rnd_u64(), b = rnd_u64();
	rnd_seed(42);
	ok(rnd_u64() == a && rnd_u64() == b, "a fixed seed repeats its sequence");

	uint8_t id[16] = { 0 }, zero[16] = { 0 };
	rnd_bytes(id, sizeof(id));
	ok(memcmp(id, zero, sizeof(id)) != 0, "rnd_bytes fills the buffer");

	/* Unseeded: a forked child must not repeat the parent's draws. */
	rnd_seed(1);
	int p[2];
	if (pipe(p) < 0)
		die_errno("pipe");
	uint64_t parent_first, child_first = 0;
	pid_t pid = fork();
	if (pid == 0) {
		uint64_t x;
		rnd_bytes(&x, sizeof(x));
		ssize_t w = write(p[1], &x, sizeof(x));
		_exit(w == sizeof(x) ? 0 : 1);
	}
	rnd_bytes(&parent_first, sizeof(parent_first));
	waitpid(pid, NULL, 0);
	ssize_t got = read(p[0], &child_first, sizeof(child_first));
	ok(got == sizeof(child_first) && child_first != parent_first,
	   "kernel randomness differs between parent and child");
	close(p[0]);
	close(p[1]);
	return tap_done();
}
