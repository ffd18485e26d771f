/*
 * verify.c: `ofs-replay verify --key PTR LEGACY NEW`, the proof that a
 * migrated store holds what the monolith held.
 *
 * Two record sets, each possibly larger than memory, are compared by key
 * in three steps:
 *
 *  1. Partition. Each input is read once, line by line; vscan_line (libcommon) checks
 *     the line and finds its key without building a tree. The key is
 *     hashed (hash_bytes, a fixed seed, so runs are reproducible) and the
 *     line goes, with its key, hash and line number, to its partition:
 *     the top bits of the hash. The number of partitions is a power of
 *     two chosen from the input sizes and --memory. Partitions are held
 *     in memory (chunks of huge pages) while they fit half of --memory;
 *     past that, every partition is appended to its temporary file.
 *  2. Compare, partition by partition: both sides of a partition are
 *     loaded, each side's keys go into an open-addressing table,
 *     and every key is classified: duplicate (a second occurrence on one
 *     side, reported, never merged), missing (legacy only), extra (new
 *     only), or a pair. A pair whose bytes are identical is the same
 *     record with no parse at all; any other pair is parsed with cJSON
 *     and compared field by field (libcommon's jsondiff: objects by key,
 *     whatever their order, arrays by index, numbers by value, so 1.0
 *     equals 1), and is "changed" only if a field differs.
 *     A partition larger than the memory budget (a stdin or gzip input
 *     whose size was not known) is split again by the next bits of the
 *     hash before it is loaded.
 *  3. Report: the differences of a partition are sorted by (key hash,
 *     key); since partitions are hash prefixes, the whole output is in
 *     that order, the same whatever --memory is. Then one replay.verify
 *     summary.
 *
 * Temporary files go to $TMPDIR and are unlinked as soon as they are
 * created, so nothing is left behind however the process ends. SIGINT
 * and SIGTERM stop the work between two records (exit 128+N).
 */
#include "common.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include "cmds.h"
#include "hash.h"
#include "jsonl.h"
#include "jw.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "sig.h"
#include "units.h"
#include "jsondiff.h"
#include "vscan.h"

enum {
	VOPT_STRICT = 256,
};

const struct opt verify_opts[] = {
	{ 'i', 'i', "ignore", "pointer", "do not compare the field at pointer or below it; repeatable",
	  NULL, 0 },
	{ 'k', 'k', "key", "pointer", "the record's key (repeat for a composite key)", NULL, OPT_REQUIRED },
	{ 'm', 'm', "memory", "size", "memory budget for the records held at once (default 256M)",
	  NULL, 0 },
	{ 'n', 'n', "limit", "n", "write at most n difference records (the summary counts all)",
	  NULL, 0 },
	{ VOPT_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ 0 },
};

#define VSEED 0x6f66732d76657269ULL /* "ofs-veri": fixed, so runs agree */
#define FANOUT_BITS 4               /* a partition too big splits 16 ways */
#define MAX_PART_BITS 7             /* at most 128 partition files per side */

/* A record in a partition file: this header, the key, the line. */
struct vhdr {
	uint64_t hash;
	uint64_t lineno;
	uint32_t keylen;
	uint32_t linelen;
};

/* A loaded record. */
struct vent {
	uint64_t hash;
	uint64_t lineno;
	const char *key;
	const char *line;
	uint32_t keylen, linelen;
	uint64_t first_line; /* for a duplicate: the line of the first one */
	bool dup;
};

enum vkind { EV_DUP_L, EV_DUP_N, EV_MISSING, EV_EXTRA, EV_PAIR };

struct vev {
	uint64_t hash;
	const struct vent *l, *n; /* the record(s) concerned */
	enum vkind kind;
};

struct verify {
	struct vptr keys[VSCAN_MAX_PTRS];
	size_t nkeys;
	const char **ignore;
	size_t nignore;
	uint64_t memory;
	uint64_t limit; /* 0: no limit */
	bool strict;
	const char *name[2]; /* legacy, new: as in messages */

	unsigned part_bits;
	struct part *parts[2]; /* per side, 1 << part_bits */
	uint64_t held;         /* bytes of partition data held in memory */
	size_t chunk;          /* the size of a memory chunk */

	/* counts */
	uint64_t nrec[2], same, missing, extra, changed, dups[2], rejected, written;
	uint64_t partitions;
	struct ht *fields; /* pointer -> count (uintptr_t) */

	struct out *out;
	struct jw w;
	struct strbuf sb;
};

