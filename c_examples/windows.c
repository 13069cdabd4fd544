/*
 * Windows: a sensor collector computes, per sensor and per second of event
 * time, the count, average and maximum reading, and raises an alert when the
 * boiler's last 3 readings average above a threshold (WHERE filters before
 * the window, so the window holds boiler readings only). Results arrive through
 * callbacks that run inside eddy_engine_poll, on this thread.
 *
 * Event time comes from the `ts` column; the watermark trails the largest
 * time seen by 500 ms, so readings up to 500 ms out of order still count.
 * Closing the input ends the stream and fires the windows still open.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "eddy.h"

static int failed(eddy_status st, eddy_error *err, const char *what) {
    if (st == EDDY_OK) return 0;
    fprintf(stderr, "windows: %s failed: %s: %s\n", what, eddy_status_name((int)st), eddy_error_message(err));
    eddy_error_free(err);
    return 1;
}

static void on_second(void *user, const eddy_batch *b) {
    int *rows = user;
    for (size_t r = 0; r < eddy_batch_num_rows(b); r++) {
        const char *sensor;
        size_t len;
        int64_t start, n;
        double avg, hi;
        eddy_batch_get_str(b, r, 0, &sensor, &len, NULL);
        eddy_batch_get_i64(b, r, 1, &start, NULL);
        eddy_batch_get_i64(b, r, 2, &n, NULL);
        eddy_batch_get_f64(b, r, 3, &avg, NULL);
        eddy_batch_get_f64(b, r, 4, &hi, NULL);
        printf("  second %" PRId64 " %.*s: %" PRId64 " readings, avg %.2f, max %.2f\n", start / 1000,
               (int)len, sensor, n, avg, hi);
        (*rows)++;
    }
}

static void on_alert(void *user, const eddy_batch *b) {
    int *rows = user;
    for (size_t r = 0; r < eddy_batch_num_rows(b); r++) {
        const char *sensor;
        size_t len;
        double avg;
        eddy_batch_get_str(b, r, 0, &sensor, &len, NULL);
        eddy_batch_get_f64(b, r, 1, &avg, NULL);
        printf("  ALERT %.*s: last 3 readings average %.2f\n", (int)len, sensor, avg);
        (*rows)++;
    }
}

int main(void) {
    eddy_engine *e = NULL;
    eddy_error *err = NULL;
    if (failed(eddy_engine_open("", &e, &err), err, "open")) return 1;
    const char *sql =
        "CREATE STREAM Readings (sensor STRING, value DOUBLE, ts TIMESTAMP)"
        "  WITH (event_time = 'ts', watermark_delay = INTERVAL '500' MILLISECOND);"
        "INSERT INTO PerSecond SELECT sensor, window_start, COUNT(*) AS n, AVG(value) AS avg_value,"
        "  MAX(value) AS max_value FROM Readings WINDOW('tumbling', INTERVAL '1' SECOND)"
        "  GROUP BY sensor, window_start;"
        "INSERT INTO Alerts SELECT sensor, AVG(value) AS avg3 FROM Readings WINDOW('length', 3)"
        "  WHERE sensor = 'boiler' HAVING COUNT(*) = 3 AND AVG(value) > 80.0;";
    if (failed(eddy_engine_execute(e, sql, &err), err, "execute")) return 1;

    int second_rows = 0, alert_rows = 0;
    eddy_subscription *seconds = NULL, *alerts = NULL;
    if (failed(eddy_subscribe(e, "PerSecond", &seconds, &err), err, "subscribe")) return 1;
    if (failed(eddy_subscription_set_callback(seconds, on_second, &second_rows, NULL, &err), err, "callback"))
        return 1;
    if (failed(eddy_subscribe(e, "Alerts", &alerts, &err), err, "subscribe")) return 1;
    if (failed(eddy_subscription_set_callback(alerts, on_alert, &alert_rows, NULL, &err), err, "callback"))
        return 1;

    eddy_input *in = NULL;
    if (failed(eddy_input_open(e, "Readings", &in, &err), err, "input")) return 1;
    /* Two sensors, readings every 250 ms of event time; one arrives late
     * (out of order) but within the watermark delay. */
    static const struct {
        const char *sensor;
        double value;
        int64_t ts;
    } readings[] = {
        {"boiler", 70.0, 1700000000000}, {"intake", 20.0, 1700000000100}, {"boiler", 82.0, 1700000000250},
        {"boiler", 85.0, 1700000000500}, {"intake", 21.0, 1700000000600}, {"boiler", 90.0, 1700000000750},
        {"boiler", 88.0, 1700000001000}, {"intake", 22.5, 1700000000900}, {"boiler", 60.0, 1700000001250},
        {"intake", 23.0, 1700000001600}, {"boiler", 55.0, 1700000002100},
    };
    for (size_t i = 0; i < sizeof readings / sizeof readings[0]; i++) {
        eddy_input_begin_row(in, NULL);
        eddy_input_set_str(in, 0, readings[i].sensor, strlen(readings[i].sensor), NULL);
        eddy_input_set_f64(in, 1, readings[i].value, NULL);
        eddy_input_set_i64(in, 2, readings[i].ts, NULL); /* TIMESTAMP: epoch ms */
        if (failed(eddy_input_end_row(in, &err), err, "end_row")) return 1;
    }
    printf("pushed %zu readings; results so far:\n", sizeof readings / sizeof readings[0]);
    if (failed(eddy_engine_flush(e, -1, &err), err, "flush")) return 1;
    size_t delivered;
    while (eddy_engine_poll(e, 0, &delivered, NULL) == EDDY_OK && delivered > 0) {
    }
    printf("closing the input (fires the open windows):\n");
    if (failed(eddy_input_close(in, &err), err, "close")) return 1;
    if (failed(eddy_engine_flush(e, -1, &err), err, "flush")) return 1;
    while (eddy_engine_poll(e, 0, &delivered, NULL) == EDDY_OK && delivered > 0) {
    }
    eddy_input_free(in);
    eddy_subscription_free(seconds);
    eddy_subscription_free(alerts);
    eddy_engine_free(e);
    /* 2 sensors x 3 seconds, minus intake's empty third second; boiler's
     * windows {82, 85, 90} and {85, 90, 88} average above 80. */
    if (second_rows != 5 || alert_rows != 2) {
        fprintf(stderr, "windows: expected 5 per-second rows and 2 alerts, got %d and %d\n", second_rows,
                alert_rows);
        return 1;
    }
    return 0;
}
