/*
 * store.h: the idempotency store a shop service shares between its
 * instances.
 *
 * A client that retries a POST with the same Idempotency-Key must not
 * pay twice, whichever instance the retry lands on; so the record of a
 * key lives on disk, in DIR/store/SERVICE/, one small JSON file per key
 * (named by a 128-bit hash of the key, which is also kept inside and
 * compared). Holding a key means holding flock(2) on its file: the
 * second request with the same key, on any instance, waits until the
 * first is done, then sees its result.
 *
 * A record holds how many requests carried the key, how many times the
 * service's handler ran for it and answered 2xx (applied), the route it
 * was first used for ("POST /charge"), a fingerprint of the first
 * request (to refuse the key's reuse for a different request), the
 * stored response (status and body) and a free reference (the orders
 * service keeps the order id it made for the key).
 */
#ifndef SHOP_STORE_H
#define SHOP_STORE_H

#include <stdbool.h>

#include "strbuf.h"

struct shop_store_entry {
	int fd; /* the locked file; -1 when not held */
	char *key;
	long count;	   /* requests that carried the key, this one included once counted */
	long applied;	   /* times the handler ran for the key and answered 2xx */
	char *route;	   /* "METHOD PATH" of the first request; NULL: none */
	char *fingerprint; /* of the first request; NULL for a new key */
	int status;	   /* stored response status; 0: none */
	char *body;	   /* stored response body; NULL: none */
	char *ref;	   /* the service's own reference; NULL: none */
};

/* shop_store_dir: DIR/store/SERVICE, created (0700) if needed; newly
 * allocated, or NULL with a message in err. */
char *shop_store_dir(const char *dir, const char *service, struct strbuf *err);

/*
 * shop_store_lock: take the key's record in store (waiting at most
 * wait_ms for another holder) and read it into *e (a new key reads as
 * count 0 and no response). Returns 0 when held (release with
 * shop_store_unlock), 1 when still busy after wait_ms, -1 with a
 * message in err on a system error. *e is valid to unlock in every case.
 */
int shop_store_lock(const char *store, const char *key, int wait_ms, struct shop_store_entry *e,
		    struct strbuf *err);

/*
 * shop_store_save: write *e back to its file (which must be held).
 * Strings are copied in; set them with shop_store_set. Returns 0, or -1
 * with a message in err.
 */
int shop_store_save(struct shop_store_entry *e, struct strbuf *err);

/* shop_store_set: replace the string *field of e with a copy of value. */
void shop_store_set(char **field, const char *value);

/* shop_store_unlock: release the lock and free what *e holds. */
void shop_store_unlock(struct shop_store_entry *e);

/*
 * shop_store_read: read key's record in store into *e without holding it
 * (a shared lock is taken briefly, or the record is read around a long
 * holder); a key never seen reads as count 0. Returns 0, or -1 with a
 * message in err. Free *e with shop_store_unlock in either case.
 */
int shop_store_read(const char *store, const char *key, struct shop_store_entry *e,
		    struct strbuf *err);

/*
 * shop_store_list: every record of store, read as by shop_store_read,
 * sorted by key (strcmp); files of records never saved are skipped, and
 * so are files that are not records. *out is newly allocated (free it
 * with shop_store_list_free), *n its length. Returns 0, or -1 with a
 * message in err and nothing allocated.
 */
int shop_store_list(const char *store, struct shop_store_entry **out, size_t *n,
		    struct strbuf *err);

/* shop_store_list_free: free the n entries at v and v itself. */
void shop_store_list_free(struct shop_store_entry *v, size_t n);

#endif
