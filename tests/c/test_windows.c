/*
 * Windows through the C ABI: event time with eddy_input_watermark, a grouped
 * tumbling aggregation, ALL EVENTS with the _expired column, a manual clock
 * with eddy_engine_advance_time, and the late counter in the stats.
 */
#include "eddy_test.h"

#include "arrow_util.h"

static void push(eddy_input *in, const char *sym, double price, int64_t ts) {
    REQUIRE_OK(eddy_input_begin_row(in, ERR));
    REQUIRE_OK(eddy_input_set_str(in, 0, sym, strlen(sym), ERR));
    REQUIRE_OK(eddy_input_set_f64(in, 1, price, ERR));
    REQUIRE_OK(eddy_input_set_i64(in, 2, ts, ERR));
    REQUIRE_OK(eddy_input_end_row(in, ERR));
}

/* Reads all rows readable now into (sym, n, avg, window_start) arrays. */
static int read_groups(eddy_subscription *sub, char syms[][8], int64_t *n, double *avg, int64_t *start) {
    int rows = 0;
    struct ArrowArray arr;
    struct ArrowSchema sch;
    while (ET_NEXT_NOW(sub, &arr, &sch)) {
        CHECK_STR(sch.children[3]->name, "window_start");
        CHECK_STR(sch.children[3]->format, "tsm:");
        for (int64_t r = 0; r < arr.length && rows < 16; r++, rows++) {
            size_t len;
            const char *p = au_str(arr.children[0], arr.offset, r, &len);
            snprintf(syms[rows], 8, "%.*s", (int)len, p);
            n[rows] = au_i64(arr.children[1], arr.offset, r);
            avg[rows] = au_f64(arr.children[2], arr.offset, r);
            start[rows] = au_i64(arr.children[3], arr.offset, r);
        }
        arr.release(&arr);
        sch.release(&sch);
    }
    return rows;
}

static void test_event_time_tumbling(void) {
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e,
            "CREATE STREAM T (sym STRING, price DOUBLE, ts BIGINT)"
            "  WITH (event_time = 'ts', watermark_delay = INTERVAL '1' SECOND);"
            "INSERT INTO Out SELECT sym, COUNT(*) AS n, AVG(price) AS avg_price, window_start"
            "  FROM T WINDOW('tumbling', INTERVAL '1' SECOND) GROUP BY sym, window_start");
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "T", &in, ERR));
    push(in, "A", 10.0, 100);
    push(in, "B", 20.0, 200);
    push(in, "A", 30.0, 900);
    push(in, "A", 50.0, 1500);
    push(in, "B", 40.0, 700); /* out of order, within the delay */
    REQUIRE_OK(eddy_engine_flush(e, -1, ERR));
    char syms[16][8];
    int64_t n[16], start[16];
    double avg[16];
    CHECK_INT(read_groups(sub, syms, n, avg, start), 0);

    /* The host says event time reached 1000: [0, 1000) fires. */
    REQUIRE_OK(eddy_input_watermark(in, 1000, ERR));
    REQUIRE_OK(eddy_engine_flush(e, -1, ERR));
    int rows = read_groups(sub, syms, n, avg, start);
    CHECK_INT(rows, 2);
    CHECK_STR(syms[0], "A");
    CHECK_INT(n[0], 2);
    CHECK(avg[0] == 20.0);
    CHECK_INT(start[0], 0);
    CHECK_STR(syms[1], "B");
    CHECK_INT(n[1], 2);
    CHECK(avg[1] == 30.0);

    /* A row below the watermark is late: dropped and counted. */
    push(in, "A", 99.0, 999);
    REQUIRE_OK(eddy_engine_flush(e, -1, ERR));
    CHECK_INT(read_groups(sub, syms, n, avg, start), 0);
    char *stats = NULL;
    REQUIRE_OK(eddy_engine_stats_json(e, &stats, ERR));
    CHECK_CONTAINS(stats, "\"late\":1");
    CHECK_CONTAINS(stats, "\"watermark\":1000");
    eddy_string_free(stats);

    /* Closing the input ends the stream: [1000, 2000) fires. */
    REQUIRE_OK(eddy_input_close(in, ERR));
    REQUIRE_OK(eddy_engine_flush(e, -1, ERR));
    rows = read_groups(sub, syms, n, avg, start);
    CHECK_INT(rows, 1);
    CHECK_STR(syms[0], "A");
    CHECK(avg[0] == 50.0);
    CHECK_INT(start[0], 1000);
    eddy_input_free(in);
    eddy_subscription_free(sub);
    eddy_engine_free(e);
}

static void test_watermark_errors(void) {
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, "CREATE STREAM P (a BIGINT)");
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "P", &in, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "event_time", eddy_input_watermark(in, 5, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, NULL, eddy_input_watermark(NULL, 5, ERR));
    REQUIRE_OK(eddy_input_close(in, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_input_watermark(in, 5, ERR));
    eddy_input_free(in);
    eddy_engine_free(e);
}

/* length(2) with ALL EVENTS over a manual clock: the _expired column. */
static void test_all_events_manual_clock(void) {
    eddy_engine *e = et_open("clock=manual");
    ET_EXEC(e,
            "CREATE STREAM T (sym STRING, price DOUBLE, ts BIGINT);"
            "INSERT ALL EVENTS INTO Out SELECT price FROM T WINDOW('time', 100)");
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "T", &in, ERR));
    REQUIRE_OK(eddy_engine_advance_time(e, 1000, ERR));
    push(in, "A", 1.0, 0);
    REQUIRE_OK(eddy_engine_advance_time(e, 1050, ERR));
    push(in, "A", 2.0, 0);
    REQUIRE_OK(eddy_engine_advance_time(e, 1100, ERR));
    double want_price[] = {1.0, 2.0, 1.0};
    bool want_expired[] = {false, false, true};
    int got = 0;
    struct ArrowArray arr;
    struct ArrowSchema sch;
    while (ET_NEXT_NOW(sub, &arr, &sch)) {
        CHECK_STR(sch.children[1]->name, "_expired");
        CHECK_STR(sch.children[1]->format, "b");
        for (int64_t r = 0; r < arr.length; r++, got++) {
            if (got >= 3) break;
            CHECK(au_f64(arr.children[0], arr.offset, r) == want_price[got]);
            const uint8_t *bits = (const uint8_t *)arr.children[1]->buffers[1];
            int64_t i = arr.children[1]->offset + arr.offset + r;
            CHECK(((bits[i / 8] >> (i % 8)) & 1) == want_expired[got]);
        }
        arr.release(&arr);
        sch.release(&sch);
    }
    CHECK_INT(got, 3);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "backwards", eddy_engine_advance_time(e, 10, ERR));
    eddy_input_free(in);
    eddy_subscription_free(sub);
    eddy_engine_free(e);
}

int main(void) {
    test_event_time_tumbling();
    test_watermark_errors();
    test_all_events_manual_clock();
    return et_finish("test_windows");
}
