/*
 * render.h: what `ofs-split render` knows once its options are read, the
 * writers of each proxy's configuration (render_nginx.c, render_haproxy.c,
 * render_mesh.c), and the HAProxy weight rule that `ofs-split apply`
 * shares with the rendered configuration.
 */
#ifndef OFS_SPLIT_RENDER_H
#define OFS_SPLIT_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"
#include "weights.h"

#define RENDER_MAX_ADDRS 64

/* One address of an upstream: host as given (an IPv6 address without its
 * brackets) and port. */
struct render_addr {
	char *host;
	int port;
	bool v6;
};

struct render_upstream {
	struct render_addr a[RENDER_MAX_ADDRS];
	size_t n;
};

struct render {
	struct split_weights w;
	char *weights_text;   /* canonical: legacy=90,new=10 */
	struct render_upstream up[SPLIT_MAX_VARIANTS]; /* by variant index */
	const char *salt;     /* "" when none */
	const char *nginx_key; /* NULL: from --header, else $cookie_customer */
	const char *header;   /* NULL when none */
	struct render_addr listen; /* host NULL: every address */
	const char *name;     /* default "split" */
	bool name_given;
};

/*
 * Each writer appends the whole configuration to out. It returns 0, or
 * -1 with one line in err for a split the format cannot express (the
 * caller exits 2): a whole-percentage rule, a salt it cannot hold.
 */
int render_nginx(const struct render *r, struct strbuf *out, struct strbuf *err);
int render_haproxy(const struct render *r, struct strbuf *out, struct strbuf *err);
int render_envoy(const struct render *r, struct strbuf *out, struct strbuf *err);
int render_istio(const struct render *r, struct strbuf *out, struct strbuf *err);

/*
 * split_hap_weights: HAProxy server weights (0..256) for variants whose
 * variant i is served by nservers[i] servers: out[i] is the weight of
 * each of them. When every percentage divided by its server count is a
 * whole number, that number is the weight ("legacy=90,new=10": 90 and
 * 10); otherwise every weight is scaled by 256/100 and rounded (12.5 %
 * becomes 32), and the function returns true so the caller can say so.
 * A variant with a weight never gets 0 (at least 1), so it keeps its
 * traffic. Pure.
 */
bool split_hap_weights(const struct split_weights *w, const size_t *nservers, int *out);

/* render_addr_text: "host:port", "[v6]:port" appended to sb. */
void render_addr_text(struct strbuf *sb, const struct render_addr *a);

#endif
