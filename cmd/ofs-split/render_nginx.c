/*
 * render_nginx.c: the split as an nginx configuration fragment, to be
 * included inside http { }.
 *
 * split_clients is nginx's own sticky split, and weights.c implements
 * its rule exactly (MurmurHash2 of the key string, consecutive ranges in
 * the order given, "*" for the last one), so a key that `ofs-split route`
 * puts in "new" is sent to the new upstream by this configuration. The
 * split key is the key expression followed by the salt, as route hashes
 * the key's bytes followed by the salt's. A variant at 0 % is left out of
 * split_clients (nginx would read "0%" as a catch-all) but keeps its
 * upstream, so the next ramp only changes the percentages.
 *
 * The variable holds the variant's name ($ofs_variant, or
 * $ofs_variant_NAME with --name) and proxy_pass adds the upstream prefix,
 * so the variable is also what access logs can show.
 */
#include "common.h"
#include <ctype.h>

#include "render.h"

/* Append s inside an nginx double-quoted string: " and \ escaped. */
static void quoted(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sb_addch(out, '\\');
		sb_addch(out, *s);
	}
}

/* The key expression with every $name written ${name}, so that the salt
 * appended after it cannot lengthen the last variable's name. */
static void key_expr(struct strbuf *out, const char *e)
{
	while (*e) {
		if (*e == '$' && (isalnum((unsigned char)e[1]) || e[1] == '_')) {
			const char *n = ++e;
			while (isalnum((unsigned char)*e) || *e == '_')
				e++;
			sb_addf(out, "${%.*s}", (int)(e - n), n);
			continue;
		}
		if (*e == '"' || *e == '\\')
			sb_addch(out, '\\');
		sb_addch(out, *e++);
	}
}

int render_nginx(const struct render *r, struct strbuf *out, struct strbuf *err)
{
	if (strchr(r->salt, '$')) {
		sb_addstr(err, "--salt: nginx would read '$' in the split key as a variable; "
			       "choose a salt without it");
		return -1;
	}
	struct strbuf key = SB_INIT, var = SB_INIT;
	if (r->nginx_key) {
		sb_addstr(&key, r->nginx_key);
	} else if (r->header) {
		sb_addstr(&key, "$http_");
		for (const char *h = r->header; *h; h++)
			sb_addch(&key, *h == '-' ? '_' : tolower((unsigned char)*h));
	} else {
		sb_addstr(&key, "$cookie_customer");
	}
	sb_addstr(&var, "ofs_variant");
	if (r->name_given) {
		sb_addch(&var, '_');
		for (const char *n = r->name; *n; n++)
			sb_addch(&var, *n == '-' ? '_' : *n);
	}

	sb_addf(out, "# ofs-split render --format nginx: %s", r->weights_text);
	if (*r->salt) {
		sb_addstr(out, ", salt \"");
		quoted(out, r->salt);
		sb_addch(out, '"');
	}
	sb_addstr(out, "\n# Include inside http { }. A key goes to the variant `ofs-split route` gives it\n"
		       "# (MurmurHash2 of the key, then the salt: nginx's split_clients rule).\n");
	sb_addstr(out, "split_clients \"");
	key_expr(out, key.buf);
	quoted(out, r->salt);
	sb_addf(out, "\" $%s {\n", var.buf);
	for (size_t i = 0; i < r->w.n; i++) {
		const struct split_variant *v = &r->w.v[i];
		if (!v->bp)
			continue;
		sb_addstr(out, "    ");
		if (v->catch_all) {
			sb_addstr(out, "*");
		} else {
			weights_percent(out, v->bp);
			sb_addch(out, '%');
		}
		sb_addf(out, " %s;\n", v->name);
	}
	sb_addstr(out, "}\n");
	for (size_t i = 0; i < r->w.n; i++) {
		sb_addf(out, "\nupstream %s_%s {\n", r->name, r->w.v[i].name);
		for (size_t j = 0; j < r->up[i].n; j++) {
			sb_addstr(out, "    server ");
			render_addr_text(out, &r->up[i].a[j]);
			sb_addstr(out, ";\n");
		}
		sb_addstr(out, "}\n");
	}
	sb_addstr(out, "\nserver {\n    listen ");
	if (r->listen.host)
		render_addr_text(out, &r->listen);
	else
		sb_addf(out, "%d", r->listen.port);
	sb_addstr(out, ";\n    location / {\n");
	sb_addstr(out, "        proxy_set_header Host $host;\n");
	sb_addf(out, "        proxy_set_header X-Ofs-Variant $%s;\n", var.buf);
	sb_addf(out, "        proxy_pass http://%s_$%s;\n", r->name, var.buf);
	sb_addstr(out, "    }\n}\n");
	sb_release(&key);
	sb_release(&var);
	return 0;
}
