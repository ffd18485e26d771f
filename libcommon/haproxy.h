/*
 * haproxy.h: a client of HAProxy's runtime API (the stats socket).
 *
 * ofs-deploy shifts traffic on a running HAProxy without reloads: it sets
 * server weights, drains a server, waits until its sessions reach zero,
 * puts it in maintenance and back. This module is the one place that
 * talks to the socket. Each call opens one connection, sends one command
 * ("CMD\n", HAProxy's non-interactive mode), reads the answer until HAProxy
 * closes the connection, and closes; every step of that exchange is bounded
 * by the caller's timeout. The socket must be declared `level admin` for
 * the commands that change state.
 *
 * An address is either the path of a Unix socket ("/run/haproxy.sock",
 * anything holding a '/' or not of the form HOST:PORT) or "HOST:PORT" for
 * a TCP stats socket ("127.0.0.1:9999", "[::1]:9999", "localhost:9999").
 *
 * Errors: every function returns 0 on success and -1 on failure, with one
 * line (no newline, no program prefix) in err, which is reset first:
 *   cannot connect to haproxy runtime socket '/run/h.sock': Connection refused
 *   haproxy answered 'No such server.' to 'set weight be/x 10'
 * err may be NULL when the caller does not want the text. Nothing here
 * prints or exits, except that allocation failures die (alloc.h).
 *
 * Names of backends and servers are checked against the characters HAProxy
 * itself allows in them (letters, digits, '-', '_', '.', ':'), and command
 * strings holding CR or LF are refused, so a name can never smuggle a
 * second command onto the socket.
 */
#ifndef OFS_HAPROXY_H
#define OFS_HAPROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

/* Longest answer kept from one command; a longer one is an error. */
#define HAP_ANSWER_MAX (64u * 1024 * 1024)
/* Interval between two looks at a server's sessions in hap_wait_drained. */
#define HAP_DRAIN_POLL_MS 100
/* Least time one look of hap_wait_drained is allowed (if the timeout is longer). */
#define HAP_DRAIN_LOOK_MS 1000

/* The administrative state of a server, as `set server ... state` sets it. */
enum hap_state {
	HAP_READY, /* takes traffic as its weight says */
	HAP_DRAIN, /* keeps its sessions, takes no new ones (but persistent) */
	HAP_MAINT  /* out: no traffic, health checks stopped */
};

/* One server row of `show stat`. */
struct hap_server {
	char *backend;        /* pxname */
	char *name;           /* svname */
	char *status;         /* as HAProxy wrote it: "UP", "no check", "DOWN 1/2", "MAINT" */
	enum hap_state state; /* read from status: "MAINT..." / "DRAIN..." / anything else */
	int weight;           /* effective weight, -1 when the column is empty */
	long long scur;       /* current sessions, -1 when empty */
	long long stot;       /* total sessions so far, -1 when empty */
	/* HTTP responses so far by status class (hrsp_1xx..hrsp_5xx,
	 * hrsp_other): -1 when the column is absent or empty (mode tcp). */
	long long hrsp_1xx, hrsp_2xx, hrsp_3xx, hrsp_4xx, hrsp_5xx, hrsp_other;
	char *addr;           /* "addr" column, "127.0.0.1:8080" or "[::1]:8080" as
				 HAProxy wrote it; NULL when the column is absent
				 (HAProxy before 1.9) or empty */
};

/* hap_state_name: "ready", "drain" or "maint". */
const char *hap_state_name(enum hap_state st);

/*
 * hap_valid_name: 1 if name is a usable backend or server name (non-empty,
 * at most 255 bytes, only HAProxy's allowed characters), else 0.
 */
int hap_valid_name(const char *name);

/*
 * hap_command: send cmd (without its newline) to the runtime socket at
 * addr and put HAProxy's whole answer, as received, in answer (reset
 * first; the caller owns it). HAProxy's own error texts ("No such
 * backend.") are answers, not failures here: the helpers below read them.
 * Fails for a cmd holding CR or LF (nothing is sent), an address that
 * cannot be parsed or resolved, a connection or I/O error, an answer over
 * HAP_ANSWER_MAX, or when the whole exchange takes more than timeout_ms
 * (which must be > 0).
 */
int hap_command(const char *addr, const char *cmd, int timeout_ms, struct strbuf *answer,
		struct strbuf *err);

