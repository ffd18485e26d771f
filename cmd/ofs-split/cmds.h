/*
 * cmds.h: ofs-split's commands and their option tables (main.c holds the
 * command table; each command's file defines its options, next to the
 * code that reads them).
 */
#ifndef OFS_SPLIT_CMDS_H
#define OFS_SPLIT_CMDS_H

#include "opt.h"

/* route.c: records to variants by their key */
extern const struct opt route_opts[];
int cmd_route(int argc, char **argv);

/* send.c: requests to primary and candidate, compared */
extern const struct opt send_opts[];
int cmd_send(int argc, char **argv);

/* report.c: the go/no-go table from split.compare records */
extern const struct opt report_opts[];
int cmd_report(int argc, char **argv);

/* render.c: the split as nginx, HAProxy, Envoy or Istio configuration */
extern const struct opt render_opts[];
int cmd_render(int argc, char **argv);

/* apply.c: the weights set live on a running HAProxy */
extern const struct opt apply_opts[];
int cmd_apply(int argc, char **argv);

#endif
