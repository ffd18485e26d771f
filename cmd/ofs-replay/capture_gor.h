/*
 * capture_gor.h: importing GoReplay files (libcommon/goreplay.h parses
 * one record; this pairs requests with their responses).
 */
#ifndef OFS_REPLAY_CAPTURE_GOR_H
#define OFS_REPLAY_CAPTURE_GOR_H

#include "capture.h"
#include "capture_input.h"

/* Records a request waits for its responses, counted in records read. */
#define GOR_WINDOW 100
/* The largest record accepted; a larger one is rejected and skipped. */
#define GOR_MAX_RECORD (64u * 1024 * 1024)

/*
 * gor_import: read a GoReplay stream from in and write its exchanges
 * through c. Records are paired by id: a request, its original response
 * (type 2) and its replayed response (type 3) make one exchange, whatever
 * order they came in, as long as they come within GOR_WINDOW records of
 * the first of them; a request still alone then is written without a
 * response, a response whose request never came is rejected. Exchanges
 * come out in the order their first record came in. Bad records are
 * rejected at their first line. Returns 0, 1 when --strict or a signal
 * stopped the reading, -1 on a read error (reported).
 */
int gor_import(struct cap_ctx *c, struct cin *in);

#endif
