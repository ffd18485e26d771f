/*
 * sig.h: SIGINT, SIGTERM and SIGHUP as requests to stop cleanly
 * (DESIGN.md section 5): finish or abandon the current step, restore what
 * was injected, write the journal, then exit with 128 + the signal.
 *
 * sig_setup installs handlers that only record the signal and write a
 * byte to a self-pipe; poll loops include sig_fd() to wake at once, and
 * long work checks sig_pending() between steps.
 */
#ifndef OFS_SIG_H
#define OFS_SIG_H

/* sig_setup: install the handlers (idempotent). */
void sig_setup(void);
/*
 * sig_catch: record signo too, like the three above (sig_setup first).
 * For tools that give other signals a meaning: ofs-chaos stops an
 * experiment on SIGUSR1 and SIGUSR2.
 */
void sig_catch(int signo);
/* sig_pending: the signal number received, or 0. */
int sig_pending(void);
/* sig_fd: a descriptor that becomes readable when a signal arrives. */
int sig_fd(void);
/* sig_exit_status: 128 + the signal received (or 0 if none). */
int sig_exit_status(void);
/* sig_reset: forget a received signal (tests, or after handling it). */
void sig_reset(void);

#endif
