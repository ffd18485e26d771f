/*
 * fault.h: the fault switches of a shop instance, set through
 * POST /admin/fault so tests, demos and ofs-chaos can break an instance
 * on purpose and watch the rest of the shop cope.
 *
 * Switches (a JSON object; fields combine; a POST changes only the
 * fields it names, DELETE clears them all):
 *   "status": N        business endpoints answer N (400..599; 0 turns it off)
 *   "times": N         with "status": only the next N business answers of
 *                      the instance (1..1000000), then the status switch
 *                      turns itself off; without it, until cleared. Given
 *                      alone it sets the count of the status already on.
 *                      Shown as the answers left (null: until cleared).
 *   "latency_ms": N    business and /health answers are sent N ms late
 *   "hang": true       business and /health requests are never answered
 *   "exit": N          answer this request, then exit with status N (0..255)
 *   "health": "fail"   /health answers 503 ("ok" turns it off)
 * Admin endpoints are never affected.
 */
#ifndef SHOP_FAULT_H
#define SHOP_FAULT_H

#include <stdbool.h>
#include <stddef.h>

#include "jw.h"
#include "strbuf.h"

struct shop_fault {
	int status;	/* 0: off */
	long times;	/* status answers left, then status turns off; 0: until cleared */
	int latency_ms; /* 0: off */
	bool hang;
	int exit_code; /* -1: off */
	bool health_fail;
};

/* shop_fault_clear: every switch off. */
void shop_fault_clear(struct shop_fault *f);

/*
 * shop_fault_apply: read a JSON object of switches (len bytes at body)
 * and set them in *f. Everything is checked first: on any problem
 * nothing changes, -1 is returned and err gets every reason, separated
 * by "; " ("fault: /status: must be 400..599, got 42"). Returns 0 on
 * success.
 */
int shop_fault_apply(struct shop_fault *f, const char *body, size_t len, struct strbuf *err);

/*
 * shop_fault_status: the status to answer a business request with, 0
 * when the status switch is off. Counts the answer against "times",
 * turning the switch off after the last one.
 */
int shop_fault_status(struct shop_fault *f);

/* shop_fault_write: write the switches as one JSON object to w. */
void shop_fault_write(const struct shop_fault *f, struct jw *w);

#endif
