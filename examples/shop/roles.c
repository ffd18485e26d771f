/*
 * roles.c: the business endpoints of the five shop services and their
 * Idempotency-Key handling (see roles.h).
 *
 * Request bodies are JSON objects checked with config.h, so a bad field
 * is answered 400 with its JSON pointer, like a bad config file. An
 * empty body reads as {} and every field has a default, so
 * `curl -X POST $gw/orders` places an order for one book.
 */
#include "common.h"

#include <cJSON.h>

#include "config.h"
#include "downstream.h"
#include "hash.h"
#include "jw.h"
#include "ledger.h"
#include "rnd.h"
#include "roles.h"
#include "shopd.h"
#include "store.h"
#include "timefmt.h"

const char *const shop_roles[] = { "gateway", "orders", "payments", "inventory", "shipping", NULL };

/* How long a request waits for another holding its idempotency key. */
#define IDEM_WAIT_MS 1000

struct item {
	const char *sku, *name;
	int price_cents;
	int available;
};

static const struct item catalogue[] = {
	{ "book", "Designing Small Services", 2450, 120 },
	{ "mug", "Coffee mug with a trace waterfall", 1200, 80 },
	{ "poster", "Dependency graph poster", 1800, 35 },
	{ "stickers", "Sticker pack (12)", 500, 400 },
};

static const struct item *find_item(const char *sku)
{
	for (size_t i = 0; i < ARRAY_SIZE(catalogue); i++)
		if (!strcmp(catalogue[i].sku, sku))
			return &catalogue[i];
	return NULL;
}

/* A fresh identifier: prefix, '-', 16 random hex digits. */
static void new_id(const char *prefix, char *out, size_t n)
{
	uint8_t b[8];
	char hex[17];
	rnd_bytes(b, sizeof(b));
	snprintf(out, n, "%s-%s", prefix, tc_hex(b, sizeof(b), hex));
}

bool shop_idem_key_valid(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x21 || key[i] > 0x7e)
			return false;
	return true;
}

/* ---- request bodies --------------------------------------------------- */

/* After the getters: answer 400 with every problem, or return true. */
static bool body_ok(struct shop_req *r, const struct cfg *cfg)
{
	if (!cfg->nerrors)
		return true;
	struct strbuf msg = SB_INIT;
	shop_cfg_errors(cfg, &msg);
	shop_reply_error(r, 400, msg.buf);
	sb_release(&msg);
	return false;
}

/* Parse the body (empty reads as {}) into cfg; NULL after answering 400
 * (free cfg in either case). */
static cJSON *read_body(struct shop_req *r, struct cfg *cfg, const char *const *keys)
{
	const struct strbuf *b = &r->http->body;
	struct strbuf err = SB_INIT;
	if (cfg_parse_string("body", b->len ? b->buf : "{}", b->len ? b->len : 2, cfg, &err) < 0) {
		shop_reply_error(r, 400, err.buf);
		sb_release(&err);
		return NULL;
	}
	sb_release(&err);
	cJSON *root = cfg_root_object(cfg);
	if (root)
		cfg_check_keys(cfg, root, "", keys);
	else
		body_ok(r, cfg); /* answers why */
	return root;
}

/* ---- idempotency ------------------------------------------------------ */

static void fingerprint(const struct shop_req *r, char out[17])
{
	uint64_t h = hash_bytes(r->http->method, strlen(r->http->method), 0);
	h = hash_bytes(r->http->path, strlen(r->http->path), h);
	h = hash_bytes(r->http->body.buf, r->http->body.len, h);
	snprintf(out, 17, "%016" PRIx64, h);
}

/*
 * Take the record of r's key and count this request. With fp, a key
 * first used for another request is refused (422). Returns true with
 * the record held, or false after answering (the record released).
 */
static bool idem_take(struct shop_req *r, struct shop_store_entry *e, const char *fp)
{
	struct strbuf err = SB_INIT;
	int got = shop_store_lock(r->srv->store, r->idem_key, IDEM_WAIT_MS, e, &err);
	if (got == 0 && !e->route) {
		struct strbuf route = SB_INIT;
		sb_addf(&route, "%s %s", r->http->method, r->http->path);
		shop_store_set(&e->route, route.buf);
		sb_release(&route);
	}
	if (got != 0) {
		if (got > 0)
			shop_reply_error(r, 409,
					 "a request with this Idempotency-Key is in progress");
		else
			shop_reply_error(r, 500, err.buf);
		shop_store_unlock(e);
		sb_release(&err);
		return false;
	}
	e->count++;
	if (fp && e->fingerprint && strcmp(fp, e->fingerprint)) {
		if (shop_store_save(e, &err) < 0)
			shop_reply_error(r, 500, err.buf);
		else
			shop_reply_error(r, 422,
					 "this Idempotency-Key was used for a different request");
		shop_store_unlock(e);
		sb_release(&err);
		return false;
	}
	if (fp && !e->fingerprint)
		shop_store_set(&e->fingerprint, fp);
	sb_release(&err);
	return true;
}

