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
#include "rnd.h"
#include "roles.h"
#include "shopd.h"
#include "store.h"

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

/* Parse the body (empty reads as {}) into cfg; NULL after answering 400. */
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
	return root;
}

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
	place_order(r, order_id, sku, qty);
	if (held)
		idem_put(r, &e);
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
		cfg_get_string(&cfg, root, "", "order_id", false, &order_id);
		cfg_get_int(&cfg, root, "", "amount_cents", false, 0, INT64_C(1000000000000),
			    &amount);
	}
	if (root && body_ok(r, &cfg)) {
		char id[32];
		new_id("ch", id, sizeof(id));
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
	}
	cfg_free(&cfg);
}

static const char *const reserve_keys[] = { "order_id", "sku", "qty", NULL };

static void inventory_reserve(struct shop_req *r)
{
	struct cfg cfg;
	cJSON *root = read_body(r, &cfg, reserve_keys);
	const char *order_id = NULL, *sku = "book";
	int64_t qty = 1;
	if (root) {
		cfg_get_string(&cfg, root, "", "order_id", false, &order_id);
		cfg_get_string(&cfg, root, "", "sku", false, &sku);
		cfg_get_int(&cfg, root, "", "qty", false, 1, 100, &qty);
	}
	if (!root || !body_ok(r, &cfg)) {
		cfg_free(&cfg);
		return;
	}
	const struct item *it = find_item(sku);
	if (!it) {
		struct strbuf msg = SB_INIT;
		sb_addf(&msg, "unknown sku '%s'", sku);
		shop_reply_error(r, 404, msg.buf);
		sb_release(&msg);
	} else if (qty > it->available) {
		struct strbuf msg = SB_INIT;
		sb_addf(&msg, "only %d of '%s' available, %" PRId64 " asked", it->available, sku,
			qty);
		shop_reply_error(r, 409, msg.buf);
		sb_release(&msg);
	} else {
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
		jw_obj_end(&w);
		reply_jw(r, 200, &out);
		sb_addf(&r->msg, "reserved %" PRId64 " of '%s' as %s", qty, sku, id);
		shop_req_field(r, "reservation_id", id);
		if (order_id)
			shop_req_field(r, "order_id", order_id);
	}
	cfg_free(&cfg);
}

static void inventory_stock(struct shop_req *r)
{
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
		jw_kv_int(&w, "available", catalogue[i].available);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
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
		cfg_get_string(&cfg, root, "", "order_id", false, &order_id);
		cfg_get_string(&cfg, root, "", "sku", false, &sku);
		cfg_get_int(&cfg, root, "", "qty", false, 1, 100, &qty);
	}
	if (root && body_ok(r, &cfg)) {
		char id[32];
		new_id("shp", id, sizeof(id));
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
	}
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
	{ "payments", "POST", "/charge", payments_charge, IDEM_REPLAY },
	{ "inventory", "POST", "/reserve", inventory_reserve, IDEM_REPLAY },
	{ "inventory", "GET", "/stock", inventory_stock, IDEM_NONE },
	{ "shipping", "POST", "/shipments", shipping_create, IDEM_REPLAY },
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
		int st = r->resp->status;
		if (st >= 200 && st <= 299) {
			e.status = st;
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
	if (r->resp->status < 400)
		rt->fn(r);
}

bool shop_role_handle(struct shop_req *r)
{
	const char *service = r->srv->service->name;
	const struct route *match = NULL;
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
