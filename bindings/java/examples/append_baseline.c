/*
 * The row loop of AppendBench's "setters" mode written directly in C, so the
 * Java binding's per-row overhead can be read off against it. Same options,
 * same rows, same measures (producer-thread CPU and wall time per row).
 * `scripts/test_java.sh bench` builds and runs it; usage: append_baseline [rows]
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, the CPU-time clock */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eddy.h"

static double ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void check(eddy_status st, eddy_error *err, const char *what) {
    if (st == EDDY_OK) return;
    fprintf(stderr, "append_baseline: %s: %s: %s\n", what, eddy_status_name((int)st), eddy_error_message(err));
    exit(1);
}

static const char *const symbols[8] = {"ACME", "XYZ", "QQQQ", "BRK.A", "T", "GOOGL", "MSFT", "NVDA"};

/* out[0]: producer CPU ns per row; out[1]: wall ns per row including the flush. */
static void run(int rows, double out[2]) {
    eddy_engine *e = NULL;
    eddy_input *in = NULL;
    eddy_error *err = NULL;
    check(eddy_engine_open("queue_capacity=4194304;queue_bytes=134217728;overflow=block;push_timeout_ms=60000", &e, &err),
          err, "open");
    check(eddy_engine_execute(e,
                              "CREATE STREAM T (symbol STRING, price DOUBLE, volume BIGINT);"
                              "INSERT INTO Big SELECT symbol, price FROM T WHERE price > 1000000.0",
                              &err),
          err, "execute");
    check(eddy_input_open(e, "T", &in, &err), err, "input");
    double c0 = ns(CLOCK_THREAD_CPUTIME_ID), t0 = ns(CLOCK_MONOTONIC);
    for (int r = 0; r < rows; r++) {
        const char *s = symbols[r & 7];
        if (eddy_input_begin_row(in, &err) != EDDY_OK || eddy_input_set_str(in, 0, s, strlen(s), &err) != EDDY_OK ||
            eddy_input_set_f64(in, 1, r * 0.5, &err) != EDDY_OK || eddy_input_set_i64(in, 2, r, &err) != EDDY_OK ||
            eddy_input_end_row(in, &err) != EDDY_OK)
            check(eddy_error_status(err), err, "append");
    }
    double c1 = ns(CLOCK_THREAD_CPUTIME_ID);
    check(eddy_engine_flush(e, -1, &err), err, "flush");
    double t2 = ns(CLOCK_MONOTONIC);
    out[0] = (c1 - c0) / rows;
    out[1] = (t2 - t0) / rows;
    eddy_input_free(in);
    eddy_engine_free(e);
}

int main(int argc, char **argv) {
    int rows = argc > 1 ? atoi(argv[1]) : 2000000;
    if (rows <= 0 || rows > 4194304) rows = 2000000;
    double r[2], best_cpu = 1e18, best_wall = 1e18;
    run(rows / 4, r); /* warm-up */
    for (int i = 0; i < 3; i++) {
        run(rows, r);
        if (r[0] < best_cpu) best_cpu = r[0];
        if (r[1] < best_wall) best_wall = r[1];
    }
    printf("%-8s cpu %7.1f ns/row   wall %7.1f ns/row   (%.2f M rows/s end to end)\n", "C", best_cpu, best_wall,
           1e3 / best_wall);
    return 0;
}
