/*
 * eddy benchmark driver: runs one workload of WORKLOADS.md on one ingestion
 * path, through the C ABI exactly as a host would, and prints one JSON
 * object. One run per process, so peak RSS (getrusage) is that run's.
 *
 *   eddy_bench -w W1..W5 -p rows|arrow [-n N] [-o OPTIONS] [-d pull|callback]
 *   eddy_bench -w W1 -p rows --latency RATE [--seconds S] [-d pull|callback]
 *              [-c thread|inline]
 *
 * Throughput: a consumer thread reads the subscription on "Out" while the
 * main thread pushes N rows (per-event: begin_row, set_* and end_row; arrow:
 * batches of 8192 rows built before the clock starts). Then the input is
 * closed (ending the stream fires every open window) and the engine closed
 * (ending the subscription). Time = first push .. last output batch
 * received by the consumer.
 *
 * Every run counts the output rows and sums output columns, and compares
 * them with answers computed from the formulas alone (workloads.h).
 * Exit status: 0 ok (or the workload is unsupported by eddy), 1 the output
 * differs from the expected one, 2 an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "eddy.h"
#include "arrow_util.h" /* tests/c: hand-built Arrow C Data Interface arrays */
#include "workloads.h"

#define DEFAULT_OPTIONS "queue_capacity=65536;batch_rows=8192;overflow=block;push_timeout_ms=60000"
#define ARROW_BATCH_ROWS 8192
/* A consumer that sees nothing for this long declares the engine stuck. */
#define STALL_LIMIT_MS 120000

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- configuration ------------------------------------------------------ */

typedef enum { DELIVER_PULL, DELIVER_CALLBACK } delivery_mode;

typedef struct {
    int workload;
    bool arrow;
    int64_t n;
    const char *options;
    delivery_mode delivery;
    /* latency mode */
    double rate;     /* events/s; 0 = throughput mode */
    double seconds;  /* run length at that rate */
    bool inline_consumer; /* the producer thread reads results while pacing */
} config;

static config g_cfg;
static double g_loadavg; /* when the run started */

/* ---- JSON output ---------------------------------------------------------- */

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; s != NULL && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static const char *path_name(void) { return g_cfg.arrow ? "arrow" : "rows"; }
static const char *delivery_name(void) { return g_cfg.delivery == DELIVER_PULL ? "pull" : "callback"; }

/* A run that could not complete: one JSON object saying why, exit 2. */
static _Noreturn void fail(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "eddy_bench: ERROR: %s\n", msg);
    printf("{\"engine\":\"eddy\",\"workload\":\"%s\",\"path\":\"%s\",\"n\":%" PRId64 ",\"status\":\"error\",\"ok\":false,\"error\":",
           g_cfg.workload ? WORKLOADS[g_cfg.workload].name : "?", path_name(), g_cfg.n);
    json_str(stdout, msg);
    printf("}\n");
    fflush(stdout);
    exit(2);
}

/* Checks an eddy call; on failure reports it and exits. */
static void check(eddy_status st, eddy_error *err, const char *what) {
    if (st == EDDY_OK) return;
    char msg[768];
    snprintf(msg, sizeof msg, "%s: %s: %s", what, eddy_status_name((int)st), eddy_error_message(err));
    eddy_error_free(err);
    fail("%s", msg);
}
#define CALL(what, expr)              \
    do {                              \
        eddy_error *e_ = NULL;        \
        eddy_status s_ = (expr);      \
        check(s_, e_, what);          \
    } while (0)

/* ---- reading results -------------------------------------------------------- */

/* Per-run consumer state. Written by the consumer thread only (or by the
 * producer thread in inline mode); read by main after the join. */
typedef struct {
    const workload_def *wd;
    int col[8]; /* index of each wd->col_name among the output's children */
    bool resolved;
    tally got;
    int64_t nulls;
    int64_t batches;
    int64_t first_ns, last_ns; /* receipt of the first / last non-empty batch */
    char error[512];
    /* latency mode */
    const int64_t *push_ns; /* push time of input row i */
    int64_t *lat_ns;        /* latency of output row k */
    int64_t lat_cap;
    int64_t cursor;         /* next input row that may pass the filter */
    int64_t mismatched;     /* output rows that are not the input row they should be */
} consumer;

static consumer g_cons;
static atomic_bool g_failed; /* the consumer hit an error: stop */

static const struct ArrowArray *child(const struct ArrowArray *a, consumer *c, int k) {
    return a->children[c->col[k]];
}
/* Value index of row r of column `ch` of struct array `a`. */
#define IDX(a, ch, r) ((ch)->offset + (a)->offset + (r))
static inline double f64_at(const struct ArrowArray *a, const struct ArrowArray *ch, int64_t r) {
    return ((const double *)ch->buffers[1])[IDX(a, ch, r)];
}
static inline int64_t i64_at(const struct ArrowArray *a, const struct ArrowArray *ch, int64_t r) {
    return ((const int64_t *)ch->buffers[1])[IDX(a, ch, r)];
}
static inline const char *str_at(const struct ArrowArray *a, const struct ArrowArray *ch, int64_t r, int32_t *len) {
    const int32_t *off = (const int32_t *)ch->buffers[1];
    int64_t i = IDX(a, ch, r);
    *len = off[i + 1] - off[i];
    return (const char *)ch->buffers[2] + off[i];
}

/* Finds the columns this workload reads, once, from the first batch. */
static bool resolve_columns(consumer *c, const struct ArrowSchema *s) {
    for (int k = 0; k < c->wd->n_cols; k++) {
        int found = -1;
        for (int64_t j = 0; j < s->n_children; j++) {
            if (s->children[j]->name != NULL && strcasecmp(s->children[j]->name, c->wd->col_name[k]) == 0) {
                found = (int)j;
                break;
            }
        }
        if (found < 0) {
            snprintf(c->error, sizeof c->error, "output has no column '%s'", c->wd->col_name[k]);
            return false;
        }
        if (strcmp(s->children[found]->format, c->wd->col_format[k]) != 0) {
            snprintf(c->error, sizeof c->error, "output column '%s' has Arrow format '%s', expected '%s'",
                     c->wd->col_name[k], s->children[found]->format, c->wd->col_format[k]);
            return false;
        }
        c->col[k] = found;
    }
    c->resolved = true;
    return true;
}

