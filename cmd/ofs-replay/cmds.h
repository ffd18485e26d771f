/*
 * cmds.h: ofs-replay's commands and their option tables (main.c holds the
 * command table; each command's file defines its options, so the options
 * of a command are declared next to the code that reads them).
 */
#ifndef OFS_REPLAY_CMDS_H
#define OFS_REPLAY_CMDS_H

#include "opt.h"

/* capture: record.c, import.c */
extern const struct opt record_opts[];
extern const struct opt import_opts[];
int cmd_record(int argc, char **argv);
int cmd_import(int argc, char **argv);

/* replay and comparison: play.c */
extern const struct opt play_opts[];
int cmd_play(int argc, char **argv);

/* event sourcing: fold.c, reconcile.c */
extern const struct opt fold_opts[];
extern const struct opt reconcile_opts[];
int cmd_fold(int argc, char **argv);
int cmd_reconcile(int argc, char **argv);

/* migration: verify.c, map.c */
extern const struct opt verify_opts[];
extern const struct opt map_opts[];
int cmd_verify(int argc, char **argv);
int cmd_map(int argc, char **argv);

/* schemas: schema_cmd.c */
extern const struct opt schema_opts[];
int cmd_schema(int argc, char **argv);

#endif