/* Save and release the record; a failure to save turns the answer into 500. */
static void idem_put(struct shop_req *r, struct shop_store_entry *e)
{
	struct strbuf err = SB_INIT;
	if (shop_store_save(e, &err) < 0)
		shop_reply_error(r, 500, err.buf);
	shop_store_unlock(e);
	sb_release(&err);
}

/* Whether r was answered 2xx: the handler's effect took place. */
static bool answered_ok(const struct shop_req *r)
{
	return r->resp->status >= 200 && r->resp->status <= 299;
}

/* Count one run of the handler for r's key that answered 2xx, for a
 * route that does not hold the key while it runs (the gateway). */
static void idem_applied(struct shop_req *r)
{
	struct shop_store_entry e;
	struct strbuf err = SB_INIT;
	if (shop_store_lock(r->srv->store, r->idem_key, IDEM_WAIT_MS, &e, &err) == 0) {
		e.applied++;
		if (shop_store_save(&e, &err) < 0)
			shop_req_error(r, err.buf);
	}
	shop_store_unlock(&e);
	sb_release(&err);
}

/* ---- ledgers: what each order holds (ledger.h) ------------------------- */

/* Hold the tally key of sub; false after answering 409 or 500. */
static bool ledger_take(struct shop_req *r, const char *sub, const char *key,
			struct shop_ledger *l)
{
	struct strbuf err = SB_INIT;
	int got = shop_ledger_take(r->srv->store, sub, key, IDEM_WAIT_MS, l, &err);
	if (got > 0)
		shop_reply_error(r, 409, "another request for this order is in progress");
	else if (got < 0)
		shop_reply_error(r, 500, err.buf);
	if (got != 0)
		shop_ledger_put(l);
	sb_release(&err);
	return got == 0;
}

/* Save the tally; false after answering 500. */
static bool ledger_save(struct shop_req *r, struct shop_ledger *l)
{
	struct strbuf err = SB_INIT;
	bool ok = shop_ledger_save(l, &err) == 0;
	if (!ok)
		shop_reply_error(r, 500, err.buf);
	sb_release(&err);
	return ok;
}

/* Save a tally put back as it was after a later step failed; that
 * failure is what the request answers, so this one is only logged. */
static void ledger_restore(struct shop_req *r, struct shop_ledger *l)
{
	struct strbuf err = SB_INIT;
	if (shop_ledger_save(l, &err) < 0) {
		struct strbuf msg = SB_INIT;
		sb_addf(&msg, "%s; and restoring '%s': %s", r->error.buf, l->e.key, err.buf);
		shop_req_error(r, msg.buf);
		sb_release(&msg);
	}
	sb_release(&err);
}

/* The tallies: per order in every service, and the inventory's stock. */
#define LEDGER_ORDERS "orders"
#define LEDGER_STOCK "stock"
#define STOCK_KEY "stock"

static const char *const order_only_keys[] = { "order_id", NULL };

/* A body that names an order and nothing else: the order id (required,
 * not empty; valid until cfg_free), or NULL after answering 400. */
static const char *read_order_id(struct shop_req *r, struct cfg *cfg)
{
	cJSON *root = read_body(r, cfg, order_only_keys);
	const char *order_id = NULL;
	if (root)
		cfg_get_text(cfg, root, "", "order_id", true, &order_id);
	if (!root || !body_ok(r, cfg))
		return NULL;
	return order_id;
}

/* Record value under name in the tally of order_id (a charge, a
 * shipment); false after answering 409 or 500. */
static bool order_record(struct shop_req *r, const char *order_id, const char *name,
			 int64_t value)
{
	struct shop_ledger l;
	if (!ledger_take(r, LEDGER_ORDERS, order_id, &l))
		return false;
	*shop_tally_at(&l.t, name) = value;
	bool ok = ledger_save(r, &l);
	shop_ledger_put(&l);
	return ok;
}

/* Take everything the tally of order_id holds: *taken gets it (and is
 * to be freed), the tally is saved empty. False after answering. */
static bool order_take_all(struct shop_req *r, const char *order_id, struct shop_ledger *l,
			   struct shop_tally *taken)
{
	memset(taken, 0, sizeof(*taken));
	if (!ledger_take(r, LEDGER_ORDERS, order_id, l))
		return false;
	for (size_t i = 0; i < l->t.n; i++)
		*shop_tally_at(taken, l->t.names[i]) = l->t.values[i];
	if (!taken->n)
		return true;
	shop_tally_clear(&l->t);
	if (!ledger_save(r, l)) {
		shop_ledger_put(l);
		shop_tally_free(taken);
		return false;
	}
	return true;
}