/* Adds one exported result batch to the tally. The switch is outside the
 * row loops so each loop is a plain pass over the Arrow buffers. */
static void tally_batch(consumer *c, const struct ArrowArray *a, const struct ArrowSchema *s) {
    if (!c->resolved && !resolve_columns(c, s)) {
        atomic_store(&g_failed, true);
        return;
    }
    const int64_t n = a->length;
    for (int k = 0; k < c->wd->n_cols; k++) {
        int64_t nc = child(a, c, k)->null_count;
        if (nc > 0) c->nulls += nc; /* none expected: every value is set */
    }
    tally *t = &c->got;
    t->rows += n;
    switch (c->wd - WORKLOADS) {
    case W1: {
        const struct ArrowArray *price = child(a, c, 1), *vol = child(a, c, 2);
        for (int64_t r = 0; r < n; r++) {
            t->checksum += i64_at(a, vol, r);
            t->aux[0] += to_cents(f64_at(a, price, r));
        }
        break;
    }
    case W2: {
        const struct ArrowArray *ws = child(a, c, 1), *cnt = child(a, c, 2), *vol = child(a, c, 3),
                                *avg = child(a, c, 4), *lo = child(a, c, 5), *hi = child(a, c, 6);
        for (int64_t r = 0; r < n; r++) {
            t->checksum += i64_at(a, vol, r);
            t->aux[0] += i64_at(a, cnt, r);
            t->aux[1] += to_cents(f64_at(a, lo, r));
            t->aux[2] += to_cents(f64_at(a, hi, r));
            t->aux[3] += i64_at(a, ws, r) / 1000 - TS_BASE / 1000;
            t->fsum += f64_at(a, avg, r);
        }
        break;
    }
    case W3: {
        /* One row per input row, in order: the k-th row's symbol must be
         * the k-th input's. */
        const struct ArrowArray *sym = child(a, c, 0), *avg = child(a, c, 1), *mx = child(a, c, 2);
        int64_t k = t->rows - n;
        for (int64_t r = 0; r < n; r++, k++) {
            int32_t len;
            const char *p = str_at(a, sym, r, &len);
            if (len == 4 && memcmp(p, g_sym_text[f_sym(k)], 4) == 0) t->aux[0]++;
            t->checksum += to_cents(f64_at(a, mx, r));
            t->fsum += f64_at(a, avg, r);
        }
        break;
    }
    case W4: {
        const struct ArrowArray *p1 = child(a, c, 1), *p2 = child(a, c, 2);
        for (int64_t r = 0; r < n; r++) {
            t->checksum += to_cents(f64_at(a, p2, r));
            t->aux[0] += to_cents(f64_at(a, p1, r));
        }
        break;
    }
    case W5: {
        const struct ArrowArray *price = child(a, c, 1), *bid = child(a, c, 2);
        for (int64_t r = 0; r < n; r++) {
            t->checksum += to_cents(f64_at(a, price, r));
            t->aux[0] += to_cents(f64_at(a, bid, r));
        }
        break;
    }
    default:
        break;
    }
}

/* Latency mode (W1): the k-th output row is the k-th input row with
 * price > 100.0 (order is kept and the filter is deterministic). Match
 * each output row to it, check it really is that row (its volume), and
 * record receipt - push. */
static void latency_batch(consumer *c, const struct ArrowArray *a, const struct ArrowSchema *s, int64_t recv_ns) {
    if (!c->resolved && !resolve_columns(c, s)) {
        atomic_store(&g_failed, true);
        return;
    }
    const struct ArrowArray *vol = child(a, c, 2), *price = child(a, c, 1);
    for (int64_t r = 0; r < a->length; r++) {
        while (!(f_price(c->cursor) > 100.0)) c->cursor++;
        int64_t i = c->cursor++;
        int64_t k = c->got.rows++;
        if (i >= g_cfg.n || k >= c->lat_cap || i64_at(a, vol, r) != f_volume(i)) {
            c->mismatched++;
            continue;
        }
        c->got.checksum += f_volume(i);
        c->got.aux[0] += to_cents(f64_at(a, price, r));
        c->lat_ns[k] = recv_ns - c->push_ns[i];
    }
}

/* One received batch, however it came. */
static void on_arrays(consumer *c, struct ArrowArray *a, struct ArrowSchema *s, int64_t recv_ns) {
    c->batches++;
    if (a->length > 0) {
        if (c->first_ns == 0) c->first_ns = recv_ns;
        c->last_ns = recv_ns;
        if (g_cfg.rate > 0)
            latency_batch(c, a, s, recv_ns);
        else
            tally_batch(c, a, s);
    }
    a->release(a);
    s->release(s);
}

/* Callback delivery: export the lent batch (zero-copy) and read the same
 * Arrow buffers as the pull path does. */
static void on_callback(void *ud, const eddy_batch *b) {
    int64_t t = now_ns();
    consumer *c = (consumer *)ud;
    struct ArrowArray a;
    struct ArrowSchema s;
    eddy_error *err = NULL;
    if (eddy_batch_export_arrow(b, &a, &s, &err) != EDDY_OK) {
        snprintf(c->error, sizeof c->error, "eddy_batch_export_arrow: %s", eddy_error_message(err));
        eddy_error_free(err);
        atomic_store(&g_failed, true);
        return;
    }
    on_arrays(c, &a, &s, t);
}

typedef struct {
    eddy_engine *engine;
    eddy_subscription *sub;
} consumer_args;

