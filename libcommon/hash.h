/*
 * hash.h: a fast 64-bit hash function and a string-keyed hash table.
 *
 * hash_bytes is a non-cryptographic hash for table lookups, bucketing and
 * sampling decisions: it reads 8 bytes at a time, mixes them with
 * multiply, rotate and xor, and ends with a finalizer that makes every
 * input bit affect every output bit. Its values are the same on every
 * machine for the same bytes and seed, so they may be stored or compared
 * across runs. It is not a MAC: never use it where an attacker gains from
 * finding collisions, except behind the per-process seed the table uses.
 *
 * struct ht maps keys to void * values. Keys are byte strings (NUL-
 * terminated strings through ht_get/ht_put/ht_del, any bytes through the
 * *_b variants); the table copies and owns them. Values belong to the
 * caller. Lookups use open addressing with linear probing over a
 * power-of-two slot array kept at most 3/4 full, and deletion shifts
 * entries back instead of leaving tombstones. Iteration visits entries in
 * insertion order, so output built from a table is deterministic.
 */
#ifndef OFS_HASH_H
#define OFS_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* hash_bytes: the 64-bit hash of n bytes at p under seed. p may be NULL
 * when n is 0. Pure function: no allocation, no side effects. */
uint64_t hash_bytes(const void *p, size_t n, uint64_t seed);

/* hash_str: hash_bytes of the bytes of s (without the NUL), seed 0. */
uint64_t hash_str(const char *s);

struct ht_entry;

struct ht {
	struct ht_entry *entries; /* in insertion order; deleted ones have key NULL */
	size_t nentries, aentries;
	uint32_t *slots;          /* entry index + 1; 0 is an empty slot */
	size_t mask;              /* number of slots - 1 (0 before the first put) */
	size_t len;               /* live entries */
	uint64_t seed;
};

/* ht_new: an empty table, allocated (dies on out-of-memory). Free with
 * ht_free. */
struct ht *ht_new(void);

/* ht_free: free the table and its key copies; if free_value is not NULL
 * it is called on every value (NULL values included). t may be NULL. */
void ht_free(struct ht *t, void (*free_value)(void *));

/* ht_get: the value stored under key, or NULL when absent (use ht_has
 * to tell an absent key from a stored NULL). */
void *ht_get(const struct ht *t, const char *key);
bool ht_has(const struct ht *t, const char *key);

/* ht_put: store value under key, copying the key if it is new. Returns
 * the value it replaces, NULL if the key was absent. May grow the table,
 * which invalidates pointers returned by ht_ref. */
void *ht_put(struct ht *t, const char *key, void *value);

/* ht_ref: the address of the value stored under key, or NULL when
 * absent. Valid until the next ht_put of a new key or ht_del. */
void **ht_ref(const struct ht *t, const char *key);

/* ht_del: remove key; returns its value (NULL if absent) so the caller
 * can free it. The table frees its copy of the key. */
void *ht_del(struct ht *t, const char *key);

/* The same for binary keys of len bytes (may contain NUL bytes). A key
 * stored through ht_put is found by ht_get_b with len strlen(key). */
void *ht_get_b(const struct ht *t, const void *key, size_t len);
void *ht_put_b(struct ht *t, const void *key, size_t len, void *value);
void **ht_ref_b(const struct ht *t, const void *key, size_t len);
void *ht_del_b(struct ht *t, const void *key, size_t len);

/* ht_len: the number of keys stored. */
size_t ht_len(const struct ht *t);

/*
 * Iteration in insertion order (a key that is deleted and put again
 * moves to the end):
 *
 *	struct ht_iter it;
 *	for (ht_iter(&it, t); ht_next(&it); )
 *		use(it.key, it.len, it.value);
 *
 * it.key is the table's NUL-terminated copy (valid until that key is
 * deleted). During an iteration the caller may change values (ht_put of
 * an existing key, or through ht_ref) and delete any key, including the
 * current one; putting a new key ends the guarantees of the iteration.
 */
struct ht_iter {
	const struct ht *t;
	size_t pos;
	const char *key;
	size_t len;
	void *value;
};
void ht_iter(struct ht_iter *it, const struct ht *t);
/* ht_next: advance to the next entry; returns false after the last. */
bool ht_next(struct ht_iter *it);

#endif
