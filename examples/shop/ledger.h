/*
 * ledger.h: what a shop service holds for each order, so that its
 * compensations undo exactly what its actions did, and the stock the
 * inventory keeps.
 *
 * A saga registers a compensation before its step runs, so a
 * compensation names the order, not the reservation, charge or shipment
 * (which it may never have been told about): inventory POST /release
 * {"order_id"} gives back whatever stock the order holds, payments
 * POST /refund refunds its captured charges, shipping POST
 * /shipments/cancel cancels its scheduled shipments, and each is a
 * no-op success when the order holds nothing there.
 *
 * A tally is a small JSON object of names and whole numbers kept as the
 * body of a record of the idempotency store's kind (store.h), so it is
 * shared by the service's instances and held with the same flock(2):
 * DIR/store/SERVICE/orders/ has one record per order id (inventory:
 * {"sku": held qty}, payments: {"charge_id": amount_cents}, shipping:
 * {"shipment_id": qty}, orders: {"notifications": N}),
 * DIR/store/inventory/stock/ one record "stock"
 * ({"sku": available}). Locks are always taken in the order idempotency
 * key, order, stock, so two requests never wait for each other in a
 * circle.
 */
#ifndef SHOP_LEDGER_H
#define SHOP_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "strbuf.h"

struct shop_tally {
	char **names;
	int64_t *values;
	size_t n, alloc;
};

/* A held tally: the record it lives in and its contents. */
struct shop_ledger {
	struct shop_store_entry e;
	struct shop_tally t;
};

/*
 * shop_ledger_take: hold the tally key in DIR/store/SERVICE/SUB (store is
 * DIR/store/SERVICE; the directory is made if needed), waiting at most
 * wait_ms, and read it (a new key reads as an empty tally). Returns 0
 * when held (release with shop_ledger_put), 1 when still busy, -1 with a
 * message in err; *l is valid to put in every case.
 */
int shop_ledger_take(const char *store, const char *sub, const char *key, int wait_ms,
		     struct shop_ledger *l, struct strbuf *err);

/*
 * shop_ledger_read: read the tally key of DIR/store/SERVICE/SUB into *t
 * (which must be zeroed) without holding it, as shop_store_read does; a
 * key never saved reads as an empty tally. Returns 1 when the record
 * exists, 0 when it does not, -1 with a message in err. Free *t with
 * shop_tally_free in every case.
 */
int shop_ledger_read(const char *store, const char *sub, const char *key, struct shop_tally *t,
		     struct strbuf *err);

/* shop_ledger_save: write the tally back (it must be held). 0, or -1 with
 * a message in err. */
int shop_ledger_save(struct shop_ledger *l, struct strbuf *err);

/* shop_ledger_put: release the tally and free what *l holds (unsaved
 * changes are lost). */
void shop_ledger_put(struct shop_ledger *l);

/* shop_tally_at: the value of name, added as 0 when absent. The pointer
 * is valid until the next addition. */
int64_t *shop_tally_at(struct shop_tally *t, const char *name);

/* shop_tally_find: the value of name, or NULL when absent. */
int64_t *shop_tally_find(struct shop_tally *t, const char *name);

/* shop_tally_clear: remove every name. */
void shop_tally_clear(struct shop_tally *t);

/* shop_tally_free: free what *t holds and zero it. */
void shop_tally_free(struct shop_tally *t);

#endif
