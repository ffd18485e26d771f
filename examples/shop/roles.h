/*
 * roles.h: what each shop service does with a business request.
 *
 *   gateway    POST /orders -> orders POST /orders
 *              GET /products -> inventory GET /stock
 *   orders     POST /orders -> inventory POST /reserve, payments POST
 *              /charge, shipping POST /shipments, in that order; 201 with
 *              the order, or 502 naming the service that failed
 *              POST /notify -> 200 (the confirmation, counted per order)
 *   payments   POST /charge -> 201 {"charge_id": ...}
 *              POST /refund -> 200 (every charge of the order refunded)
 *   inventory  POST /reserve -> 200 (stock taken for the order), 409 when
 *              short; POST /release -> 200 (the order's stock given back);
 *              GET /stock -> 200 (the catalogue with the stock left)
 *   shipping   POST /shipments -> 201 {"shipment_id": ...}
 *              POST /shipments/cancel -> 200 (the order's shipments)
 *
 * The compensations (release, refund, cancel) name the order, undo what
 * it holds in the service's ledger (ledger.h), and succeed doing nothing
 * for an order that holds nothing there, so a saga may run them for a
 * step that never happened.
 *
 * Idempotency-Key on POST: payments, inventory and shipping, and orders'
 * /notify, process the first request with a key, store its successful
 * answer in the service's shared store (store.h) and answer repeats from
 * it, with the header Idempotent-Replayed: true. orders keeps the order id it made for a key
 * and, on a repeat, sends its three calls again with the derived keys
 * KEY/reserve, KEY/charge and KEY/ship, which the services downstream
 * answer from their stores: a repeat after a success changes nothing, and
 * a repeat after a half-failed attempt completes the same order without
 * paying twice. The gateway passes the key on unchanged. Every service
 * counts, per key, the requests that carried it, the runs of its handler
 * that answered 2xx (applied: at most 1 where answers are replayed) and
 * the route of the first (GET /admin/idempotency).
 * Reusing a key for a different request is answered 422; a key whose
 * first request is still running elsewhere, 409 after 1 s.
 */
#ifndef SHOP_ROLES_H
#define SHOP_ROLES_H

#include <stdbool.h>

#include "server.h"

/* The services shopd can play, NULL-terminated. */
extern const char *const shop_roles[];

/*
 * shop_role_handle: answer r, a request for a business endpoint of r's
 * service. Returns false, answering nothing, when the service has no
 * endpoint at r's path (the caller answers 404). A known path with
 * another method is answered 405 with Allow.
 */
bool shop_role_handle(struct shop_req *r);

/* shop_idem_key_valid: 1 to 255 visible ASCII characters. */
bool shop_idem_key_valid(const char *key);

#endif