/* Reads what is there now without waiting. Returns false once the results
 * ended (or on error). Used by the inline consumer. */
static bool consume_now(consumer_args *ca) {
    eddy_error *err = NULL;
    if (g_cfg.delivery == DELIVER_PULL) {
        for (;;) {
            struct ArrowArray a;
            struct ArrowSchema s;
            eddy_status st = eddy_subscription_next(ca->sub, 0, &a, &s, &err);
            if (st == EDDY_OK) {
                on_arrays(&g_cons, &a, &s, now_ns());
                continue;
            }
            bool more = st == EDDY_ERR_TIMEOUT;
            if (st != EDDY_ERR_TIMEOUT && st != EDDY_ERR_END_OF_STREAM) {
                snprintf(g_cons.error, sizeof g_cons.error, "eddy_subscription_next: %s: %s",
                         eddy_status_name((int)st), eddy_error_message(err));
                atomic_store(&g_failed, true);
            }
            eddy_error_free(err);
            return more;
        }
    }
    size_t delivered = 0;
    eddy_status st = eddy_engine_poll(ca->engine, 0, &delivered, &err);
    if (st == EDDY_OK) return true;
    if (st != EDDY_ERR_CLOSED) {
        snprintf(g_cons.error, sizeof g_cons.error, "eddy_engine_poll: %s: %s", eddy_status_name((int)st),
                 eddy_error_message(err));
        atomic_store(&g_failed, true);
    }
    eddy_error_free(err);
    return false;
}

/* The consumer thread: blocks in eddy_subscription_next (pull) or
 * eddy_engine_poll (callback) until the results end. */
static void *consumer_main(void *arg) {
    consumer_args *ca = (consumer_args *)arg;
    int64_t idle_since = now_ns();
    while (!atomic_load(&g_failed)) {
        eddy_error *err = NULL;
        eddy_status st;
        bool got = false;
        if (g_cfg.delivery == DELIVER_PULL) {
            struct ArrowArray a;
            struct ArrowSchema s;
            st = eddy_subscription_next(ca->sub, 100, &a, &s, &err);
            if (st == EDDY_OK) {
                on_arrays(&g_cons, &a, &s, now_ns());
                got = true;
            } else if (st == EDDY_ERR_END_OF_STREAM) {
                eddy_error_free(err);
                break;
            }
        } else {
            size_t delivered = 0;
            st = eddy_engine_poll(ca->engine, 100, &delivered, &err);
            if (st == EDDY_OK) {
                got = delivered > 0;
            } else if (st == EDDY_ERR_CLOSED) {
                eddy_error_free(err);
                break;
            }
        }
        if (st != EDDY_OK && st != EDDY_ERR_TIMEOUT) {
            snprintf(g_cons.error, sizeof g_cons.error, "%s: %s: %s",
                     g_cfg.delivery == DELIVER_PULL ? "eddy_subscription_next" : "eddy_engine_poll",
                     eddy_status_name((int)st), eddy_error_message(err));
            eddy_error_free(err);
            atomic_store(&g_failed, true);
            break;
        }
        eddy_error_free(err);
        int64_t t = now_ns();
        if (got) {
            idle_since = t;
        } else if (t - idle_since > (int64_t)STALL_LIMIT_MS * 1000000) {
            snprintf(g_cons.error, sizeof g_cons.error, "no result for %d s: the engine looks stuck",
                     STALL_LIMIT_MS / 1000);
            atomic_store(&g_failed, true);
            break;
        }
    }
    return NULL;
}

/* ---- engine statistics ------------------------------------------------------- */

/* Sum of every `"key":<integer>` in the stats JSON (e.g. state_bytes over
 * all queries). No JSON library: the document is flat enough. */
static int64_t json_sum(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    int64_t sum = 0;
    for (const char *p = strstr(json, pat); p != NULL; p = strstr(p + 1, pat)) {
        const char *v = p + strlen(pat);
        if (*v == '-' || (*v >= '0' && *v <= '9')) sum += strtoll(v, NULL, 10);
    }
    return sum;
}

typedef struct {
    int64_t state_bytes, dropped, late, rejected;
    bool present; /* the stats have state_bytes at all */
} stats_sample;

static stats_sample sample_stats(eddy_engine *e) {
    stats_sample s = {0, 0, 0, 0, false};
    char *json = NULL;
    if (eddy_engine_stats_json(e, &json, NULL) != EDDY_OK || json == NULL) return s;
    s.present = strstr(json, "\"state_bytes\":") != NULL;
    s.state_bytes = json_sum(json, "state_bytes");
    s.dropped = json_sum(json, "dropped") + json_sum(json, "subscriber_dropped");
    s.late = json_sum(json, "late");
    s.rejected = json_sum(json, "rejected");
    eddy_string_free(json);
    return s;
}

/* Samples state_bytes every 50 ms to find its peak during the run. */
typedef struct {
    eddy_engine *engine;
    atomic_bool stop;
    int64_t max_state;
    bool present;
} monitor;