/* Put the tally of an order back after a later step failed (see
 * order_take_all), and release it. */
static void order_give_back(struct shop_req *r, struct shop_ledger *l,
			    const struct shop_tally *taken)
{
	for (size_t i = 0; i < taken->n; i++)
		*shop_tally_at(&l->t, taken->names[i]) = taken->values[i];
	ledger_restore(r, l);
}

/* ---- answers built from calls ----------------------------------------- */

/* Answer 502 because service failed, saying why (and for which order). */
static void fail_dependency(struct shop_req *r, const char *service, const char *reason,
			    const char *order_id)
{
	struct strbuf msg = SB_INIT, body = SB_INIT;
	struct jw w;
	sb_addf(&msg, "%s failed: %s", service, reason);
	jw_init(&w, &body);
	jw_obj_begin(&w);
	jw_kv_str(&w, "error", msg.buf);
	jw_kv_str(&w, "failed_service", service);
	jw_kv_str(&w, "reason", reason);
	if (order_id)
		jw_kv_str(&w, "order_id", order_id);
	jw_obj_end(&w);
	shop_reply(r, 502, body.buf);
	shop_req_error(r, msg.buf);
	sb_release(&msg);
	sb_release(&body);
}

/* Answer with what the call got, status and body as they came. */
static void pass_through(struct shop_req *r, const struct shop_call *c)
{
	struct httpd_response *resp = r->resp;
	resp->status = (int)c->status;
	if (httpd_response_header(resp, "Content-Type",
				  c->content_type ? c->content_type : "application/json") < 0)
		httpd_response_header(resp, "Content-Type", "application/json");
	sb_reset(&resp->body);
	sb_add(&resp->body, c->answer.buf, c->answer.len);
	if (c->status >= 500)
		shop_req_error(r, c->reason.buf);
	sb_reset(&r->msg);
	sb_addf(&r->msg, "%s %s passed to %s, answered %ld", r->http->method, r->http->path,
		c->instance, c->status);
}

/* Make call c; false (after answering 502) unless it was answered 2xx. */
static bool call_ok(struct shop_req *r, struct shop_call *c, const char *order_id)
{
	if (shop_call_do(r, c) < 0 || c->status < 200 || c->status > 299) {
		fail_dependency(r, c->service, c->reason.buf, order_id);
		return false;
	}
	return true;
}

/* The string member key of the call's JSON answer, copied into out. */
static bool answer_string(const struct shop_call *c, const char *key, char *out, size_t n)
{
	cJSON *doc = cJSON_ParseWithLength(c->answer.buf, c->answer.len);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
	bool ok = cJSON_IsString(v) && *v->valuestring;
	if (ok)
		snprintf(out, n, "%s", v->valuestring);
	cJSON_Delete(doc);
	return ok;
}

static bool answer_int(const struct shop_call *c, const char *key, int64_t *out)
{
	cJSON *doc = cJSON_ParseWithLength(c->answer.buf, c->answer.len);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
	bool ok = cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15;
	if (ok)
		*out = (int64_t)v->valuedouble;
	cJSON_Delete(doc);
	return ok;
}

static void reply_jw(struct shop_req *r, int status, struct strbuf *sb)
{
	shop_reply(r, status, sb->buf);
	sb_release(sb);
}

/* ---- gateway ---------------------------------------------------------- */

static void forward(struct shop_req *r, const char *service, const char *method, const char *path,
		    bool with_body)
{
	struct shop_call c;
	shop_call_init(&c, service, method, path);
	if (with_body && r->http->body.len) {
		c.body = r->http->body.buf;
		c.body_len = r->http->body.len;
	}
	c.idem_key = r->idem_key;
	if (shop_call_do(r, &c) < 0)
		fail_dependency(r, service, c.reason.buf, NULL);
	else
		pass_through(r, &c);
	shop_call_release(&c);
}

static void gateway_orders(struct shop_req *r)
{
	forward(r, "orders", "POST", "/orders", true);
}

static void gateway_products(struct shop_req *r)
{
	forward(r, "inventory", "GET", "/stock", false);
}

/* ---- orders ----------------------------------------------------------- */

static const char *const order_keys[] = { "sku", "qty", NULL };

/* The derived key for a step: KEY/step, or none without a key. */
static const char *derived_key(const struct shop_req *r, const char *step, struct strbuf *sb)
{
	if (!r->idem_key)
		return NULL;
	sb_addf(sb, "%s/%s", r->idem_key, step);
	return sb->buf;
}