/*
 * hap_set_weight: `set weight BACKEND/SERVER WEIGHT`, weight 0..256.
 * Success is HAProxy's empty answer; any text it answers is the error.
 */
int hap_set_weight(const char *addr, const char *backend, const char *server, int weight,
		   int timeout_ms, struct strbuf *err);

/*
 * hap_get_weight: `get weight BACKEND/SERVER`, whose answer is
 * "CUR (initial INIT)". Stores the current weight in *current and the one
 * from the configuration in *initial (either pointer may be NULL).
 */
int hap_get_weight(const char *addr, const char *backend, const char *server, int *current,
		   int *initial, int timeout_ms, struct strbuf *err);

/* hap_set_state: `set server BACKEND/SERVER state ready|drain|maint`. */
int hap_set_state(const char *addr, const char *backend, const char *server,
		  enum hap_state st, int timeout_ms, struct strbuf *err);

/*
 * hap_set_addr: `set server BACKEND/SERVER addr HOST port PORT`, which
 * points a server (typically one of a server-template, kept in MAINT)
 * at an instance. host must be a numeric IPv4 or IPv6 address (HAProxy
 * resolves no names here: "localhost" is its "Invalid addr" error);
 * [::1] and ::1 are both accepted. port must be 1..65535 (HAProxy would
 * take 0 and wrap 99999 around, so both are refused before sending).
 * Unlike the other setters HAProxy answers a text on success too:
 * "IP changed from 'A' to 'B'" or "no need to change the addr", then
 * ", port changed from 'P' to 'Q'" or ", no need to change the port",
 * then " by 'stats socket command'". Only such an answer is success;
 * anything else ("Invalid addr ...", "No such server.", a port HAProxy
 * refuses, even after an address it did change) is the error. The
 * server's state and weight are not changed.
 */
int hap_set_addr(const char *addr, const char *backend, const char *server, const char *host,
		 int port, int timeout_ms, struct strbuf *err);

/*
 * hap_servers: the servers of backend (NULL: of every backend) from `show
 * stat` (`show stat BACKEND 4 -1` when one is named, so an unknown backend
 * is HAProxy's "No such proxy." error). FRONTEND and BACKEND summary rows
 * are left out. *out is a new array of *n servers that the caller frees
 * with hap_servers_free (NULL and 0 on failure or when there is none).
 */
int hap_servers(const char *addr, const char *backend, struct hap_server **out, size_t *n,
		int timeout_ms, struct strbuf *err);

/* hap_servers_free: free an array from hap_servers or hap_parse_stat
 * (every string of every server, addr included, then the array). */
void hap_servers_free(struct hap_server *v, size_t n);

/*
 * hap_parse_stat: read len bytes of `show stat` CSV (the "# pxname,..."
 * header line names the columns, which are found by name, so columns
 * added by later HAProxy versions do not matter; quoted fields with ""
 * are read as CSV; "addr" is optional, every other column used is
 * required). Keeps server rows of backend (NULL: all), skipping
 * FRONTEND and BACKEND rows; a blank line ends the table. Fails for a
 * missing header or column, or a row shorter than the columns it needs.
 * The hrsp_* columns are optional: absent, or past the end of a row,
 * they read as -1.
 * Ownership as for hap_servers.
 */
int hap_parse_stat(const char *text, size_t len, const char *backend, struct hap_server **out,
		   size_t *n, struct strbuf *err);

/*
 * hap_wait_drained: look at the server's current sessions (scur) every
 * HAP_DRAIN_POLL_MS until they are 0 (returns 0) or timeout_ms has passed
 * (returns -1 with "server 'be/s1' still has 2 sessions after 1000 ms" in
 * err). Each look is bounded by the time left, but is allowed at least
 * HAP_DRAIN_LOOK_MS (or timeout_ms if shorter), so a slow answer to the
 * last look can make the whole wait overrun by that much rather than
 * turn a timeout into a socket error. *left (may be NULL) receives
 * the last count seen, so a caller tells a timeout (*left > 0) from any
 * other failure (*left == -1: socket error, unknown backend or server).
 * It does not change the server's state: drain it first.
 */
int hap_wait_drained(const char *addr, const char *backend, const char *server, int timeout_ms,
		     long long *left, struct strbuf *err);

#endif