static void *monitor_main(void *arg) {
    monitor *m = (monitor *)arg;
    while (!atomic_load(&m->stop)) {
        stats_sample s = sample_stats(m->engine);
        if (s.present) m->present = true;
        if (s.state_bytes > m->max_state) m->max_state = s.state_bytes;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Current resident set (VmRSS) in KiB, from /proc. */
static int64_t rss_now_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    char line[256];
    int64_t kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0) kib = strtoll(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

/* The 1-minute load average: a busy machine explains odd figures. */
static double loadavg_1m(void) {
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

static int64_t peak_rss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)ru.ru_maxrss; /* KiB on Linux */
}

/* ---- ingestion ---------------------------------------------------------------- */

/* Trades (or Quotes) rows start .. start+len-1 as one Arrow record batch. */
static struct ArrowArray make_batch(bool quotes, int64_t start, int64_t len, const char **sym, double *price,
                                    int64_t *vol, int64_t *ts) {
    for (int64_t r = 0; r < len; r++) {
        int64_t i = start + r;
        sym[r] = g_sym_text[quotes ? q_sym(i) : f_sym(i)];
        price[r] = quotes ? q_bid(i) : f_price(i);
        vol[r] = quotes ? q_size(i) : f_volume(i);
        ts[r] = f_ts(i);
    }
    struct ArrowArray cols[4];
    cols[0] = au_utf8(sym, len, NULL);
    cols[1] = au_fixed(price, sizeof(double), NULL, len, NULL);
    cols[2] = au_fixed(vol, sizeof(int64_t), NULL, len, NULL);
    cols[3] = au_fixed(ts, sizeof(int64_t), NULL, len, NULL);
    return au_struct(len, cols, 4, NULL);
}

static struct ArrowSchema make_schema(bool quotes) {
    struct ArrowSchema f[4] = {au_field("u", quotes ? "qsymbol" : "symbol"), au_field("g", quotes ? "bid" : "price"),
                               au_field("l", quotes ? "size" : "volume"), au_field("l", quotes ? "qts" : "ts")};
    return au_struct_schema(f, 4);
}

/* All batches of one stream, built before the clock starts. */
typedef struct {
    struct ArrowArray *batches;
    int64_t count;
    struct ArrowSchema schema;
} prebuilt;

static prebuilt prebuild(bool quotes, int64_t n) {
    prebuilt p;
    p.count = (n + ARROW_BATCH_ROWS - 1) / ARROW_BATCH_ROWS;
    p.batches = (struct ArrowArray *)au_xcalloc((size_t)p.count, sizeof(struct ArrowArray));
    const char **sym = (const char **)au_xcalloc(ARROW_BATCH_ROWS, sizeof(char *));
    double *price = (double *)au_xcalloc(ARROW_BATCH_ROWS, sizeof(double));
    int64_t *vol = (int64_t *)au_xcalloc(ARROW_BATCH_ROWS, sizeof(int64_t));
    int64_t *ts = (int64_t *)au_xcalloc(ARROW_BATCH_ROWS, sizeof(int64_t));
    for (int64_t b = 0; b < p.count; b++) {
        int64_t start = b * ARROW_BATCH_ROWS;
        int64_t len = n - start < ARROW_BATCH_ROWS ? n - start : ARROW_BATCH_ROWS;
        p.batches[b] = make_batch(quotes, start, len, sym, price, vol, ts);
    }
    free(sym);
    free(price);
    free(vol);
    free(ts);
    p.schema = make_schema(quotes);
    return p;
}

static void push_arrow(eddy_input *in, struct ArrowArray *batch, const struct ArrowSchema *schema) {
    CALL("eddy_input_push_arrow", eddy_input_push_arrow(in, batch, schema, &e_));
}

/* One row through the appender. The status checks cost a predictable
 * branch each; a host must make them too. */
static inline void push_row(eddy_input *in, bool quotes, int64_t i) {
    eddy_error *err = NULL;
    eddy_status st;
    const char *sym = g_sym_text[quotes ? q_sym(i) : f_sym(i)];
    if ((st = eddy_input_begin_row(in, &err)) != EDDY_OK) check(st, err, "eddy_input_begin_row");
    if ((st = eddy_input_set_str(in, 0, sym, 4, &err)) != EDDY_OK) check(st, err, "eddy_input_set_str");
    if ((st = eddy_input_set_f64(in, 1, quotes ? q_bid(i) : f_price(i), &err)) != EDDY_OK)
        check(st, err, "eddy_input_set_f64");
    if ((st = eddy_input_set_i64(in, 2, quotes ? q_size(i) : f_volume(i), &err)) != EDDY_OK)
        check(st, err, "eddy_input_set_i64");
    if ((st = eddy_input_set_i64(in, 3, f_ts(i), &err)) != EDDY_OK) check(st, err, "eddy_input_set_i64");
    if ((st = eddy_input_end_row(in, &err)) != EDDY_OK) check(st, err, "eddy_input_end_row");
}

/* ---- comparison and report ---------------------------------------------------- */

/* Relative tolerance of float sums (AVG over windows is not exact). */
#define FSUM_REL_TOL 1e-9

typedef struct {
    bool ok;
    char why[1024];
} verdict;

static verdict compare(const workload_def *wd, const tally *got, const tally *want, int64_t nulls) {
    verdict v = {true, ""};
    size_t used = 0;
#define WHY(...)                                                                               \
    do {                                                                                       \
        v.ok = false;                                                                          \
        if (used < sizeof v.why) used += (size_t)snprintf(v.why + used, sizeof v.why - used, __VA_ARGS__); \
    } while (0)
    if (got->rows != want->rows)
        WHY("rows %" PRId64 " != expected %" PRId64 "; ", got->rows, want->rows);
    if (got->checksum != want->checksum)
        WHY("%s %" PRId64 " != expected %" PRId64 "; ", wd->checksum_label, got->checksum, want->checksum);
    for (int k = 0; k < N_AUX; k++)
        if (wd->aux_label[k] != NULL && got->aux[k] != want->aux[k])
            WHY("%s %" PRId64 " != expected %" PRId64 "; ", wd->aux_label[k], got->aux[k], want->aux[k]);
    if (wd->fsum_label != NULL &&
        !(fabs(got->fsum - want->fsum) <= FSUM_REL_TOL * fmax(1.0, fabs(want->fsum))))
        WHY("%s %.6f != expected %.6f; ", wd->fsum_label, got->fsum, want->fsum);
    if (nulls != 0) WHY("%" PRId64 " NULL values in the output; ", nulls);
#undef WHY
    return v;
}

static void print_tally_json(const workload_def *wd, const char *key, const tally *t) {
    printf(",\"%s\":{", key);
    json_str(stdout, wd->checksum_label);
    printf(":%" PRId64, t->checksum);
    for (int k = 0; k < N_AUX; k++) {
        if (wd->aux_label[k] == NULL) continue;
        putchar(',');
        json_str(stdout, wd->aux_label[k]);
        printf(":%" PRId64, t->aux[k]);
    }
    if (wd->fsum_label != NULL) {
        putchar(',');
        json_str(stdout, wd->fsum_label);
        printf(":%.6f", t->fsum);
    }
    putchar('}');
}

static void print_common(const workload_def *wd) {
    printf("{\"engine\":\"eddy\",\"version\":");
    json_str(stdout, eddy_version_string());
    printf(",\"workload\":\"%s\",\"title\":", wd->name);
    json_str(stdout, wd->title);
    printf(",\"path\":\"%s\",\"n\":%" PRId64 ",\"options\":", path_name(), g_cfg.n);
    json_str(stdout, g_cfg.options);
    printf(",\"delivery\":\"%s\",\"loadavg_1m\":%.2f", delivery_name(), g_loadavg);
}

/* ---- the runs ------------------------------------------------------------------- */

typedef struct {
    eddy_engine *engine;
    eddy_subscription *sub;
    eddy_input *in[2]; /* Trades, Quotes (W5) */
} rig;

/* Opens the engine and installs the workload. Returns false (with eddy's
 * message in `why`) when eddy refuses the workload's query. */
static bool setup(const workload_def *wd, rig *r, char *why, size_t why_len) {
    memset(r, 0, sizeof *r);
    CALL("eddy_engine_open", eddy_engine_open(g_cfg.options, &r->engine, &e_));
    CALL("CREATE STREAM", eddy_engine_execute(r->engine, wd->streams, &e_));
    eddy_error *err = NULL;
    eddy_status st = eddy_engine_execute(r->engine, wd->query, &err);
    if (st != EDDY_OK) {
        snprintf(why, why_len, "%s: %s", eddy_status_name((int)st), eddy_error_message(err));
        eddy_error_free(err);
        return false;
    }
    CALL("eddy_subscribe", eddy_subscribe(r->engine, "Out", &r->sub, &e_));
    CALL("eddy_input_open Trades", eddy_input_open(r->engine, "Trades", &r->in[0], &e_));
    if (wd->two_streams) CALL("eddy_input_open Quotes", eddy_input_open(r->engine, "Quotes", &r->in[1], &e_));
    return true;
}

static void teardown(rig *r) {
    eddy_input_free(r->in[0]);
    eddy_input_free(r->in[1]);
    eddy_subscription_free(r->sub);
    eddy_engine_free(r->engine);
}

static void start_consumer(rig *r, consumer_args *ca, pthread_t *th) {
    ca->engine = r->engine;
    ca->sub = r->sub;
    if (g_cfg.delivery == DELIVER_CALLBACK)
        CALL("eddy_subscription_set_callback", eddy_subscription_set_callback(r->sub, on_callback, &g_cons, NULL, &e_));
    if (th != NULL && pthread_create(th, NULL, consumer_main, ca) != 0) fail("pthread_create failed");
}

/* Ends the inputs (the streams end: every open window fires) and closes
 * the engine (drained; the subscription ends once read). */
static void finish_inputs(rig *r) {
    for (int k = 0; k < 2; k++)
        if (r->in[k] != NULL) CALL("eddy_input_close", eddy_input_close(r->in[k], &e_));
    CALL("eddy_engine_close", eddy_engine_close(r->engine, &e_));
}

static int run_throughput(void) {
    const workload_def *wd = &WORKLOADS[g_cfg.workload];
    rig r;
    char why[768];
    if (!setup(wd, &r, why, sizeof why)) {
        /* W1..W3 run today: a refusal is a regression. */
        if (g_cfg.workload < W4) fail("eddy refused the %s query: %s", wd->name, why);
        /* Not an error of the suite: eddy has no patterns or joins yet.
         * The day it accepts the SQL, the run and its checks happen. */
        print_common(wd);
        printf(",\"status\":\"unsupported\",\"ok\":null,\"error\":");
        json_str(stdout, why);
        printf("}\n");
        teardown(&r);
        return 0;
    }

    tally want;
    compute_expected(g_cfg.workload, g_cfg.n, &want);

    prebuilt pre[2];
    memset(pre, 0, sizeof pre);
    if (g_cfg.arrow) {
        pre[0] = prebuild(false, g_cfg.n);
        if (wd->two_streams) pre[1] = prebuild(true, g_cfg.n);
    }

    memset(&g_cons, 0, sizeof g_cons);
    g_cons.wd = wd;
    consumer_args ca;
    pthread_t cons_th, mon_th;
    start_consumer(&r, &ca, &cons_th);
    monitor mon = {.engine = r.engine, .max_state = 0, .present = false};
    atomic_init(&mon.stop, false);
    if (pthread_create(&mon_th, NULL, monitor_main, &mon) != 0) fail("pthread_create failed");

    int64_t rss_start = rss_now_kib();
    int64_t t0 = now_ns();
    if (g_cfg.arrow) {
        for (int64_t b = 0; b < pre[0].count && !atomic_load(&g_failed); b++) {
            push_arrow(r.in[0], &pre[0].batches[b], &pre[0].schema);
            if (wd->two_streams) push_arrow(r.in[1], &pre[1].batches[b], &pre[1].schema);
        }
    } else {
        for (int64_t i = 0; i < g_cfg.n; i++) {
            push_row(r.in[0], false, i);
            if (wd->two_streams) push_row(r.in[1], true, i);
            if ((i & 0xffff) == 0 && atomic_load(&g_failed)) break;
        }
    }
    int64_t t_pushed = now_ns();
    stats_sample at_end = sample_stats(r.engine); /* windows still open */
    finish_inputs(&r);
    pthread_join(cons_th, NULL);
    atomic_store(&mon.stop, true);
    pthread_join(mon_th, NULL);
    stats_sample closed = sample_stats(r.engine);
    int64_t peak_rss = peak_rss_kib();

    if (atomic_load(&g_failed)) fail("consumer: %s", g_cons.error);

    int64_t events = g_cfg.n * (wd->two_streams ? 2 : 1);
    double secs = (double)((g_cons.last_ns > 0 ? g_cons.last_ns : t_pushed) - t0) / 1e9;
    verdict v = compare(wd, &g_cons.got, &want, g_cons.nulls);

    print_common(wd);
    printf(",\"status\":\"%s\",\"ok\":%s", v.ok ? "ok" : "mismatch", v.ok ? "true" : "false");
    printf(",\"events\":%" PRId64 ",\"seconds\":%.6f,\"events_per_sec\":%.1f", events, secs, (double)events / secs);
    printf(",\"push_seconds\":%.6f", (double)(t_pushed - t0) / 1e9);
    printf(",\"out_rows\":%" PRId64 ",\"expected_rows\":%" PRId64, g_cons.got.rows, want.rows);
    printf(",\"checksum\":%" PRId64 ",\"expected_checksum\":%" PRId64 ",\"checksum_column\":", g_cons.got.checksum,
           want.checksum);
    json_str(stdout, wd->checksum_label);
    print_tally_json(wd, "checks", &g_cons.got);
    print_tally_json(wd, "expected_checks", &want);
    if (mon.present || at_end.present)
        printf(",\"state_bytes\":%" PRId64 ",\"state_bytes_at_last_push\":%" PRId64,
               mon.max_state > at_end.state_bytes ? mon.max_state : at_end.state_bytes, at_end.state_bytes);
    else
        printf(",\"state_bytes\":null");
    printf(",\"dropped\":%" PRId64 ",\"late\":%" PRId64 ",\"rejected\":%" PRId64, closed.dropped, closed.late,
           closed.rejected);
    printf(",\"rss_at_start_kib\":%" PRId64 ",\"peak_rss_kib\":%" PRId64, rss_start, peak_rss);
    printf(",\"batches_received\":%" PRId64, g_cons.batches);
    if (!v.ok) {
        printf(",\"mismatch\":");
        json_str(stdout, v.why);
    }
    printf("}\n");
    fflush(stdout);
    if (!v.ok)
        fprintf(stderr,
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
                "!!! eddy_bench: WRONG ANSWER: %s %s n=%" PRId64 ": %s\n"
                "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n",
                wd->name, path_name(), g_cfg.n, v.why);

    for (int k = 0; k < 2; k++) {
        if (pre[k].batches == NULL) continue;
        for (int64_t b = 0; b < pre[k].count; b++) /* only left if a push failed */
            if (pre[k].batches[b].release != NULL) pre[k].batches[b].release(&pre[k].batches[b]);
        free(pre[k].batches);
        pre[k].schema.release(&pre[k].schema);
    }
    teardown(&r);
    return v.ok ? 0 : 1;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values, in microseconds. */
static double pct_us(const int64_t *sorted, int64_t n, double q) {
    if (n == 0) return NAN;
    int64_t k = (int64_t)ceil(q * (double)n) - 1;
    if (k < 0) k = 0;
    if (k >= n) k = n - 1;
    return (double)sorted[k] / 1000.0;
}

/* Latency: W1 per-event, paced at g_cfg.rate events/s by busy-waiting on
 * the monotonic clock (sleeping would add the scheduler's wake-up time to
 * every gap). The push time of row i is read just before its begin_row. */
static int run_latency(void) {
    const workload_def *wd = &WORKLOADS[W1];
    g_cfg.n = (int64_t)(g_cfg.rate * g_cfg.seconds);
    rig r;
    char why[768];
    if (!setup(wd, &r, why, sizeof why)) fail("W1 refused: %s", why);
    tally want;
    compute_expected(W1, g_cfg.n, &want);

    memset(&g_cons, 0, sizeof g_cons);
    g_cons.wd = wd;
    int64_t *push = (int64_t *)au_xcalloc((size_t)g_cfg.n, sizeof(int64_t));
    g_cons.push_ns = push;
    g_cons.lat_cap = want.rows;
    g_cons.lat_ns = (int64_t *)au_xcalloc((size_t)want.rows, sizeof(int64_t));
    /* Touch the arrays now so page faults do not land in the timed loop. */
    memset(push, 0, (size_t)g_cfg.n * sizeof(int64_t));
    memset(g_cons.lat_ns, 0, (size_t)want.rows * sizeof(int64_t));

    consumer_args ca;
    pthread_t cons_th;
    start_consumer(&r, &ca, g_cfg.inline_consumer ? NULL : &cons_th);
    if (g_cfg.inline_consumer) {
        ca.engine = r.engine;
        ca.sub = r.sub;
    }

    const double gap_ns = 1e9 / g_cfg.rate;
    int64_t max_behind = 0, behind_10us = 0;
    int64_t t0 = now_ns() + 1000000; /* start 1 ms from now */
    for (int64_t i = 0; i < g_cfg.n; i++) {
        int64_t target = t0 + (int64_t)((double)i * gap_ns);
        int64_t t = now_ns();
        while (t < target) {
            if (g_cfg.inline_consumer) consume_now(&ca);
            t = now_ns();
        }
        if (t - target > max_behind) max_behind = t - target;
        if (t - target > 10000) behind_10us++;
        push[i] = t;
        push_row(r.in[0], false, i);
        if ((i & 0xfff) == 0 && atomic_load(&g_failed)) break;
    }
    int64_t t_end = now_ns();
    if (g_cfg.inline_consumer) {
        /* Keep reading until every expected row came (or nothing comes for
         * 2 s), so the last rows are not delayed by the close below. */
        int64_t last = now_ns();
        while (g_cons.got.rows < want.rows && !atomic_load(&g_failed) && now_ns() - last < 2000000000LL) {
            int64_t before = g_cons.got.rows;
            consume_now(&ca);
            if (g_cons.got.rows != before) last = now_ns();
        }
    }
    finish_inputs(&r);
    if (g_cfg.inline_consumer) {
        while (consume_now(&ca)) {
        }
    } else {
        pthread_join(cons_th, NULL);
    }
    if (atomic_load(&g_failed)) fail("consumer: %s", g_cons.error);

    int64_t got_lat = g_cons.got.rows < want.rows ? g_cons.got.rows : want.rows;
    qsort(g_cons.lat_ns, (size_t)got_lat, sizeof(int64_t), cmp_i64);
    double mean = 0;
    for (int64_t k = 0; k < got_lat; k++) mean += (double)g_cons.lat_ns[k];
    mean = got_lat > 0 ? mean / (double)got_lat / 1000.0 : NAN;
    bool ok = g_cons.got.rows == want.rows && g_cons.mismatched == 0 && g_cons.got.checksum == want.checksum;

    print_common(wd);
    printf(",\"mode\":\"latency\",\"consumer\":\"%s\",\"rate\":%.0f,\"achieved_rate\":%.1f",
           g_cfg.inline_consumer ? "inline" : "thread", g_cfg.rate,
           (double)g_cfg.n / ((double)(t_end - t0) / 1e9));
    printf(",\"status\":\"%s\",\"ok\":%s,\"out_rows\":%" PRId64 ",\"expected_rows\":%" PRId64
           ",\"checksum\":%" PRId64 ",\"expected_checksum\":%" PRId64 ",\"rows_not_matching_their_input\":%" PRId64,
           ok ? "ok" : "mismatch", ok ? "true" : "false", g_cons.got.rows, want.rows, g_cons.got.checksum,
           want.checksum, g_cons.mismatched);
    printf(",\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f,\"mean_us\":%.2f",
           pct_us(g_cons.lat_ns, got_lat, 0.50), pct_us(g_cons.lat_ns, got_lat, 0.99),
           pct_us(g_cons.lat_ns, got_lat, 0.999), got_lat ? (double)g_cons.lat_ns[got_lat - 1] / 1000.0 : NAN,
           mean);
    printf(",\"producer_max_behind_us\":%.1f,\"pushes_over_10us_late\":%" PRId64, (double)max_behind / 1000.0,
           behind_10us);
    printf(",\"peak_rss_kib\":%" PRId64 "}\n", peak_rss_kib());
    fflush(stdout);
    if (!ok)
        fprintf(stderr, "\n!!! eddy_bench: WRONG ANSWER in latency run: %" PRId64 " rows (expected %" PRId64
                        "), %" PRId64 " rows not matching their input row\n\n",
                g_cons.got.rows, want.rows, g_cons.mismatched);
    free(push);
    free(g_cons.lat_ns);
    teardown(&r);
    return ok ? 0 : 1;
}

/* Machine baseline for the latency figures: threads that only read the
 * clock in a loop, as the paced producer does. Any gap between two reads is
 * time the machine took the CPU away (other processes, the hypervisor);
 * latencies cannot be better than what this sees. One thread shows what a
 * single busy thread gets; one per CPU shows what a run that keeps every CPU
 * busy (producer, worker, consumer) gets, which on a shared virtual machine
 * can be much worse. */
typedef struct {
    double seconds;
    int64_t max_gap, over10us, over100us, over1ms, lost, span;
} jitter_probe;

static void *jitter_thread(void *arg) {
    jitter_probe *p = arg;
    int64_t t0 = now_ns(), prev = t0, end = t0 + (int64_t)(p->seconds * 1e9);
    for (;;) {
        int64_t t = now_ns(), gap = t - prev;
        prev = t;
        if (gap > p->max_gap) p->max_gap = gap;
        if (gap > 10000) {
            p->over10us++;
            p->lost += gap;
        }
        if (gap > 100000) p->over100us++;
        if (gap > 1000000) p->over1ms++;
        if (t >= end) break;
    }
    p->span = prev - t0;
    return NULL;
}

static int run_jitter(double seconds, int threads) {
    jitter_probe probes[64];
    pthread_t ids[64];
    memset(probes, 0, sizeof probes);
    for (int i = 0; i < threads; i++) {
        probes[i].seconds = seconds;
        if (pthread_create(&ids[i], NULL, jitter_thread, &probes[i]) != 0) fail("pthread_create failed");
    }
    jitter_probe all = {0};
    for (int i = 0; i < threads; i++) {
        pthread_join(ids[i], NULL);
        if (probes[i].max_gap > all.max_gap) all.max_gap = probes[i].max_gap;
        all.over10us += probes[i].over10us;
        all.over100us += probes[i].over100us;
        all.over1ms += probes[i].over1ms;
        all.lost += probes[i].lost;
        all.span += probes[i].span;
    }
    printf("{\"engine\":\"none\",\"mode\":\"jitter\",\"threads\":%d,\"seconds\":%.3f,\"loadavg_1m\":%.2f"
           ",\"max_gap_us\":%.1f,\"gaps_over_10us\":%" PRId64 ",\"gaps_over_100us\":%" PRId64
           ",\"gaps_over_1ms\":%" PRId64 ",\"time_lost_pct\":%.2f}\n",
           threads, seconds, g_loadavg, (double)all.max_gap / 1000.0, all.over10us, all.over100us, all.over1ms,
           all.span > 0 ? 100.0 * (double)all.lost / (double)all.span : 0.0);
    return 0;
}

/* ---- main ------------------------------------------------------------------------- */

static _Noreturn void usage(const char *msg) {
    if (msg != NULL) fprintf(stderr, "eddy_bench: %s\n", msg);
    fprintf(stderr,
            "usage: eddy_bench -w W1|W2|W3|W4|W5 -p rows|arrow [-n N] [-o OPTIONS] [-d pull|callback]\n"
            "       eddy_bench -w W1 -p rows --latency RATE [--seconds S] [-c thread|inline] [-d pull|callback]\n"
            "  -n N          input rows per stream (default 10000000)\n"
            "  -o OPTIONS    eddy_engine_open options (default \"%s\")\n"
            "  -O KEY=VALUE  one more option on top of those (e.g. -O idle_spin_us=0)\n"
            "  -d MODE       results read with eddy_subscription_next (pull, default) or a\n"
            "                callback run by eddy_engine_poll (callback)\n"
            "  --latency R   latency mode: W1 per-event paced at R events/s\n"
            "  --seconds S   latency run length (default 2)\n"
            "  -c MODE       latency consumer: its own thread (default) or inline in the producer's pacing loop\n"
            "  --expected-only  print the expected answer for -w and -n, computed from the formulas, and exit\n"
            "  --jitter S    no engine: spin on the clock for S seconds and report the gaps (machine baseline)\n"
            "  --jitter-threads T  that many spinning threads at once (default 1; one per CPU shows what a\n"
            "                run keeping every CPU busy gets)\n",
            DEFAULT_OPTIONS);
    exit(2);
}

int main(int argc, char **argv) {
    g_cfg.n = 10000000;
    g_cfg.options = DEFAULT_OPTIONS;
    g_cfg.seconds = 2.0;
    bool expected_only = false;
    double jitter = 0;
    int jitter_threads = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE() \
    do {             \
        if (v == NULL) usage("missing value"); \
        i++;         \
    } while (0)
        if (strcmp(a, "-w") == 0) {
            NEED_VALUE();
            g_cfg.workload = workload_from_name(v);
            if (g_cfg.workload == 0) usage("unknown workload");
        } else if (strcmp(a, "-p") == 0) {
            NEED_VALUE();
            if (strcmp(v, "arrow") == 0)
                g_cfg.arrow = true;
            else if (strcmp(v, "rows") == 0)
                g_cfg.arrow = false;
            else
                usage("path is rows or arrow");
        } else if (strcmp(a, "-n") == 0) {
            NEED_VALUE();
            g_cfg.n = strtoll(v, NULL, 10);
            if (g_cfg.n <= 0) usage("N must be positive");
        } else if (strcmp(a, "-o") == 0) {
            NEED_VALUE();
            g_cfg.options = v;
        } else if (strcmp(a, "-O") == 0) {
            /* One more option on top of the current ones (a later key wins). */
            NEED_VALUE();
            size_t len = strlen(g_cfg.options) + strlen(v) + 2;
            char *joined = (char *)malloc(len);
            if (joined == NULL) fail("out of memory");
            snprintf(joined, len, "%s;%s", g_cfg.options, v);
            g_cfg.options = joined; /* lives as long as the process */
        } else if (strcmp(a, "-d") == 0) {
            NEED_VALUE();
            if (strcmp(v, "pull") == 0)
                g_cfg.delivery = DELIVER_PULL;
            else if (strcmp(v, "callback") == 0)
                g_cfg.delivery = DELIVER_CALLBACK;
            else
                usage("delivery is pull or callback");
        } else if (strcmp(a, "--latency") == 0) {
            NEED_VALUE();
            g_cfg.rate = strtod(v, NULL);
            if (!(g_cfg.rate > 0)) usage("rate must be positive");
        } else if (strcmp(a, "--seconds") == 0) {
            NEED_VALUE();
            g_cfg.seconds = strtod(v, NULL);
            if (!(g_cfg.seconds > 0)) usage("seconds must be positive");
        } else if (strcmp(a, "-c") == 0) {
            NEED_VALUE();
            if (strcmp(v, "inline") == 0)
                g_cfg.inline_consumer = true;
            else if (strcmp(v, "thread") == 0)
                g_cfg.inline_consumer = false;
            else
                usage("consumer is thread or inline");
        } else if (strcmp(a, "--jitter") == 0) {
            NEED_VALUE();
            jitter = strtod(v, NULL);
            if (!(jitter > 0)) usage("--jitter needs seconds");
        } else if (strcmp(a, "--jitter-threads") == 0) {
            NEED_VALUE();
            jitter_threads = atoi(v);
            if (jitter_threads < 1 || jitter_threads > 64) usage("--jitter-threads is 1 to 64");
        } else if (strcmp(a, "--expected-only") == 0) {
            expected_only = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(NULL);
        } else {
            usage("unknown argument");
        }
#undef NEED_VALUE
    }
    g_loadavg = loadavg_1m();
    if (jitter > 0) return run_jitter(jitter, jitter_threads);
    if (g_cfg.workload == 0) usage("-w is required");
    init_symbols();
    if (eddy_version_number() != EDDY_VERSION_MAJOR * 1000000u + EDDY_VERSION_MINOR * 1000u + EDDY_VERSION_PATCH)
        fprintf(stderr, "eddy_bench: warning: header %d.%d.%d but library %s\n", EDDY_VERSION_MAJOR,
                EDDY_VERSION_MINOR, EDDY_VERSION_PATCH, eddy_version_string());
    if (expected_only) {
        /* The expected answer alone (no engine): lets run.sh cross-check
         * this computation against laminar_bench.py's numpy one. */
        const workload_def *wd = &WORKLOADS[g_cfg.workload];
        tally want;
        compute_expected(g_cfg.workload, g_cfg.n, &want);
        printf("{\"workload\":\"%s\",\"n\":%" PRId64 ",\"expected_rows\":%" PRId64 ",\"expected_checksum\":%" PRId64,
               wd->name, g_cfg.n, want.rows, want.checksum);
        print_tally_json(wd, "expected_checks", &want);
        printf("}\n");
        return 0;
    }
    if (g_cfg.rate > 0) {
        if (g_cfg.workload != W1 || g_cfg.arrow) usage("latency mode is W1 on the rows path");
        return run_latency();
    }
    return run_throughput();
}
