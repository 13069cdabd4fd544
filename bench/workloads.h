/*
 * The benchmark workloads of /work/shared/bench/WORKLOADS.md: the data
 * formulas, eddy's SQL for W1..W5, and the expected answers.
 *
 * The expected answers are computed here from the formulas alone, with plain
 * loops over i that follow the workload's definition literally (a naive max
 * over the last 100 rows, a forward scan for the pattern, ...). Nothing here
 * uses eddy, so a fast wrong answer from the engine cannot hide.
 *
 * Prices are compared as integer cents: price = 50.0 + v / 100.0 with
 * v = (i * 7919) % 10000, so llround(price * 100) = 5000 + v exactly, and
 * sums of cents are exact where sums of doubles would not be.
 */
#ifndef EDDY_BENCH_WORKLOADS_H
#define EDDY_BENCH_WORKLOADS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- data: the Trades stream, event i = 0 .. N-1 (64-bit arithmetic) ---- */

#define TS_BASE 1700000000000LL

static inline int64_t f_sym(int64_t i) { return (i * 37) % 100; }
static inline double f_price(int64_t i) { return 50.0 + (double)((i * 7919) % 10000) / 100.0; }
static inline int64_t f_cents(int64_t i) { return 5000 + (i * 7919) % 10000; }
static inline int64_t f_volume(int64_t i) { return 1 + (i * 104729) % 1000; }
static inline int64_t f_ts(int64_t i) { return TS_BASE + i; }

/* Quotes (W5): the same formulas shifted by one (i -> i + 1), same ts. */
static inline int64_t q_sym(int64_t i) { return f_sym(i + 1); }
static inline double q_bid(int64_t i) { return f_price(i + 1); }
static inline int64_t q_cents(int64_t i) { return f_cents(i + 1); }
static inline int64_t q_size(int64_t i) { return f_volume(i + 1); }

/* "S000".."S099", NUL-terminated; the stream gets the 4 bytes. */
static char g_sym_text[100][5];
static inline void init_symbols(void) {
    for (int k = 0; k < 100; k++) {
        g_sym_text[k][0] = 'S';
        g_sym_text[k][1] = (char)('0' + k / 100);
        g_sym_text[k][2] = (char)('0' + (k / 10) % 10);
        g_sym_text[k][3] = (char)('0' + k % 10);
        g_sym_text[k][4] = '\0';
    }
}

/* Cents of a price read back from the engine. */
static inline int64_t to_cents(double p) { return llround(p * 100.0); }

/* ---- workloads ---------------------------------------------------------- */

typedef enum { W1 = 1, W2, W3, W4, W5 } workload_id;

#define TRADES_COLUMNS "(symbol STRING, price DOUBLE, volume BIGINT, ts BIGINT)"
#define QUOTES_COLUMNS "(qsymbol STRING, bid DOUBLE, size BIGINT, qts BIGINT)"

/* What a run checks. `checksum` is the headline figure (an exact integer
 * sum of one output column); aux[] are further exact sums and fsum a float
 * sum checked within a relative tolerance. Labels name them in the JSON. */
#define N_AUX 4
typedef struct {
    int64_t rows;
    int64_t checksum;
    int64_t aux[N_AUX];
    double fsum;
} tally;

typedef struct {
    const char *name;       /* "W1" */
    const char *title;      /* "filter + project" */
    const char *streams;    /* CREATE STREAM statements */
    const char *query;      /* the continuous query */
    bool two_streams;       /* W5: Trades and Quotes */
    const char *checksum_label;
    const char *aux_label[N_AUX]; /* NULL: unused */
    const char *fsum_label;       /* NULL: unused */
    /* Output columns the consumer reads, by name, with their Arrow format. */
    int n_cols;
    const char *col_name[8];
    const char *col_format[8];
} workload_def;