/* Memory for records, in chunks so that growing never copies. */
struct chunk {
	char *p;
	size_t len, cap;
	struct chunk *next;
};

/* A partition of one side: its records in memory until the budget is
 * reached, then appended to its temporary file. */
struct part {
	struct chunk *head, *tail;
	size_t count; /* records in memory */
	FILE *f;      /* NULL while nothing was spilled */
};

/* Where temporary files go: $TMPDIR, else /tmp. */
static const char *tmp_base = "/tmp";

/*
 * A temporary file is removed from the directory as soon as it is
 * created and lives on as an open descriptor: whatever ends the process
 * (the end of the work, a signal, a failed write to stdout, SIGKILL),
 * the kernel reclaims it and nothing is left behind.
 */
static FILE *tmp_create(void)
{
	char *path = xasprintf("%s/ofs-replay-verify.XXXXXX", tmp_base);
	int fd = mkstemp(path);
	if (fd < 0)
		die_errno("cannot create a temporary file in '%s'", tmp_base);
	unlink(path);
	free(path);
	FILE *f = fdopen(fd, "w+b");
	if (!f)
		die_errno("cannot open a temporary file in '%s'", tmp_base);
	return f;
}

static void tmp_write(FILE *f, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, f) != n)
		die_errno("cannot write a temporary file in '%s'", tmp_base);
}

/* Flush f and return its size. */
static uint64_t tmp_size(FILE *f)
{
	struct stat st;
	if (fflush(f) != 0)
		die_errno("cannot write a temporary file in '%s'", tmp_base);
	if (fstat(fileno(f), &st) < 0)
		die_errno("cannot stat a temporary file in '%s'", tmp_base);
	return (uint64_t)st.st_size;
}

static void check_signal(void)
{
	if (sig_pending())
		exit(sig_exit_status());
}

/* ---- memory --------------------------------------------------------------- */

/*
 * Big buffers are mapped with transparent huge pages asked for: a run
 * touches hundreds of megabytes once, and 4k page faults would cost as
 * much as the comparison itself.
 */
#define BIG_MIN ((size_t)2 << 20)

static void *big_alloc(size_t n)
{
	if (n < BIG_MIN)
		return xmalloc(n ? n : 1);
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("out of memory (%zu bytes)", n);
#ifdef MADV_HUGEPAGE
	madvise(p, n, MADV_HUGEPAGE);
#endif
	return p;
}

static void big_free(void *p, size_t n)
{
	if (!p)
		return;
	if (n < BIG_MIN)
		free(p);
	else
		munmap(p, n);
}

/* room for n more bytes at the end of pt's memory */
static char *part_room(struct verify *v, struct part *pt, size_t n)
{
	struct chunk *c = pt->tail;
	if (!c || c->cap - c->len < n) {
		c = xcalloc(1, sizeof(*c));
		c->cap = n > v->chunk ? n : v->chunk;
		c->p = big_alloc(c->cap);
		if (pt->tail)
			pt->tail->next = c;
		else
			pt->head = c;
		pt->tail = c;
	}
	char *p = c->p + c->len;
	c->len += n;
	return p;
}

static void chunks_free(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;
		big_free(c->p, c->cap);
		free(c);
		c = next;
	}
}

/* ---- keys ---------------------------------------------------------------- */

/*
 * The key of a line, encoded for hashing and comparison: per component a
 * kind byte ('s' or 'n'), a 4-byte length and the bytes (a string's
 * decoded text; a number's shortest round-trip text). Returns 0, or -1
 * with the reason in why.
 */
static int key_encode(struct verify *v, const struct vspan *spans, struct strbuf *key, char *why,
		      size_t whyn)
{
	static struct strbuf tmp = SB_INIT;
	sb_reset(key);
	for (size_t i = 0; i < v->nkeys; i++) {
		const struct vspan *s = &spans[i];
		if (!s->p) {
			snprintf(why, whyn, "no key at '%s'", v->keys[i].text);
			return -1;
		}
		const char *bytes;
		size_t len;
		char num[32];
		if (s->kind == 's') {
			if (memchr(s->p, '\\', s->len)) {
				sb_reset(&tmp);
				vscan_unescape(s->p, s->len, &tmp);
				bytes = tmp.buf;
				len = tmp.len;
			} else {
				bytes = s->p + 1;
				len = s->len - 2;
			}
		} else if (s->kind == 'n') {
			sb_reset(&tmp);
			sb_add(&tmp, s->p, s->len);
			double d = strtod(tmp.buf, NULL);
			if (d == 0)
				d = 0; /* -0 is 0 */
			len = jw_format_double(d, num);
			if (!len) {
				snprintf(why, whyn, "key at '%s' is a number out of range", v->keys[i].text);
				return -1;
			}
			bytes = num;
		} else {
			static const char *const names[] = { ['o'] = "an object", ['a'] = "an array",
							     ['t'] = "a boolean", ['f'] = "a boolean",
							     ['z'] = "null" };
			snprintf(why, whyn, "key at '%s' is %s, not a string or number", v->keys[i].text,
				 names[(unsigned char)s->kind]);
			return -1;
		}
		uint32_t l32 = (uint32_t)len;
		sb_addch(key, s->kind);
		sb_add(key, &l32, 4);
		sb_add(key, bytes, len);
	}
	return 0;
}