/* The three calls of an order; false after answering 502. */
static bool place_order(struct shop_req *r, const char *order_id, const char *sku, int64_t qty)
{
	struct strbuf body = SB_INIT, key = SB_INIT;
	struct jw w;
	char reservation_id[96], charge_id[96], shipment_id[96];
	int64_t amount = 0;
	bool ok = false;
	struct shop_call inv, pay, ship;
	shop_call_init(&inv, "inventory", "POST", "/reserve");
	shop_call_init(&pay, "payments", "POST", "/charge");
	shop_call_init(&ship, "shipping", "POST", "/shipments");

	jw_init(&w, &body);
	jw_obj_begin(&w);
	jw_kv_str(&w, "order_id", order_id);
	jw_kv_str(&w, "sku", sku);
	jw_kv_int(&w, "qty", qty);
	jw_obj_end(&w);
	inv.body = body.buf;
	inv.body_len = body.len;
	inv.idem_key = derived_key(r, "reserve", &key);
	if (!call_ok(r, &inv, order_id))
		goto done;
	if (!answer_string(&inv, "reservation_id", reservation_id, sizeof(reservation_id)) ||
	    !answer_int(&inv, "amount_cents", &amount)) {
		fail_dependency(r, "inventory", "the answer lacks reservation_id or amount_cents",
				order_id);
		goto done;
	}

	sb_reset(&body);
	sb_reset(&key);
	jw_init(&w, &body);
	jw_obj_begin(&w);
	jw_kv_str(&w, "order_id", order_id);
	jw_kv_int(&w, "amount_cents", amount);
	jw_obj_end(&w);
	pay.body = body.buf;
	pay.body_len = body.len;
	pay.idem_key = derived_key(r, "charge", &key);
	if (!call_ok(r, &pay, order_id))
		goto done;
	if (!answer_string(&pay, "charge_id", charge_id, sizeof(charge_id))) {
		fail_dependency(r, "payments", "the answer lacks charge_id", order_id);
		goto done;
	}

	sb_reset(&body);
	sb_reset(&key);
	jw_init(&w, &body);
	jw_obj_begin(&w);
	jw_kv_str(&w, "order_id", order_id);
	jw_kv_str(&w, "sku", sku);
	jw_kv_int(&w, "qty", qty);
	jw_obj_end(&w);
	ship.body = body.buf;
	ship.body_len = body.len;
	ship.idem_key = derived_key(r, "ship", &key);
	if (!call_ok(r, &ship, order_id))
		goto done;
	if (!answer_string(&ship, "shipment_id", shipment_id, sizeof(shipment_id))) {
		fail_dependency(r, "shipping", "the answer lacks shipment_id", order_id);
		goto done;
	}

	struct strbuf answer = SB_INIT;
	jw_init(&w, &answer);
	jw_obj_begin(&w);
	jw_kv_str(&w, "order_id", order_id);
	jw_kv_str(&w, "status", "confirmed");
	jw_kv_str(&w, "sku", sku);
	jw_kv_int(&w, "qty", qty);
	jw_kv_int(&w, "amount_cents", amount);
	jw_kv_str(&w, "reservation_id", reservation_id);
	jw_kv_str(&w, "charge_id", charge_id);
	jw_kv_str(&w, "shipment_id", shipment_id);
	jw_obj_end(&w);
	reply_jw(r, 201, &answer);
	sb_addf(&r->msg, "order %s confirmed", order_id);
	shop_req_field(r, "charge_id", charge_id);
	shop_req_field(r, "shipment_id", shipment_id);
	ok = true;
done:
	if (!ok) {
		sb_reset(&r->msg);
		sb_addf(&r->msg, "order %s failed: %s", order_id, r->error.buf);
	}
	shop_call_release(&inv);
	shop_call_release(&pay);
	shop_call_release(&ship);
	sb_release(&body);
	sb_release(&key);
	return ok;
}

static void orders_create(struct shop_req *r)
{
	struct cfg cfg;
	cJSON *root = read_body(r, &cfg, order_keys);
	const char *sku = "book";
	int64_t qty = 1;
	if (root) {
		cfg_get_string(&cfg, root, "", "sku", false, &sku);
		cfg_get_int(&cfg, root, "", "qty", false, 1, 100, &qty);
	}
	if (!root || !body_ok(r, &cfg)) {
		cfg_free(&cfg);
		return;
	}
	char order_id[96];
	struct shop_store_entry e;
	bool held = false;
	if (r->idem_key) {
		char fp[17];
		fingerprint(r, fp);
		if (!idem_take(r, &e, fp)) {
			cfg_free(&cfg);
			return;
		}
		held = true;
		if (!e.ref) {
			new_id("ord", order_id, sizeof(order_id));
			shop_store_set(&e.ref, order_id);
			struct strbuf err = SB_INIT;
			if (shop_store_save(&e, &err) < 0) {
				shop_reply_error(r, 500, err.buf);
				sb_release(&err);
				shop_store_unlock(&e);
				cfg_free(&cfg);
				return;
			}
			sb_release(&err);
		} else {
			snprintf(order_id, sizeof(order_id), "%s", e.ref);
		}
	} else {
		new_id("ord", order_id, sizeof(order_id));
	}
	shop_req_field(r, "order_id", order_id);
	if (place_order(r, order_id, sku, qty) && held)
		e.applied++;
	if (held)
		idem_put(r, &e);
	cfg_free(&cfg);
}

