/*
 * hash.c: the ofs 64-bit hash and the insertion-ordered hash table (see
 * hash.h).
 *
 * The hash reads the input as little-endian 64-bit words. Long inputs go
 * through four independent lanes (32 bytes per round) so the multiplies
 * of different words overlap in the CPU; the lanes are then folded into
 * one state, the remaining words and the 0..7 tail bytes are mixed in one
 * at a time, and a finalizer of two multiply/xor-shift rounds spreads
 * every bit of the state over the whole output.
 *
 * The table keeps its entries in an array in insertion order and a
 * separate power-of-two array of slots holding entry indexes, probed
 * linearly from the key's home slot. Deleting clears the entry (a hole in
 * the array, squeezed out at the next rebuild) and shifts the following
 * slots of the probe run back, so lookups never walk over tombstones.
 */
#include "common.h"

#include "hash.h"
#include "rnd.h"

#define K1 0x91d93080f9b439fdULL
#define K2 0x3ceaaf308142c8ebULL
#define K3 0x627655daa05f1119ULL
#define K4 0x0ff9bb510944fe0dULL
#define K5 0x6301bbfca0c5154fULL

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* Little-endian load, whatever the host order; compilers turn it into a
 * single load on little-endian machines. */
static inline uint64_t load64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* Scramble one input word before it meets the state. */
static inline uint64_t word_mix(uint64_t w)
{
	w *= K1;
	w = rotl64(w, 29);
	return w * K2;
}

static inline uint64_t lane_step(uint64_t lane, uint64_t w)
{
	lane ^= word_mix(w);
	lane = rotl64(lane, 31);
	return lane * 9 + K3;
}

static inline uint64_t finalize(uint64_t h)
{
	h ^= h >> 31;
	h *= K4;
	h ^= h >> 29;
	h *= K5;
	h ^= h >> 32;
	return h;
}

uint64_t hash_bytes(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = (seed + K4) ^ ((uint64_t)n * K5);

	if (n >= 32) {
		uint64_t a = seed + K1, b = seed ^ K2, c = seed - K3, d = rotl64(seed, 17) ^ K4;
		do {
			a = lane_step(a, load64(p));
			b = lane_step(b, load64(p + 8));
			c = lane_step(c, load64(p + 16));
			d = lane_step(d, load64(p + 24));
			p += 32;
			n -= 32;
		} while (n >= 32);
		h ^= rotl64(a, 1) + rotl64(b, 19) + rotl64(c, 37) + rotl64(d, 53);
		h = finalize(h) ^ K3;
	}
	while (n >= 8) {
		h = lane_step(h, load64(p));
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;
		for (size_t i = 0; i < n; i++)
			w |= (uint64_t)p[i] << (8 * i);
		/* The marker bit keeps a tail of zero bytes from vanishing. */
		h = lane_step(h, w ^ ((uint64_t)0x80 << (8 * n)));
	}
	return finalize(h);
}

uint64_t hash_str(const char *s)
{
	return hash_bytes(s, strlen(s), 0);
}

/* ---- table ------------------------------------------------------------ */

struct ht_entry {
	char *key; /* NUL-terminated copy; NULL for a deleted entry */
	size_t len;
	uint64_t hash;
	void *value;
};

#define MIN_SLOTS 8
#define MAX_ENTRIES ((size_t)UINT32_MAX - 1)

/* One random seed per process, from the kernel, so crafted keys cannot
 * be chosen to collide; lookups never depend on it for their result. */
static uint64_t process_seed(void)
{
	static uint64_t seed;
	static int have;
	if (!have) {
		rnd_bytes(&seed, sizeof(seed));
		have = 1;
	}
	return seed;
}

struct ht *ht_new(void)
{
	struct ht *t = xcalloc(1, sizeof(*t));
	t->seed = process_seed();
	return t;
}

void ht_free(struct ht *t, void (*free_value)(void *))
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nentries; i++) {
		if (!t->entries[i].key)
			continue;
		if (free_value)
			free_value(t->entries[i].value);
		free(t->entries[i].key);
	}
	free(t->entries);
	free(t->slots);
	free(t);
}

size_t ht_len(const struct ht *t)
{
	return t->len;
}

/* The slot holding key, or the empty slot where it would go. Needs at
 * least one empty slot, which the load limit guarantees. */
static size_t find_slot(const struct ht *t, const void *key, size_t len, uint64_t h)
{
	size_t i = (size_t)h & t->mask;
	for (;;) {
		uint32_t s = t->slots[i];
		if (!s)
			return i;
		const struct ht_entry *e = &t->entries[s - 1];
		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
			return i;
		i = (i + 1) & t->mask;
	}
}

static struct ht_entry *lookup(const struct ht *t, const void *key, size_t len)
{
	if (!t->slots)
		return NULL;
	uint64_t h = hash_bytes(key, len, t->seed);
	uint32_t s = t->slots[find_slot(t, key, len, h)];
	return s ? &t->entries[s - 1] : NULL;
}