/* Write an encoded key as the record's "key": the value, or an array of
 * values for a composite key. */
static void key_write(struct jw *w, const char *key, size_t len)
{
	size_t n = 0;
	for (size_t off = 0; off < len; n++) {
		uint32_t l32;
		memcpy(&l32, key + off + 1, 4);
		off += 5 + l32;
	}
	if (n > 1)
		jw_arr_begin(w);
	for (size_t off = 0; off < len;) {
		char kind = key[off];
		uint32_t l32;
		memcpy(&l32, key + off + 1, 4);
		if (kind == 's')
			jw_strn(w, key + off + 5, l32);
		else
			jw_raw(w, key + off + 5, l32);
		off += 5 + l32;
	}
	if (n > 1)
		jw_arr_end(w);
}

/* ---- step 1: partition ----------------------------------------------------- */

static uint64_t estimate_size(const char *path)
{
	struct stat st;
	if (!strcmp(path, "-") || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	size_t n = strlen(path);
	uint64_t size = (uint64_t)st.st_size;
	if (n > 3 && !strcmp(path + n - 3, ".gz"))
		size *= 6; /* a guess; an underestimate only costs a split */
	return size;
}

static unsigned part_of(uint64_t hash, unsigned shift, unsigned bits)
{
	if (!bits)
		return 0;
	return (unsigned)((hash << shift) >> (64 - bits));
}

/* Write a partition's memory to its file (created now if need be) and free it. */
static void part_spill(struct part *pt)
{
	if (!pt->f)
		pt->f = tmp_create();
	for (struct chunk *c = pt->head; c; c = c->next)
		tmp_write(pt->f, c->p, c->len);
	chunks_free(pt->head);
	pt->head = pt->tail = NULL;
	pt->count = 0;
}

/* Write every partition's memory to its file and free it. */
static void spill(struct verify *v)
{
	size_t np = (size_t)1 << v->part_bits;
	for (int side = 0; side < 2; side++)
		for (size_t i = 0; i < np; i++)
			if (v->parts[side][i].head)
				part_spill(&v->parts[side][i]);
	v->held = 0;
}

/* Read one input into its partitions. Returns 0, -1 when --strict
 * stopped at a bad line, -2 after a read error. */
static int partition(struct verify *v, int side, struct jsonl_reader *r)
{
	struct strbuf key = SB_INIT;
	struct vspan spans[VSCAN_MAX_PTRS];
	char why[160];
	const char *line;
	size_t len;
	int got, rc = 0;
	while ((got = jsonl_next_line(r, &line, &len)) > 0) {
		if (sig_pending())
			check_signal();
		if (vscan_line(line, len, v->keys, v->nkeys, spans, why, sizeof(why)) < 0 ||
		    key_encode(v, spans, &key, why, sizeof(why)) < 0) {
			v->rejected++;
			if (jsonl_reject(r, "%s", why) < 0) {
				rc = -1;
				break;
			}
			continue;
		}
		if (len > UINT32_MAX)
			die("%s:%zu: line too long", jsonl_name(r), jsonl_lineno(r));
		struct vhdr h = { hash_bytes(key.buf, key.len, VSEED), jsonl_lineno(r),
				  (uint32_t)key.len, (uint32_t)len };
		struct part *pt = &v->parts[side][part_of(h.hash, 0, v->part_bits)];
		size_t n = sizeof(h) + key.len + len;
		char *to = part_room(v, pt, n);
		memcpy(to, &h, sizeof(h));
		memcpy(to + sizeof(h), key.buf, key.len);
		memcpy(to + sizeof(h) + key.len, line, len);
		pt->count++;
		v->nrec[side]++;
		v->held += n;
		if (v->held > v->memory / 2)
			spill(v);
	}
	if (got < 0 && rc == 0)
		rc = -2; /* a read error: reported by the reader */
	sb_release(&key);
	return rc;
}

/* ---- step 2: compare ------------------------------------------------------- */

/* The records of one side of a partition, loaded: from chunks or from
 * one buffer read from a file; both owned. */
struct loaded {
	struct chunk *chunks;
	char *buf;
	size_t size;
	struct vent *e;
	size_t n, cap;
};

static size_t count_records(const char *buf, size_t size)
{
	size_t n = 0;
	for (size_t off = 0; off + sizeof(struct vhdr) <= size; n++) {
		struct vhdr h;
		memcpy(&h, buf + off, sizeof(h));
		off += sizeof(h) + (size_t)h.keylen + h.linelen;
	}
	return n;
}

static void index_records(struct loaded *ld, const char *buf, size_t size)
{
	for (size_t off = 0; off + sizeof(struct vhdr) <= size && ld->n < ld->cap;) {
		struct vhdr h;
		memcpy(&h, buf + off, sizeof(h));
		off += sizeof(h);
		struct vent *e = &ld->e[ld->n++];
		e->hash = h.hash;
		e->lineno = h.lineno;
		e->keylen = h.keylen;
		e->linelen = h.linelen;
		e->key = buf + off;
		e->line = buf + off + h.keylen;
		e->dup = false;
		e->first_line = 0;
		off += (size_t)h.keylen + h.linelen;
	}
}

/* Take pt's memory (pt is left empty). */
static void load_mem(struct loaded *ld, struct part *pt)
{
	memset(ld, 0, sizeof(*ld));
	ld->chunks = pt->head;
	ld->cap = pt->count;
	ld->e = big_alloc(ld->cap * sizeof(*ld->e));
	for (struct chunk *c = pt->head; c; c = c->next)
		index_records(ld, c->p, c->len);
	pt->head = pt->tail = NULL;
	pt->count = 0;
}

/* Load the records of temporary file f, which is closed. */
static void load(FILE *f, struct loaded *ld)
{
	memset(ld, 0, sizeof(*ld));
	ld->size = (size_t)tmp_size(f);
	ld->buf = big_alloc(ld->size + 1);
	for (size_t off = 0; off < ld->size;) {
		ssize_t got = pread(fileno(f), ld->buf + off, ld->size - off, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			die_errno("cannot read a temporary file in '%s'", tmp_base);
		off += (size_t)got;
	}
	fclose(f);
	ld->cap = count_records(ld->buf, ld->size);
	ld->e = big_alloc(ld->cap * sizeof(*ld->e));
	index_records(ld, ld->buf, ld->size);
}

static void unload(struct loaded *ld)
{
	chunks_free(ld->chunks);
	if (ld->buf)
		big_free(ld->buf, ld->size + 1);
	big_free(ld->e, ld->cap * sizeof(*ld->e));
}

/* An open-addressing table of the entries of one side, by key. */
struct vtab {
	uint32_t *slot; /* entry index + 1 */
	size_t mask;
};

static bool same_key(const struct vent *a, const struct vent *b)
{
	return a->hash == b->hash && a->keylen == b->keylen && !memcmp(a->key, b->key, a->keylen);
}

/* Insert every entry; a key seen before marks the entry a duplicate. */
static void tab_build(struct vtab *t, struct loaded *ld)
{
	size_t size = 16;
	while (size < ld->n * 2)
		size <<= 1;
	t->slot = xcalloc(size, sizeof(*t->slot));
	t->mask = size - 1;
	for (size_t i = 0; i < ld->n; i++) {
		struct vent *e = &ld->e[i];
		size_t s = e->hash & t->mask;
		for (;; s = (s + 1) & t->mask) {
			if (!t->slot[s]) {
				t->slot[s] = (uint32_t)i + 1;
				break;
			}
			const struct vent *o = &ld->e[t->slot[s] - 1];
			if (same_key(o, e)) {
				e->dup = true;
				e->first_line = o->lineno;
				break;
			}
		}
	}
}

static const struct vent *tab_find(const struct vtab *t, const struct loaded *ld,
				   const struct vent *k)
{
	for (size_t s = k->hash & t->mask; t->slot[s]; s = (s + 1) & t->mask) {
		const struct vent *o = &ld->e[t->slot[s] - 1];
		if (same_key(o, k))
			return o;
	}
	return NULL;
}

static int ev_cmp(const void *pa, const void *pb)
{
	const struct vev *a = pa, *b = pb;
	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	const struct vent *ka = a->l ? a->l : a->n, *kb = b->l ? b->l : b->n;
	size_t n = ka->keylen < kb->keylen ? ka->keylen : kb->keylen;
	int c = memcmp(ka->key, kb->key, n);
	if (c)
		return c;
	if (ka->keylen != kb->keylen)
		return ka->keylen < kb->keylen ? -1 : 1;
	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	return ka->lineno < kb->lineno ? -1 : ka->lineno > kb->lineno;
}

struct field {
	char *ptr;
	enum jd_kind kind;
	const cJSON *a, *b;
};

struct fields {
	struct field *f;
	size_t n, alloc;
};

static void collect_field(const char *ptr, enum jd_kind kind, const cJSON *a, const cJSON *b,
			  void *ctx)
{
	struct fields *fs = ctx;
	ALLOC_GROW(fs->f, fs->n + 1, fs->alloc);
	fs->f[fs->n].ptr = xstrdup(ptr);
	fs->f[fs->n].kind = kind;
	fs->f[fs->n].a = a;
	fs->f[fs->n].b = b;
	fs->n++;
}

static int field_cmp(const void *pa, const void *pb)
{
	const struct field *a = pa, *b = pb;
	return strcmp(a->ptr, b->ptr);
}

static bool may_write(struct verify *v)
{
	if (v->limit && v->written >= v->limit)
		return false;
	v->written++;
	return true;
}

static void write_one(struct verify *v, const char *type, const struct vent *e)
{
	if (!may_write(v))
		return;
	rec_begin(&v->w, type);
	jw_key(&v->w, "key");
	key_write(&v->w, e->key, e->keylen);
	jw_kv_int(&v->w, "line", (int64_t)e->lineno);
	jw_key(&v->w, "record");
	jw_raw(&v->w, e->line, e->linelen);
	rec_end(&v->w, v->out);
}

static void write_dup(struct verify *v, int side, const struct vent *e)
{
	v->dups[side]++;
	if (!may_write(v))
		return;
	rec_begin(&v->w, "replay.duplicate");
	jw_key(&v->w, "key");
	key_write(&v->w, e->key, e->keylen);
	jw_kv_str(&v->w, "side", side ? "new" : "legacy");
	jw_kv_str(&v->w, "file", v->name[side]);
	jw_kv_int(&v->w, "line", (int64_t)e->lineno);
	jw_kv_int(&v->w, "first_line", (int64_t)e->first_line);
	rec_end(&v->w, v->out);
}

static cJSON *parse_line(struct verify *v, int side, const struct vent *e)
{
	cJSON *j = cJSON_ParseWithLength(e->line, e->linelen);
	if (!j) {
		/* vscan_line accepted it, so cJSON's own limits were hit. */
		error("%s:%" PRIu64 ": cannot be compared: nesting too deep for the parser",
		      v->name[side], e->lineno);
		v->rejected++;
	}
	return j;
}

static void write_pair(struct verify *v, const struct vent *l, const struct vent *n)
{
	cJSON *a = parse_line(v, 0, l), *b = parse_line(v, 1, n);
	if (!a || !b) {
		cJSON_Delete(a);
		cJSON_Delete(b);
		return;
	}
	struct fields fs = { 0 };
	jd_diff(a, b, "", v->ignore, v->nignore, collect_field, &fs);
	if (!fs.n) {
		v->same++;
	} else {
		v->changed++;
		qsort(fs.f, fs.n, sizeof(*fs.f), field_cmp);
		for (size_t i = 0; i < fs.n; i++) {
			void **ref = ht_ref(v->fields, fs.f[i].ptr);
			if (ref)
				*ref = (void *)((uintptr_t)*ref + 1);
			else
				ht_put(v->fields, fs.f[i].ptr, (void *)(uintptr_t)1);
		}
		if (may_write(v)) {
			rec_begin(&v->w, "replay.changed");
			jw_key(&v->w, "key");
			key_write(&v->w, l->key, l->keylen);
			jw_kv_int(&v->w, "legacy_line", (int64_t)l->lineno);
			jw_kv_int(&v->w, "new_line", (int64_t)n->lineno);
			jw_key(&v->w, "fields");
			jw_arr_begin(&v->w);
			for (size_t i = 0; i < fs.n; i++) {
				jw_obj_begin(&v->w);
				jw_kv_str(&v->w, "path", fs.f[i].ptr);
				jw_kv_str(&v->w, "change", jd_kind_name(fs.f[i].kind));
				if (fs.f[i].a) {
					jw_key(&v->w, "legacy");
					jw_cjson(&v->w, fs.f[i].a);
				}
				if (fs.f[i].b) {
					jw_key(&v->w, "new");
					jw_cjson(&v->w, fs.f[i].b);
				}
				jw_obj_end(&v->w);
			}
			jw_arr_end(&v->w);
			rec_end(&v->w, v->out);
		}
	}
	for (size_t i = 0; i < fs.n; i++)
		free(fs.f[i].ptr);
	free(fs.f);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void compare_loaded(struct verify *v, struct loaded *L, struct loaded *N)
{
	struct vtab tl, tn;
	tab_build(&tl, L);
	tab_build(&tn, N);
	struct vev *ev = NULL;
	size_t nev = 0, aev = 0;
	for (size_t i = 0; i < L->n; i++) {
		const struct vent *e = &L->e[i];
		if (e->dup) {
			ALLOC_GROW(ev, nev + 1, aev);
			ev[nev++] = (struct vev){ e->hash, e, NULL, EV_DUP_L };
			continue;
		}
		const struct vent *o = tab_find(&tn, N, e);
		if (!o) {
			ALLOC_GROW(ev, nev + 1, aev);
			ev[nev++] = (struct vev){ e->hash, e, NULL, EV_MISSING };
		} else if (o->linelen == e->linelen && !memcmp(o->line, e->line, e->linelen)) {
			v->same++; /* identical bytes: no parse needed */
		} else {
			ALLOC_GROW(ev, nev + 1, aev);
			ev[nev++] = (struct vev){ e->hash, e, o, EV_PAIR };
		}
	}
	for (size_t i = 0; i < N->n; i++) {
		const struct vent *e = &N->e[i];
		if (e->dup) {
			ALLOC_GROW(ev, nev + 1, aev);
			ev[nev++] = (struct vev){ e->hash, NULL, e, EV_DUP_N };
		} else if (!tab_find(&tl, L, e)) {
			ALLOC_GROW(ev, nev + 1, aev);
			ev[nev++] = (struct vev){ e->hash, NULL, e, EV_EXTRA };
		}
	}
	free(tl.slot);
	free(tn.slot);
	if (nev > 1)
		qsort(ev, nev, sizeof(*ev), ev_cmp);
	for (size_t i = 0; i < nev; i++) {
		switch (ev[i].kind) {
		case EV_DUP_L:
			write_dup(v, 0, ev[i].l);
			break;
		case EV_DUP_N:
			write_dup(v, 1, ev[i].n);
			break;
		case EV_MISSING:
			v->missing++;
			write_one(v, "replay.missing", ev[i].l);
			break;
		case EV_EXTRA:
			v->extra++;
			write_one(v, "replay.extra", ev[i].n);
			break;
		case EV_PAIR:
			write_pair(v, ev[i].l, ev[i].n);
			break;
		}
		if ((i & 255) == 255)
			check_signal();
	}
	free(ev);
}

/* Split temporary file in (closed after) into out[] by the FANOUT_BITS
 * hash bits after shift, adding the records of each to count[]. */
static void split(FILE *in, unsigned shift, FILE **out, size_t *count)
{
	size_t np = (size_t)1 << FANOUT_BITS;
	for (size_t i = 0; i < np; i++)
		out[i] = tmp_create();
	tmp_size(in);
	rewind(in);
	struct strbuf rec = SB_INIT;
	struct vhdr h;
	while (fread(&h, sizeof(h), 1, in) == 1) {
		size_t n = (size_t)h.keylen + h.linelen;
		sb_reset(&rec);
		sb_grow(&rec, n);
		if (n && fread(rec.buf, 1, n, in) != n)
			die("a temporary file in '%s' is truncated", tmp_base);
		unsigned p = part_of(h.hash, shift, FANOUT_BITS);
		tmp_write(out[p], &h, sizeof(h));
		tmp_write(out[p], rec.buf, n);
		count[p]++;
	}
	if (ferror(in))
		die_errno("cannot read a temporary file in '%s'", tmp_base);
	fclose(in);
	sb_release(&rec);
}

/*
 * Compare the partition pair in the temporary files lf and nf (closed
 * when done), whose records share the first shift bits of their hash.
 * count is the number of records in the pair (SIZE_MAX: not known); a
 * split that leaves them all in one part (one key, or records larger
 * than the budget) is not tried again.
 */
static void compare_part(struct verify *v, FILE *lf, FILE *nf, unsigned shift, size_t count)
{
	check_signal();
	uint64_t size = tmp_size(lf) + tmp_size(nf);
	if (size > v->memory / 2 && shift + FANOUT_BITS <= 64 && count > 1) {
		size_t np = (size_t)1 << FANOUT_BITS;
		FILE *lo[1 << FANOUT_BITS], *no[1 << FANOUT_BITS];
		size_t n[1 << FANOUT_BITS] = { 0 };
		split(lf, shift, lo, n);
		split(nf, shift, no, n);
		v->partitions += np - 1;
		size_t total = 0;
		for (size_t i = 0; i < np; i++)
			total += n[i];
		for (size_t i = 0; i < np; i++)
			compare_part(v, lo[i], no[i], shift + FANOUT_BITS, n[i] == total ? 1 : n[i]);
		return;
	}
	struct loaded L, N;
	load(lf, &L);
	load(nf, &N);
	compare_loaded(v, &L, &N);
	unload(&L);
	unload(&N);
}

/* Compare partition i: from memory when none of it was spilled, else
 * through its files. */
static void compare_partition(struct verify *v, size_t i)
{
	struct part *pl = &v->parts[0][i], *pn = &v->parts[1][i];
	if (!pl->f && !pn->f) {
		struct loaded L, N;
		load_mem(&L, pl);
		load_mem(&N, pn);
		compare_loaded(v, &L, &N);
		unload(&L);
		unload(&N);
		return;
	}
	part_spill(pl);
	part_spill(pn);
	FILE *lf = pl->f, *nf = pn->f;
	pl->f = pn->f = NULL;
	compare_part(v, lf, nf, v->part_bits, SIZE_MAX);
}

/* ---- step 3: summary ------------------------------------------------------- */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void write_summary(struct verify *v)
{
	rec_begin(&v->w, "replay.verify");
	jw_kv_str(&v->w, "legacy_file", v->name[0]);
	jw_kv_str(&v->w, "new_file", v->name[1]);
	jw_kv_int(&v->w, "legacy", (int64_t)v->nrec[0]);
	jw_kv_int(&v->w, "new", (int64_t)v->nrec[1]);
	jw_kv_int(&v->w, "same", (int64_t)v->same);
	jw_kv_int(&v->w, "missing", (int64_t)v->missing);
	jw_kv_int(&v->w, "extra", (int64_t)v->extra);
	jw_kv_int(&v->w, "changed", (int64_t)v->changed);
	jw_kv_int(&v->w, "duplicate_legacy", (int64_t)v->dups[0]);
	jw_kv_int(&v->w, "duplicate_new", (int64_t)v->dups[1]);
	jw_kv_int(&v->w, "rejected", (int64_t)v->rejected);
	jw_kv_int(&v->w, "partitions", (int64_t)v->partitions);
	jw_key(&v->w, "fields");
	jw_obj_begin(&v->w);
	size_t n = ht_len(v->fields), i = 0;
	char **keys = xcalloc(n ? n : 1, sizeof(*keys));
	struct ht_iter it;
	for (ht_iter(&it, v->fields); ht_next(&it);)
		keys[i++] = (char *)it.key;
	qsort(keys, n, sizeof(*keys), str_cmp);
	for (i = 0; i < n; i++)
		jw_kv_int(&v->w, keys[i], (int64_t)(uintptr_t)ht_get(v->fields, keys[i]));
	free(keys);
	jw_obj_end(&v->w);
	rec_end(&v->w, v->out);
}

/* ---- the command ----------------------------------------------------------- */

static void verify_free(struct verify *v)
{
	for (size_t i = 0; i < v->nkeys; i++)
		vptr_free(&v->keys[i]);
	free(v->ignore);
	free(v);
}

int cmd_verify(int argc, char **argv)
{
	struct verify *v = xcalloc(1, sizeof(*v));
	struct strbuf err = SB_INIT;
	v->memory = 256ULL << 20;
	struct opt_parser p;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'i': {
			struct vptr check;
			if (vptr_parse(&check, p.arg, &err) < 0)
				opt_usage_error(&p, "--ignore: %s", err.buf);
			vptr_free(&check);
			v->ignore = xreallocarray(v->ignore, v->nignore + 1, sizeof(*v->ignore));
			v->ignore[v->nignore++] = p.arg;
			break;
		}
		case 'k':
			if (v->nkeys == VSCAN_MAX_PTRS)
				opt_usage_error(&p, "--key: at most %d keys", VSCAN_MAX_PTRS);
			if (vptr_parse(&v->keys[v->nkeys], p.arg, &err) < 0)
				opt_usage_error(&p, "--key: %s", err.buf);
			if (!v->keys[v->nkeys].n)
				opt_usage_error(&p, "--key: the key cannot be the whole record");
			v->nkeys++;
			break;
		case 'm':
			if (size_parse(p.arg, &v->memory, &err) < 0)
				opt_usage_error(&p, "--memory: %s", err.buf);
			if (v->memory < 4096)
				opt_usage_error(&p, "--memory: must be at least 4k");
			break;
		case 'n': {
			long long n;
			if (num_parse_int(p.arg, 1, LLONG_MAX, &n, &err) < 0)
				opt_usage_error(&p, "--limit: %s", err.buf);
			v->limit = (uint64_t)n;
			break;
		}
		case VOPT_STRICT:
			v->strict = true;
			break;
		}
	}
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (!v->nkeys)
		opt_usage_error(&p, "--key is required");
	if (nops != 2)
		opt_usage_error(&p, nops < 2 ? "missing operands: legacy and new" : "too many operands");
	if (!strcmp(ops[0], "-") && !strcmp(ops[1], "-"))
		opt_usage_error(&p, "legacy and new cannot both be standard input");
	const char *paths[2] = { ops[0], ops[1] };

	struct jsonl_reader *r[2];
	unsigned flags = v->strict ? JSONL_STRICT : 0;
	for (int s = 0; s < 2; s++) {
		sb_reset(&err);
		r[s] = jsonl_open(paths[s], flags, &err);
		if (!r[s]) {
			error("%s", err.buf);
			if (s)
				jsonl_close(r[0]);
			sb_release(&err);
			verify_free(v);
			opt_end(&p);
			return EXIT_USAGE;
		}
		v->name[s] = jsonl_name(r[s]);
	}

	/* The partition count: enough that one partition pair fits in half
	 * the memory budget (the rest is for tables and parsing). */
	uint64_t est = estimate_size(paths[0]) + estimate_size(paths[1]);
	est += est / 4; /* headers and keys */
	while (v->part_bits < MAX_PART_BITS && (est >> v->part_bits) > v->memory / 2)
		v->part_bits++;
	v->partitions = 1ULL << v->part_bits;

	const char *tmp = getenv("TMPDIR");
	if (tmp && *tmp)
		tmp_base = tmp;
	sig_setup();

	size_t np = (size_t)1 << v->part_bits;
	/* Chunks: a few per partition within the budget, 64k to 8M. */
	v->chunk = (size_t)(v->memory / 2 / (np * 4));
	if (v->chunk < 65536)
		v->chunk = 65536;
	if (v->chunk > ((size_t)8 << 20))
		v->chunk = (size_t)8 << 20;
	for (int s = 0; s < 2; s++) {
		v->parts[s] = xcalloc(np, sizeof(struct part));
	}
	int status = EXIT_OK;
	bool stopped = false;
	for (int s = 0; s < 2 && !stopped; s++) {
		int rc = partition(v, s, r[s]);
		if (rc == -1)
			stopped = true;
		else if (rc == -2)
			status = EXIT_SYSTEM;
	}
	check_signal();

	v->out = out_stdout();
	sb_init(&v->sb, 4096);
	jw_init(&v->w, &v->sb);
	v->fields = ht_new();
	if (!stopped && status == EXIT_OK) {
		for (size_t i = 0; i < np; i++)
			compare_partition(v, i);
		write_summary(v);
		if (v->missing || v->extra || v->changed || v->dups[0] || v->dups[1])
			status = EXIT_NO;
	}
	out_flush(v->out);

	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < np; i++) {
			struct part *pt = &v->parts[s][i];
			if (pt->f)
				fclose(pt->f);
			chunks_free(pt->head);
		}
		free(v->parts[s]);
		jsonl_close(r[s]);
	}
	ht_free(v->fields, NULL);
	sb_release(&v->sb);
	sb_release(&err);
	bool rejected = v->rejected > 0;
	verify_free(v);
	opt_end(&p);
	if (rejected && status != EXIT_SYSTEM)
		return EXIT_REJECTED;
	return jsonl_exit_status(status);
}
