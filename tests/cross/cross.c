/*
 * The cross-language scenario in C (see tests/cross/README.md): rows through
 * the row appender, results pulled with eddy_subscription_next and read from
 * the Arrow C Data Interface by hand, printed in the canonical text form.
 *
 *   cross_c > out.txt      exit status 1 with a message on stderr on failure
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eddy.h"

#define ROWS 10000

static const char *const SQL =
    "CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT, ts BIGINT) "
    "WITH (event_time = 'ts', watermark_delay = INTERVAL '200' MILLISECOND);"
    "INSERT INTO Big SELECT symbol, price, volume FROM Trades WHERE price > 140.0;"
    "INSERT INTO PerSec SELECT symbol, window_start, COUNT(*) AS n, SUM(volume) AS vol, "
    "MIN(price) AS lo, MAX(price) AS hi, AVG(price) AS avg_price "
    "FROM Trades WINDOW('tumbling', INTERVAL '1' SECOND) GROUP BY symbol, window_start";

static void fail(const char *what, eddy_status st, eddy_error *err) {
    fprintf(stderr, "cross.c: %s failed: %s: %s\n", what, eddy_status_name((int)st),
            err != NULL ? eddy_error_message(err) : "(no message)");
    eddy_error_free(err);
    exit(1);
}

static void die(const char *msg) {
    fprintf(stderr, "cross.c: %s\n", msg);
    exit(1);
}

/* `err` inside `expr` is this macro's own error slot. */
#define CHECK(expr)                                   \
    do {                                              \
        eddy_error *err = NULL;                       \
        eddy_status st_ = (expr);                     \
        if (st_ != EDDY_OK) fail(#expr, st_, err);    \
    } while (0)

/* ---- the canonical lines ---------------------------------------------- */

static char **lines;
static size_t n_lines, cap_lines;

static void add_line(const char *s) {
    if (n_lines == cap_lines) {
        cap_lines = cap_lines ? cap_lines * 2 : 1024;
        lines = realloc(lines, cap_lines * sizeof *lines);
        if (lines == NULL) die("out of memory");
    }
    size_t len = strlen(s) + 1; /* strdup is not C11 */
    lines[n_lines] = malloc(len);
    if (lines[n_lines] == NULL) die("out of memory");
    memcpy(lines[n_lines], s, len);
    n_lines++;
}

static int cmp_lines(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- reading an exported struct array ---------------------------------- */

/* Index of the child named `name` with Arrow format `format`; dies otherwise. */
static int64_t column(const struct ArrowSchema *s, const char *name, const char *format) {
    for (int64_t c = 0; c < s->n_children; c++) {
        if (strcmp(s->children[c]->name, name) != 0) continue;
        if (strcmp(s->children[c]->format, format) != 0) {
            fprintf(stderr, "cross.c: column %s has Arrow format '%s', expected '%s'\n", name,
                    s->children[c]->format, format);
            exit(1);
        }
        return c;
    }
    fprintf(stderr, "cross.c: no column %s in the result\n", name);
    exit(1);
}

/* Position of `row` of the struct in child `c`'s buffers (both offsets count). */
static int64_t at(const struct ArrowArray *a, int64_t c, int64_t row) {
    return a->offset + a->children[c]->offset + row;
}

static bool is_null(const struct ArrowArray *a, int64_t c, int64_t row) {
    const uint8_t *valid = a->children[c]->buffers[0];
    int64_t i = at(a, c, row);
    return valid != NULL && !(valid[i >> 3] & (1u << (i & 7)));
}

/* Appends the value as text: NULL, an integer, a string, or a double as the
 * 16 hex digits of its IEEE 754 bits (exact, the same in every language). */
static void put_i64(char **p, const struct ArrowArray *a, int64_t c, int64_t row) {
    if (is_null(a, c, row)) {
        *p += sprintf(*p, "|NULL");
        return;
    }
    const int64_t *v = a->children[c]->buffers[1];
    *p += sprintf(*p, "|%" PRId64, v[at(a, c, row)]);
}

static void put_f64(char **p, const struct ArrowArray *a, int64_t c, int64_t row) {
    if (is_null(a, c, row)) {
        *p += sprintf(*p, "|NULL");
        return;
    }
    const double *v = a->children[c]->buffers[1];
    uint64_t bits;
    memcpy(&bits, &v[at(a, c, row)], sizeof bits);
    *p += sprintf(*p, "|%016" PRIx64, bits);
}

static void put_str(char **p, const struct ArrowArray *a, int64_t c, int64_t row) {
    if (is_null(a, c, row)) {
        *p += sprintf(*p, "|NULL");
        return;
    }
    const int32_t *off = a->children[c]->buffers[1];
    const char *data = a->children[c]->buffers[2];
    int64_t i = at(a, c, row);
    int len = (int)(off[i + 1] - off[i]);
    if (len > 64) die("unexpectedly long string in a result");
    *p += sprintf(*p, "|%.*s", len, data + off[i]);
}

static void read_big(const struct ArrowArray *a, const struct ArrowSchema *s) {
    int64_t sym = column(s, "symbol", "u"), price = column(s, "price", "g"),
            vol = column(s, "volume", "l");
    for (int64_t r = 0; r < a->length; r++) {
        char buf[256], *p = buf;
        p += sprintf(p, "Big");
        put_str(&p, a, sym, r);
        put_f64(&p, a, price, r);
        put_i64(&p, a, vol, r);
        add_line(buf);
    }
}

static void read_per_sec(const struct ArrowArray *a, const struct ArrowSchema *s) {
    /* window_start is TIMESTAMP: timestamp[ms] without a zone, int64 values */
    int64_t sym = column(s, "symbol", "u"), ws = column(s, "window_start", "tsm:"),
            n = column(s, "n", "l"), vol = column(s, "vol", "l"), lo = column(s, "lo", "g"),
            hi = column(s, "hi", "g"), avg = column(s, "avg_price", "g");
    for (int64_t r = 0; r < a->length; r++) {
        char buf[512], *p = buf;
        p += sprintf(p, "PerSec");
        put_str(&p, a, sym, r);
        put_i64(&p, a, ws, r);
        put_i64(&p, a, n, r);
        put_i64(&p, a, vol, r);
        put_f64(&p, a, lo, r);
        put_f64(&p, a, hi, r);
        put_f64(&p, a, avg, r);
        add_line(buf);
    }
}

/* Pulls until end of stream (the engine is closed by then). */
static void drain(eddy_subscription *sub,
                  void (*read)(const struct ArrowArray *, const struct ArrowSchema *)) {
    for (;;) {
        struct ArrowArray arr;
        struct ArrowSchema sch;
        eddy_error *err = NULL;
        eddy_status st = eddy_subscription_next(sub, -1, &arr, &sch, &err);
        if (st == EDDY_ERR_END_OF_STREAM) {
            eddy_error_free(err);
            return;
        }
        if (st != EDDY_OK) fail("eddy_subscription_next", st, err);
        read(&arr, &sch);
        arr.release(&arr);
        sch.release(&sch);
    }
}

/* ---- stats ---------------------------------------------------------------- */

/* The integer after `"key":` in [from, end), or -1 when absent. */
static long long json_int(const char *from, const char *end, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *k = strstr(from, pat);
    if (k == NULL || k >= end) return -1;
    return strtoll(k + strlen(pat), NULL, 10);
}

/* "Stats|Trades|events_in=..|late=..|queries_late=.." from the stats JSON:
 * the Trades stream's counters and the sum of every query's late count. */
static void stats_line(eddy_engine *eng) {
    char *json = NULL;
    CHECK(eddy_engine_stats_json(eng, &json, &err));
    const char *trades = strstr(json, "\"name\":\"Trades\"");
    const char *queries = strstr(json, "\"queries\":[");
    if (trades == NULL || queries == NULL) die("stats JSON without the Trades stream or queries");
    const char *trades_end = strchr(trades, '}');
    long long in = json_int(trades, trades_end, "events_in");
    long long late = json_int(trades, trades_end, "late");
    long long qlate = 0;
    int nq = 0;
    for (const char *q = strstr(queries, "\"late\":"); q != NULL; q = strstr(q + 1, "\"late\":")) {
        qlate += strtoll(q + 7, NULL, 10);
        nq++;
    }
    if (in < 0 || late < 0 || nq != 2) {
        fprintf(stderr, "cross.c: cannot read the counters from the stats: %s\n", json);
        exit(1);
    }
    char buf[160];
    snprintf(buf, sizeof buf, "Stats|Trades|events_in=%lld|late=%lld|queries_late=%lld", in, late,
             qlate);
    add_line(buf);
    eddy_string_free(json);
}

int main(void) {
    eddy_engine *eng = NULL;
    CHECK(eddy_engine_open("overflow=block", &eng, &err));
    CHECK(eddy_engine_execute(eng, SQL, &err));

    eddy_subscription *big = NULL, *per_sec = NULL;
    CHECK(eddy_subscribe(eng, "Big", &big, &err));
    CHECK(eddy_subscribe(eng, "PerSec", &per_sec, &err));

    eddy_input *in = NULL;
    CHECK(eddy_input_open(eng, "Trades", &in, &err));
    for (int64_t i = 0; i < ROWS; i++) {
        char sym[8];
        snprintf(sym, sizeof sym, "S%03d", (int)((i * 37) % 20));
        double price = 50.0 + (double)((i * 7919) % 10000) / 100.0;
        int64_t volume = 1 + (i * 104729) % 1000;
        int64_t ts = INT64_C(1700000000000) + i * 3 + ((i * 13) % 7) * 20 - 60;
        CHECK(eddy_input_begin_row(in, &err));
        CHECK(eddy_input_set_str(in, 0, sym, strlen(sym), &err));
        CHECK(eddy_input_set_f64(in, 1, price, &err));
        CHECK(eddy_input_set_i64(in, 2, volume, &err));
        CHECK(eddy_input_set_i64(in, 3, ts, &err));
        CHECK(eddy_input_end_row(in, &err));
    }
    /* Ending the stream's only input fires the windows still open. */
    CHECK(eddy_input_close(in, &err));
    CHECK(eddy_engine_flush(eng, -1, &err));
    stats_line(eng);
    CHECK(eddy_engine_close(eng, &err));

    drain(big, read_big);
    drain(per_sec, read_per_sec);

    qsort(lines, n_lines, sizeof *lines, cmp_lines);
    for (size_t i = 0; i < n_lines; i++) {
        puts(lines[i]);
        free(lines[i]);
    }
    free(lines);
    eddy_input_free(in);
    eddy_subscription_free(big);
    eddy_subscription_free(per_sec);
    eddy_engine_free(eng);
    if (fflush(stdout) != 0 || ferror(stdout)) die("cannot write the output");
    return 0;
}
