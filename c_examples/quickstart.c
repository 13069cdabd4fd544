/*
 * eddy quickstart: declare a stream and a filter query, push rows with the
 * row appender, and print the results from a callback that eddy_engine_poll
 * runs on this thread.
 *
 * Build (after `cargo build --release`):
 *   cc -std=c11 -Iinclude c_examples/quickstart.c -Ltarget/release -leddy \
 *      -Wl,-rpath,$PWD/target/release -o quickstart
 */
#include <stdio.h>
#include <string.h>

#include "eddy.h"

/* Reports a failed call; returns 1 so callers can `if (failed(...)) goto`. */
static int failed(eddy_status st, eddy_error *err, const char *what) {
    if (st == EDDY_OK) return 0;
    fprintf(stderr, "quickstart: %s failed: %s: %s\n", what, eddy_status_name((int)st),
            eddy_error_message(err));
    eddy_error_free(err);
    return 1;
}

typedef struct {
    int rows;
    int errors;
} alerts_seen;

/* Runs inside eddy_engine_poll; the batch is valid only during the call. */
static void on_alerts(void *user_data, const eddy_batch *batch) {
    alerts_seen *seen = (alerts_seen *)user_data;
    for (size_t row = 0; row < eddy_batch_num_rows(batch); row++) {
        const char *sensor = NULL;
        size_t sensor_len = 0;
        double celsius = 0;
        int32_t seq = 0;
        eddy_error *err = NULL;
        if (failed(eddy_batch_get_str(batch, row, 0, &sensor, &sensor_len, &err), err, "get sensor") ||
            failed(eddy_batch_get_f64(batch, row, 1, &celsius, &err), err, "get celsius") ||
            failed(eddy_batch_get_i32(batch, row, 2, &seq, &err), err, "get seq")) {
            seen->errors++;
            continue;
        }
        printf("  alert #%d: sensor %.*s reads %.1f C\n", seq, (int)sensor_len, sensor, celsius);
        seen->rows++;
    }
}

int main(void) {
    static const struct {
        const char *sensor;
        double celsius;
    } readings[] = {
        {"kitchen", 21.5}, {"attic", 31.0}, {"cellar", 12.25}, {"attic", 33.5},
        {"kitchen", 22.0}, {"server-room", 41.75}, {"cellar", 12.5}, {"attic", 29.9},
    };
    const int n_readings = (int)(sizeof readings / sizeof readings[0]);
    const int expected_alerts = 3; /* celsius > 30 */

    eddy_engine *engine = NULL;
    eddy_input *input = NULL;
    eddy_subscription *alerts = NULL;
    eddy_error *err = NULL;
    alerts_seen seen = {0, 0};
    int status = 1;

    printf("eddy %s quickstart\n", eddy_version_string());

    if (failed(eddy_engine_open(NULL, &engine, &err), err, "eddy_engine_open")) goto done;

    const char *sql =
        "CREATE STREAM readings (sensor STRING, celsius DOUBLE, seq INT);\n"
        "INSERT INTO alerts SELECT sensor, celsius, seq FROM readings WHERE celsius > 30.0";
    printf("executing:\n%s\n", sql);
    if (failed(eddy_engine_execute(engine, sql, &err), err, "eddy_engine_execute")) goto done;

    if (failed(eddy_subscribe(engine, "alerts", &alerts, &err), err, "eddy_subscribe")) goto done;
    if (failed(eddy_subscription_set_callback(alerts, on_alerts, &seen, NULL, &err), err,
               "eddy_subscription_set_callback"))
        goto done;

    if (failed(eddy_input_open(engine, "readings", &input, &err), err, "eddy_input_open")) goto done;
    printf("pushing %d readings\n", n_readings);
    for (int i = 0; i < n_readings; i++) {
        if (failed(eddy_input_begin_row(input, &err), err, "eddy_input_begin_row") ||
            failed(eddy_input_set_str(input, 0, readings[i].sensor, strlen(readings[i].sensor), &err), err,
                   "eddy_input_set_str") ||
            failed(eddy_input_set_f64(input, 1, readings[i].celsius, &err), err, "eddy_input_set_f64") ||
            failed(eddy_input_set_i32(input, 2, i, &err), err, "eddy_input_set_i32") ||
            failed(eddy_input_end_row(input, &err), err, "eddy_input_end_row"))
            goto done;
    }

    /* Wait until everything pushed so far is processed, then deliver. */
    if (failed(eddy_engine_flush(engine, 5000, &err), err, "eddy_engine_flush")) goto done;
    printf("alerts (celsius > 30):\n");
    while (seen.rows + seen.errors < expected_alerts) {
        size_t delivered = 0;
        if (failed(eddy_engine_poll(engine, 1000, &delivered, &err), err, "eddy_engine_poll")) goto done;
        if (delivered == 0) {
            /* The engine's counters usually say why (e.g. a query error). */
            char *stats = NULL;
            fprintf(stderr, "quickstart: no results within 1 s\n");
            if (eddy_engine_stats_json(engine, &stats, NULL) == EDDY_OK) {
                fprintf(stderr, "quickstart: engine stats: %s\n", stats);
                eddy_string_free(stats);
            }
            goto done;
        }
    }

    if (failed(eddy_input_close(input, &err), err, "eddy_input_close")) goto done;
    if (failed(eddy_engine_close(engine, &err), err, "eddy_engine_close")) goto done;

    if (seen.rows != expected_alerts || seen.errors != 0) {
        fprintf(stderr, "quickstart: expected %d alerts, got %d (%d errors)\n", expected_alerts, seen.rows,
                seen.errors);
        goto done;
    }
    printf("done: %d alerts\n", seen.rows);
    status = 0;

done:
    eddy_subscription_free(alerts);
    eddy_input_free(input);
    eddy_engine_free(engine);
    return status;
}
