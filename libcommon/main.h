/*
 * main.h: the entry point each ofs binary provides. libcommon's main()
 * sets up messages and signals, calls cmd_main and turns its return
 * value into the exit status after checking that stdout was written.
 */
#ifndef OFS_MAIN_H
#define OFS_MAIN_H

int cmd_main(int argc, char **argv);

#endif