static const workload_def WORKLOADS[] = {
    [W1] = {"W1", "filter + project",
            "CREATE STREAM Trades " TRADES_COLUMNS ";",
            "INSERT INTO Out SELECT symbol, price, volume FROM Trades WHERE price > 100.0;",
            false, "sum(volume)", {"sum(price cents)", NULL, NULL, NULL}, NULL,
            3, {"symbol", "price", "volume"}, {"u", "g", "l"}},
    [W2] = {"W2", "tumbling aggregation",
            "CREATE STREAM Trades " TRADES_COLUMNS " WITH (event_time = 'ts');",
            "INSERT INTO Out SELECT symbol, window_start, COUNT(*) AS n, SUM(volume) AS vol, "
            "AVG(price) AS avg_price, MIN(price) AS lo, MAX(price) AS hi FROM Trades "
            "WINDOW('tumbling', INTERVAL '1' SECOND) GROUP BY symbol, window_start;",
            false, "sum(vol)",
            {"sum(n)", "sum(lo cents)", "sum(hi cents)", "sum(window_start seconds since base)"},
            "sum(avg_price)",
            7, {"symbol", "window_start", "n", "vol", "avg_price", "lo", "hi"},
            {"u", "tsm:", "l", "l", "g", "g", "g"}},
    [W3] = {"W3", "sliding count window",
            "CREATE STREAM Trades " TRADES_COLUMNS ";",
            "INSERT INTO Out SELECT symbol, AVG(price) AS avg100, MAX(price) AS max100 "
            "FROM Trades WINDOW('length', 100);",
            false, "sum(max100 cents)", {"rows whose symbol is the k-th input's", NULL, NULL, NULL},
            "sum(avg100)",
            3, {"symbol", "avg100", "max100"}, {"u", "g", "g"}},
    [W4] = {"W4", "pattern",
            "CREATE STREAM Trades " TRADES_COLUMNS " WITH (event_time = 'ts');",
            "INSERT INTO Out SELECT e1.symbol, e1.price AS p1, e2.price AS p2 "
            "FROM PATTERN (EVERY e1=Trades[price > 148.0] -> "
            "e2=Trades[symbol = e1.symbol AND price < e1.price - 80.0]) "
            "WITHIN INTERVAL '1' SECOND;",
            false, "sum(p2 cents)", {"sum(p1 cents)", NULL, NULL, NULL}, NULL,
            3, {"symbol", "p1", "p2"}, {"u", "g", "g"}},
    [W5] = {"W5", "windowed join",
            "CREATE STREAM Trades " TRADES_COLUMNS " WITH (event_time = 'ts');"
            "CREATE STREAM Quotes " QUOTES_COLUMNS " WITH (event_time = 'qts');",
            "INSERT INTO Out SELECT t.symbol, t.price, q.bid "
            "FROM Trades WINDOW('time', INTERVAL '100' MILLISECOND) AS t "
            "JOIN Quotes WINDOW('time', INTERVAL '100' MILLISECOND) AS q ON t.symbol = q.qsymbol;",
            true, "sum(price cents)", {"sum(bid cents)", NULL, NULL, NULL}, NULL,
            3, {"symbol", "price", "bid"}, {"u", "g", "g"}},
};

static inline int workload_from_name(const char *s) {
    for (int w = W1; w <= W5; w++)
        if (strcasecmp(s, WORKLOADS[w].name) == 0) return w;
    return 0;
}

/* ---- expected answers ----------------------------------------------------- */

/* W1: rows with price > 100.0, in input order. */
static void expect_w1(int64_t n, tally *t) {
    for (int64_t i = 0; i < n; i++) {
        if (f_price(i) > 100.0) {
            t->rows++;
            t->checksum += f_volume(i);
            t->aux[0] += f_cents(i);
        }
    }
}

/* W2: one row per (symbol, epoch-aligned second) that has rows. ts is
 * TS_BASE + i and TS_BASE is a multiple of 1000, so second w holds
 * i = 1000w .. 1000w + 999; a group is finished when the second changes. */