/* Squeeze deleted entries out of the array and rebuild the slots with
 * nslots slots (a power of two). */
static void rebuild(struct ht *t, size_t nslots)
{
	size_t n = 0;
	for (size_t i = 0; i < t->nentries; i++)
		if (t->entries[i].key)
			t->entries[n++] = t->entries[i];
	t->nentries = n;
	free(t->slots);
	t->slots = xcalloc(nslots, sizeof(*t->slots));
	t->mask = nslots - 1;
	for (size_t i = 0; i < n; i++) {
		size_t j = (size_t)t->entries[i].hash & t->mask;
		while (t->slots[j])
			j = (j + 1) & t->mask;
		t->slots[j] = (uint32_t)(i + 1);
	}
}

/* Make room for one more live entry at the end of the array. */
static void reserve_one(struct ht *t)
{
	size_t nslots = t->mask + 1;
	if (!t->slots || (t->len + 1) * 4 > nslots * 3) {
		size_t want = t->slots ? nslots * 2 : MIN_SLOTS;
		while ((t->len + 1) * 4 > want * 3)
			want *= 2;
		rebuild(t, want);
	}
	if (t->nentries == t->aentries) {
		/* Many holes: squeeze them out instead of growing. */
		if (t->nentries - t->len >= t->nentries / 4 && t->nentries > t->len)
			rebuild(t, t->mask + 1);
		else
			ALLOC_GROW(t->entries, t->nentries + 1, t->aentries);
	}
	if (t->nentries >= MAX_ENTRIES)
		die("hash table too large");
}

void **ht_ref_b(const struct ht *t, const void *key, size_t len)
{
	struct ht_entry *e = lookup(t, key, len);
	return e ? &e->value : NULL;
}

void *ht_get_b(const struct ht *t, const void *key, size_t len)
{
	struct ht_entry *e = lookup(t, key, len);
	return e ? e->value : NULL;
}

void *ht_put_b(struct ht *t, const void *key, size_t len, void *value)
{
	struct ht_entry *e = lookup(t, key, len);
	if (e) {
		void *old = e->value;
		e->value = value;
		return old;
	}
	reserve_one(t);
	uint64_t h = hash_bytes(key, len, t->seed);
	size_t i = find_slot(t, key, len, h);
	e = &t->entries[t->nentries];
	e->key = xmalloc(len + 1);
	if (len)
		memcpy(e->key, key, len);
	e->key[len] = '\0';
	e->len = len;
	e->hash = h;
	e->value = value;
	t->slots[i] = (uint32_t)(++t->nentries);
	t->len++;
	return NULL;
}

void *ht_del_b(struct ht *t, const void *key, size_t len)
{
	if (!t->slots)
		return NULL;
	uint64_t h = hash_bytes(key, len, t->seed);
	size_t i = find_slot(t, key, len, h);
	if (!t->slots[i])
		return NULL;
	struct ht_entry *e = &t->entries[t->slots[i] - 1];
	void *old = e->value;
	free(e->key);
	e->key = NULL;
	e->value = NULL;
	t->len--;

	/* Backward shift: pull later members of the probe run into the gap
	 * unless their home slot lies cyclically within (gap, j]. */
	size_t j = i;
	for (;;) {
		j = (j + 1) & t->mask;
		uint32_t s = t->slots[j];
		if (!s)
			break;
		size_t home = (size_t)t->entries[s - 1].hash & t->mask;
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (!stays) {
			t->slots[i] = s;
			i = j;
		}
	}
	t->slots[i] = 0;

	/* Trailing holes can be dropped at once. */
	while (t->nentries && !t->entries[t->nentries - 1].key)
		t->nentries--;
	return old;
}

void *ht_get(const struct ht *t, const char *key)
{
	return ht_get_b(t, key, strlen(key));
}

bool ht_has(const struct ht *t, const char *key)
{
	return lookup(t, key, strlen(key)) != NULL;
}

void *ht_put(struct ht *t, const char *key, void *value)
{
	return ht_put_b(t, key, strlen(key), value);
}

void **ht_ref(const struct ht *t, const char *key)
{
	return ht_ref_b(t, key, strlen(key));
}

void *ht_del(struct ht *t, const char *key)
{
	return ht_del_b(t, key, strlen(key));
}

void ht_iter(struct ht_iter *it, const struct ht *t)
{
	it->t = t;
	it->pos = 0;
	it->key = NULL;
	it->len = 0;
	it->value = NULL;
}

bool ht_next(struct ht_iter *it)
{
	const struct ht *t = it->t;
	while (it->pos < t->nentries) {
		const struct ht_entry *e = &t->entries[it->pos++];
		if (e->key) {
			it->key = e->key;
			it->len = e->len;
			it->value = e->value;
			return true;
		}
	}
	it->key = NULL;
	it->value = NULL;
	return false;
}
