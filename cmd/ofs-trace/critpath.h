/*
 * critpath.h: the critical path of one assembled trace, by the method of
 * Jaeger UI (see /work/shared/reference/trace.md), as a pure function so
 * that it can be tested on hand-made traces.
 */
#ifndef OFS_TRACE_CRITPATH_H
#define OFS_TRACE_CRITPATH_H

#include <stddef.h>
#include <stdint.h>

#include "traces.h"

/* One stretch of time spent in one span and in none of its children. */
struct crit_section {
	size_t node;      /* index into trace.nodes */
	int64_t start_ns; /* corrected epoch nanoseconds */
	int64_t end_ns;
};

/*
 * critpath_compute: the critical path of the tree under root in t (which
 * must be linked), in time order, into *out (allocated; the caller frees
 * it). Rules: children are clipped to their (clipped) parent and dropped
 * when wholly outside it; asynchronous children (kind consumer, or kind
 * producer ending after their parent) are dropped with their subtrees;
 * then from the root's end the last-finishing child that ends strictly
 * before the current point is followed, the gap after it belonging to
 * the parent. Sections of zero length are left out. Returns the number
 * of sections. No side effects.
 */
size_t critpath_compute(const struct trace *t, size_t root, struct crit_section **out);

/* critpath_root: the root a trace's critical path starts from: the
 * earliest root that is not an orphan, else the earliest root; TRACE_NONE
 * for an empty trace. */
size_t critpath_root(const struct trace *t);

#endif