static void expect_w2(int64_t n, tally *t) {
    int64_t cnt[100], vol[100], lo[100], hi[100], sum[100];
    int64_t cur = -1;
    memset(cnt, 0, sizeof cnt);
    for (int64_t i = 0; i <= n; i++) {
        int64_t w = i < n ? f_ts(i) / 1000 : -2; /* -2: flush the last second */
        if (w != cur) {
            for (int s = 0; s < 100; s++) {
                if (cnt[s] == 0) continue;
                t->rows++;
                t->checksum += vol[s];
                t->aux[0] += cnt[s];
                t->aux[1] += lo[s];
                t->aux[2] += hi[s];
                t->aux[3] += cur - TS_BASE / 1000;
                t->fsum += (double)sum[s] / (double)cnt[s] / 100.0;
                cnt[s] = 0;
            }
            cur = w;
        }
        if (i == n) break;
        int64_t s = f_sym(i), c = f_cents(i);
        if (cnt[s] == 0) {
            vol[s] = 0;
            sum[s] = 0;
            lo[s] = hi[s] = c;
        }
        cnt[s]++;
        vol[s] += f_volume(i);
        sum[s] += c;
        if (c < lo[s]) lo[s] = c;
        if (c > hi[s]) hi[s] = c;
    }
}

/* W3: WINDOW('length', 100) without GROUP BY emits one row per arriving
 * row, aggregating the last 100 rows of the whole stream (fewer at the
 * start: row k sees rows max(0, k-99) .. k). The max is a naive scan of
 * those rows on purpose: obviously right, and not timed. aux[0] is the row
 * count, since every row's symbol is its own input row's. */
static void expect_w3(int64_t n, tally *t) {
    int32_t ring[100];
    int64_t sum = 0;
    for (int64_t k = 0; k < n; k++) {
        int32_t c = (int32_t)f_cents(k);
        if (k >= 100) sum -= ring[k % 100];
        ring[k % 100] = c;
        sum += c;
        int64_t m = k + 1 < 100 ? k + 1 : 100;
        int32_t mx = 0;
        for (int64_t j = 0; j < m; j++)
            if (ring[j] > mx) mx = ring[j];
        t->rows++;
        t->checksum += mx;
        t->aux[0]++;
        t->fsum += (double)sum / (double)m / 100.0;
    }
}

/* W4: EVERY e1 (price > 148) followed by the first later e2 of the same
 * symbol with price < e1.price - 80, within 1 s of event time. A forward
 * scan from every e1. (Same symbols recur every 100 rows, so each match
 * completes 100 rows later; the scan does not assume it.) */
static void expect_w4(int64_t n, tally *t) {
    for (int64_t i = 0; i < n; i++) {
        if (!(f_price(i) > 148.0)) continue;
        for (int64_t j = i + 1; j < n && f_ts(j) - f_ts(i) <= 1000; j++) {
            if (f_sym(j) == f_sym(i) && f_price(j) < f_price(i) - 80.0) {
                t->rows++;
                t->checksum += f_cents(j);
                t->aux[0] += f_cents(i);
                break;
            }
        }
    }
}

/* W5: a trade and a quote of the same symbol join when both are in their
 * 100 ms time windows at once, i.e. when their event times differ by less
 * than 100 ms; each such pair comes out once (when the later of the two
 * arrives). Brute force over the pairs within 99 ms. */
static void expect_w5(int64_t n, tally *t) {
    for (int64_t i = 0; i < n; i++) {
        int64_t lo = i - 99 < 0 ? 0 : i - 99, hi = i + 99 >= n ? n - 1 : i + 99;
        for (int64_t j = lo; j <= hi; j++) {
            if (q_sym(j) == f_sym(i)) {
                t->rows++;
                t->checksum += f_cents(i);
                t->aux[0] += q_cents(j);
            }
        }
    }
}

static void compute_expected(int w, int64_t n, tally *t) {
    memset(t, 0, sizeof *t);
    switch (w) {
    case W1: expect_w1(n, t); break;
    case W2: expect_w2(n, t); break;
    case W3: expect_w3(n, t); break;
    case W4: expect_w4(n, t); break;
    case W5: expect_w5(n, t); break;
    default: break;
    }
}

#endif /* EDDY_BENCH_WORKLOADS_H */