/* POST /notify: send the order's confirmation (simulated: counted in
 * the order's tally, "notifications"). */
static void orders_notify(struct shop_req *r)
{
	struct cfg cfg;
	const char *order_id = read_order_id(r, &cfg);
	struct shop_ledger l;
	if (!order_id || !ledger_take(r, LEDGER_ORDERS, order_id, &l)) {
		cfg_free(&cfg);
		return;
	}
	int64_t *n = shop_tally_at(&l.t, "notifications");
	++*n;
	if (ledger_save(r, &l)) {
		struct strbuf out = SB_INIT;
		struct jw w;
		jw_init(&w, &out);
		jw_obj_begin(&w);
		jw_kv_str(&w, "order_id", order_id);
		jw_kv_bool(&w, "notified", true);
		jw_kv_int(&w, "notifications", *n);
		jw_obj_end(&w);
		reply_jw(r, 200, &out);
		sb_addf(&r->msg, "order %s: confirmation sent", order_id);
		shop_req_field(r, "order_id", order_id);
	}
	shop_ledger_put(&l);
	cfg_free(&cfg);
}

/* ---- payments, inventory, shipping ------------------------------------ */

static const char *const charge_keys[] = { "order_id", "amount_cents", NULL };

static void payments_charge(struct shop_req *r)
{
	struct cfg cfg;
	cJSON *root = read_body(r, &cfg, charge_keys);
	const char *order_id = NULL;
	int64_t amount = 0;
	if (root) {
		cfg_get_text(&cfg, root, "", "order_id", false, &order_id);
		cfg_get_int(&cfg, root, "", "amount_cents", false, 0, INT64_C(1000000000000),
			    &amount);
	}
	if (!root || !body_ok(r, &cfg)) {
		cfg_free(&cfg);
		return;
	}
	char id[32];
	new_id("ch", id, sizeof(id));
	if (order_id && !order_record(r, order_id, id, amount)) {
		cfg_free(&cfg);
		return;
	}
	struct strbuf out = SB_INIT;
	struct jw w;
	jw_init(&w, &out);
	jw_obj_begin(&w);
	jw_kv_str(&w, "charge_id", id);
	if (order_id)
		jw_kv_str(&w, "order_id", order_id);
	jw_kv_int(&w, "amount_cents", amount);
	jw_kv_str(&w, "status", "captured");
	jw_obj_end(&w);
	reply_jw(r, 201, &out);
	sb_addf(&r->msg, "charge %s captured", id);
	shop_req_field(r, "charge_id", id);
	if (order_id)
		shop_req_field(r, "order_id", order_id);
	cfg_free(&cfg);
}

/* POST /refund: refund every captured charge of the order. */
static void payments_refund(struct shop_req *r)
{
	struct cfg cfg;
	const char *order_id = read_order_id(r, &cfg);
	struct shop_ledger l;
	struct shop_tally charges;
	if (!order_id || !order_take_all(r, order_id, &l, &charges)) {
		cfg_free(&cfg);
		return;
	}
	int64_t cents = 0;
	struct strbuf out = SB_INIT;
	struct jw w;
	jw_init(&w, &out);
	jw_obj_begin(&w);
	jw_kv_str(&w, "order_id", order_id);
	for (size_t i = 0; i < charges.n; i++)
		cents += charges.values[i];
	jw_kv_int(&w, "refunded_cents", cents);
	jw_key(&w, "charges");
	jw_arr_begin(&w);
	for (size_t i = 0; i < charges.n; i++)
		jw_str(&w, charges.names[i]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	reply_jw(r, 200, &out);
	sb_addf(&r->msg, "order %s: %zu charge(s) refunded, %" PRId64 " cents", order_id, charges.n,
		cents);
	shop_req_field(r, "order_id", order_id);
	shop_ledger_put(&l);
	shop_tally_free(&charges);
	cfg_free(&cfg);
}

/* The stock of every sku of the catalogue, as the stock tally has it: a
 * sku it does not have yet starts at the catalogue's figure. */
static void stock_defaults(struct shop_tally *t)
{
	for (size_t i = 0; i < ARRAY_SIZE(catalogue); i++)
		if (!shop_tally_find(t, catalogue[i].sku))
			*shop_tally_at(t, catalogue[i].sku) = catalogue[i].available;
}

static const char *const reserve_keys[] = { "order_id", "sku", "qty", NULL };

/* Take qty of sku from the stock into the order's holding (order_id
 * NULL: taken for good); the stock left in *left. False after answering
 * 409 (not enough) or 500. */
static bool reserve_stock(struct shop_req *r, const char *order_id, const char *sku, int64_t qty,
			  int64_t *left)
{
	struct shop_ledger order, stock;
	if (order_id && !ledger_take(r, LEDGER_ORDERS, order_id, &order))
		return false;
	if (!ledger_take(r, LEDGER_STOCK, STOCK_KEY, &stock)) {
		if (order_id)
			shop_ledger_put(&order);
		return false;
	}
	stock_defaults(&stock.t);
	bool ok = false;
	int64_t *avail = shop_tally_at(&stock.t, sku);
	if (qty > *avail) {
		struct strbuf msg = SB_INIT;
		sb_addf(&msg, "only %" PRId64 " of '%s' available, %" PRId64 " asked", *avail, sku,
			qty);
		shop_reply_error(r, 409, msg.buf);
		sb_release(&msg);
	} else {
		/* Stock first, then the holding: a failure between the two
		 * loses stock rather than making it up. */
		*avail -= qty;
		*left = *avail;
		if (ledger_save(r, &stock)) {
			ok = true;
			if (order_id) {
				*shop_tally_at(&order.t, sku) += qty;
				ok = ledger_save(r, &order);
			}
			if (!ok) {
				*shop_tally_at(&stock.t, sku) += qty;
				ledger_restore(r, &stock);
			}
		}
	}
	shop_ledger_put(&stock);
	if (order_id)
		shop_ledger_put(&order);
	return ok;
}

static void inventory_reserve(struct shop_req *r)
{
	struct cfg cfg;
	cJSON *root = read_body(r, &cfg, reserve_keys);
	const char *order_id = NULL, *sku = "book";
	int64_t qty = 1;
	if (root) {
		cfg_get_text(&cfg, root, "", "order_id", false, &order_id);
		cfg_get_string(&cfg, root, "", "sku", false, &sku);
		cfg_get_int(&cfg, root, "", "qty", false, 1, 100, &qty);
	}
	if (!root || !body_ok(r, &cfg)) {
		cfg_free(&cfg);
		return;
	}
	const struct item *it = find_item(sku);
	int64_t left = 0;
	if (!it) {
		struct strbuf msg = SB_INIT;
		sb_addf(&msg, "unknown sku '%s'", sku);
		shop_reply_error(r, 404, msg.buf);
		sb_release(&msg);
	} else if (reserve_stock(r, order_id, sku, qty, &left)) {
		char id[32];
		new_id("res", id, sizeof(id));
		struct strbuf out = SB_INIT;
		struct jw w;
		jw_init(&w, &out);
		jw_obj_begin(&w);
		jw_kv_str(&w, "reservation_id", id);
		if (order_id)
			jw_kv_str(&w, "order_id", order_id);
		jw_kv_str(&w, "sku", sku);
		jw_kv_int(&w, "qty", qty);
		jw_kv_int(&w, "price_cents", it->price_cents);
		jw_kv_int(&w, "amount_cents", it->price_cents * qty);
		jw_kv_int(&w, "available", left);
		jw_obj_end(&w);
		reply_jw(r, 200, &out);
		sb_addf(&r->msg, "reserved %" PRId64 " of '%s' as %s", qty, sku, id);
		shop_req_field(r, "reservation_id", id);
		if (order_id)
			shop_req_field(r, "order_id", order_id);
	}
	cfg_free(&cfg);
}

/* POST /release: give back to the stock everything the order holds. */
static void inventory_release(struct shop_req *r)
{
	struct cfg cfg;
	const char *order_id = read_order_id(r, &cfg);
	struct shop_ledger order, stock;
	struct shop_tally held;
	if (!order_id || !order_take_all(r, order_id, &order, &held)) {
		cfg_free(&cfg);
		return;
	}
	bool ok = true;
	if (held.n) {
		/* The holding is already saved empty; if the stock cannot take
		 * it back, the holding is restored. */
		ok = ledger_take(r, LEDGER_STOCK, STOCK_KEY, &stock);
		if (ok) {
			stock_defaults(&stock.t);
			for (size_t i = 0; i < held.n; i++)
				*shop_tally_at(&stock.t, held.names[i]) += held.values[i];
			ok = ledger_save(r, &stock);
			shop_ledger_put(&stock);
		}
		if (!ok)
			order_give_back(r, &order, &held);
	}
	if (ok) {
		struct strbuf out = SB_INIT;
		struct jw w;
		jw_init(&w, &out);
		jw_obj_begin(&w);
		jw_kv_str(&w, "order_id", order_id);
		jw_key(&w, "released");
		jw_obj_begin(&w);
		for (size_t i = 0; i < held.n; i++)
			if (held.values[i])
				jw_kv_int(&w, held.names[i], held.values[i]);
		jw_obj_end(&w);
		jw_obj_end(&w);
		reply_jw(r, 200, &out);
		sb_addf(&r->msg, "order %s: stock released", order_id);
		shop_req_field(r, "order_id", order_id);
	}
	shop_ledger_put(&order);
	shop_tally_free(&held);
	cfg_free(&cfg);
}

static void inventory_stock(struct shop_req *r)
{
	struct shop_tally stock;
	struct strbuf err = SB_INIT;
	memset(&stock, 0, sizeof(stock));
	if (shop_ledger_read(r->srv->store, LEDGER_STOCK, STOCK_KEY, &stock, &err) < 0) {
		shop_reply_error(r, 500, err.buf);
		sb_release(&err);
		shop_tally_free(&stock);
		return;
	}
	sb_release(&err);
	stock_defaults(&stock);
	struct strbuf out = SB_INIT;
	struct jw w;
	jw_init(&w, &out);
	jw_obj_begin(&w);
	jw_key(&w, "items");
	jw_arr_begin(&w);
	for (size_t i = 0; i < ARRAY_SIZE(catalogue); i++) {
		jw_obj_begin(&w);
		jw_kv_str(&w, "sku", catalogue[i].sku);
		jw_kv_str(&w, "name", catalogue[i].name);
		jw_kv_int(&w, "price_cents", catalogue[i].price_cents);
		jw_kv_int(&w, "available", *shop_tally_at(&stock, catalogue[i].sku));
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	reply_jw(r, 200, &out);
	shop_tally_free(&stock);
}

/*
 * GET /catalog/SKU: one item of the catalogue and when the answer was
 * made. It exists for ofs-replay's tests: "served_at" differs between
 * any two answers (noise a comparison must learn to ignore), and
 * versions other than v1 answer price_cents as a string and add a
 * "currency" (the planted difference of a changed version).
 */
static void inventory_catalog(struct shop_req *r, const char *sku)
{
	const struct item *it = find_item(sku);
	if (!it) {
		struct strbuf msg = SB_INIT;
		sb_addf(&msg, "unknown sku '%s'", sku);
		shop_reply_error(r, 404, msg.buf);
		sb_release(&msg);
		return;
	}
	bool v1 = !strcmp(r->srv->version, "v1");
	char ts[TS_BUFSZ];
	struct strbuf out = SB_INIT;
	struct jw w;
	jw_init(&w, &out);
	jw_obj_begin(&w);
	jw_kv_str(&w, "sku", it->sku);
	jw_kv_str(&w, "name", it->name);
	if (v1) {
		jw_kv_int(&w, "price_cents", it->price_cents);
	} else {
		char price[24];
		snprintf(price, sizeof(price), "%d", it->price_cents);
		jw_kv_str(&w, "price_cents", price);
		jw_kv_str(&w, "currency", "EUR");
	}
	jw_kv_str(&w, "served_at", ts_format_now(ts));
	jw_obj_end(&w);
	reply_jw(r, 200, &out);
}

static const char *const shipment_keys[] = { "order_id", "sku", "qty", NULL };

static void shipping_create(struct shop_req *r)
{
	struct cfg cfg;
	cJSON *root = read_body(r, &cfg, shipment_keys);
	const char *order_id = NULL, *sku = NULL;
	int64_t qty = 1;
	if (root) {
		cfg_get_text(&cfg, root, "", "order_id", false, &order_id);
		cfg_get_string(&cfg, root, "", "sku", false, &sku);
		cfg_get_int(&cfg, root, "", "qty", false, 1, 100, &qty);
	}
	if (!root || !body_ok(r, &cfg)) {
		cfg_free(&cfg);
		return;
	}
	char id[32];
	new_id("shp", id, sizeof(id));
	if (order_id && !order_record(r, order_id, id, qty)) {
		cfg_free(&cfg);
		return;
	}
	struct strbuf out = SB_INIT;
	struct jw w;
	jw_init(&w, &out);
	jw_obj_begin(&w);
	jw_kv_str(&w, "shipment_id", id);
	if (order_id)
		jw_kv_str(&w, "order_id", order_id);
	jw_kv_str(&w, "status", "scheduled");
	jw_obj_end(&w);
	reply_jw(r, 201, &out);
	sb_addf(&r->msg, "shipment %s scheduled", id);
	shop_req_field(r, "shipment_id", id);
	if (order_id)
		shop_req_field(r, "order_id", order_id);
	cfg_free(&cfg);
}

/* POST /shipments/cancel: cancel every scheduled shipment of the order. */
static void shipping_cancel(struct shop_req *r)
{
	struct cfg cfg;
	const char *order_id = read_order_id(r, &cfg);
	struct shop_ledger l;
	struct shop_tally shipments;
	if (!order_id || !order_take_all(r, order_id, &l, &shipments)) {
		cfg_free(&cfg);
		return;
	}
	struct strbuf out = SB_INIT;
	struct jw w;
	jw_init(&w, &out);
	jw_obj_begin(&w);
	jw_kv_str(&w, "order_id", order_id);
	jw_key(&w, "cancelled");
	jw_arr_begin(&w);
	for (size_t i = 0; i < shipments.n; i++)
		jw_str(&w, shipments.names[i]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	reply_jw(r, 200, &out);
	sb_addf(&r->msg, "order %s: %zu shipment(s) cancelled", order_id, shipments.n);
	shop_req_field(r, "order_id", order_id);
	shop_ledger_put(&l);
	shop_tally_free(&shipments);
	cfg_free(&cfg);
}

/* ---- routing ---------------------------------------------------------- */

enum idem_mode {
	IDEM_NONE,   /* no write: the key is ignored */
	IDEM_PASS,   /* count the key and pass it on (gateway) */
	IDEM_OWN,    /* the handler takes the key itself (orders) */
	IDEM_REPLAY, /* store the answer, answer repeats from the store */
};

struct route {
	const char *service, *method, *path;
	void (*fn)(struct shop_req *r);
	enum idem_mode idem;
};

static const struct route routes[] = {
	{ "gateway", "POST", "/orders", gateway_orders, IDEM_PASS },
	{ "gateway", "GET", "/products", gateway_products, IDEM_NONE },
	{ "orders", "POST", "/orders", orders_create, IDEM_OWN },
	{ "orders", "POST", "/notify", orders_notify, IDEM_REPLAY },
	{ "payments", "POST", "/charge", payments_charge, IDEM_REPLAY },
	{ "payments", "POST", "/refund", payments_refund, IDEM_REPLAY },
	{ "inventory", "POST", "/reserve", inventory_reserve, IDEM_REPLAY },
	{ "inventory", "POST", "/release", inventory_release, IDEM_REPLAY },
	{ "inventory", "GET", "/stock", inventory_stock, IDEM_NONE },
	{ "shipping", "POST", "/shipments", shipping_create, IDEM_REPLAY },
	{ "shipping", "POST", "/shipments/cancel", shipping_cancel, IDEM_REPLAY },
};

static void run_replay(struct shop_req *r, const struct route *rt)
{
	char fp[17];
	struct shop_store_entry e;
	fingerprint(r, fp);
	if (!idem_take(r, &e, fp))
		return;
	if (e.status) {
		shop_reply(r, e.status, e.body ? e.body : "{}");
		httpd_response_header(r->resp, "Idempotent-Replayed", "true");
		sb_addf(&r->msg, "answered %s from the idempotency store", r->idem_key);
		shop_req_field(r, "replayed", "true");
	} else {
		rt->fn(r);
		if (answered_ok(r)) {
			e.applied++;
			e.status = r->resp->status;
			shop_store_set(&e.body, r->resp->body.buf);
		}
	}
	idem_put(r, &e);
}

static void run_pass(struct shop_req *r, const struct route *rt)
{
	struct shop_store_entry e;
	if (!idem_take(r, &e, NULL))
		return;
	idem_put(r, &e);
	if (r->resp->status < 400) {
		rt->fn(r);
		if (answered_ok(r))
			idem_applied(r);
	}
}

bool shop_role_handle(struct shop_req *r)
{
	const char *service = r->srv->service->name;
	const struct route *match = NULL;
	if (!strcmp(service, "inventory") && !strncmp(r->http->path, "/catalog/", 9) &&
	    r->http->path[9]) {
		if (strcmp(r->http->method, "GET")) {
			shop_reply_error(r, 405, "method not allowed");
			httpd_response_header(r->resp, "Allow", "GET");
		} else {
			inventory_catalog(r, r->http->path + 9);
		}
		return true;
	}
	struct strbuf allow = SB_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		const struct route *rt = &routes[i];
		if (strcmp(rt->service, service) || strcmp(rt->path, r->http->path))
			continue;
		sb_addf(&allow, "%s%s", allow.len ? ", " : "", rt->method);
		if (!strcmp(rt->method, r->http->method))
			match = rt;
	}
	if (!allow.len) {
		sb_release(&allow);
		return false;
	}
	if (!match) {
		shop_reply_error(r, 405, "method not allowed");
		httpd_response_header(r->resp, "Allow", allow.buf);
	} else if (!r->idem_key || match->idem == IDEM_NONE) {
		match->fn(r);
	} else if (match->idem == IDEM_REPLAY) {
		run_replay(r, match);
	} else if (match->idem == IDEM_PASS) {
		run_pass(r, match);
	} else {
		match->fn(r);
	}
	sb_release(&allow);
	return true;
}
