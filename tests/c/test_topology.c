/*
 * Query topologies: a chain (the output of q1 is the input of q2), one
 * stream feeding two queries, two subscribers on one stream, and a query
 * added while data flows (it sees only later rows).
 */
#include "eddy_test.h"

#include "arrow_util.h"

/* Reads every batch available now; appends column `col` (INT) to vals. */
static int drain_ints(eddy_subscription *sub, const char *col, int32_t *vals, int cap) {
    int n = 0;
    struct ArrowArray arr;
    struct ArrowSchema sch;
    while (ET_NEXT_NOW(sub, &arr, &sch)) {
        int64_t c = au_child_index(&sch, col);
        CHECK(c >= 0);
        if (c >= 0) {
            CHECK_STR(sch.children[c]->format, "i");
            for (int64_t r = 0; r < arr.length; r++) {
                if (n < cap) vals[n] = au_i32(arr.children[c], arr.offset, r);
                n++;
            }
        }
        arr.release(&arr);
        sch.release(&sch);
    }
    return n;
}

static void push_range(eddy_input *in, int from, int to) {
    for (int i = from; i < to; i++) {
        REQUIRE_OK(eddy_input_begin_row(in, ERR));
        REQUIRE_OK(eddy_input_set_i32(in, 0, i, ERR));
        REQUIRE_OK(eddy_input_set_i64(in, 1, (int64_t)i * 10, ERR));
        REQUIRE_OK(eddy_input_end_row(in, ERR));
    }
}

static void expect_range(const int32_t *vals, int n, int from, int to, const char *what) {
    CHECK_INT(n, to - from);
    int bad = 0;
    for (int i = 0; i < n && i < to - from; i++) bad += vals[i] != from + i;
    if (bad) fprintf(stderr, "%s: %d values out of place\n", what, bad);
    CHECK_INT(bad, 0);
}

int main(void) {
    static int32_t vals[1024];
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e,
            "CREATE STREAM S (a INT, big BIGINT);\n"
            "INSERT INTO Mid SELECT a, big FROM S WHERE a >= 10;\n"  /* q1 */
            "INSERT INTO Out SELECT a FROM Mid WHERE a < 20;\n"      /* q2: chained on q1 */
            "INSERT INTO Low SELECT a, big FROM S WHERE a < 5;\n"    /* S feeds q1 and q3 */
            "INSERT INTO Tail SELECT a FROM Mid WHERE a >= 25");     /* Mid feeds q2 and q4 */

    eddy_subscription *s_mid = NULL, *s_out = NULL, *s_low = NULL, *s_tail = NULL;
    eddy_subscription *s_raw1 = NULL, *s_raw2 = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Mid", &s_mid, ERR));
    REQUIRE_OK(eddy_subscribe(e, "out", &s_out, ERR)); /* case-insensitive */
    REQUIRE_OK(eddy_subscribe(e, "Low", &s_low, ERR));
    REQUIRE_OK(eddy_subscribe(e, "Tail", &s_tail, ERR));
    REQUIRE_OK(eddy_subscribe(e, "S", &s_raw1, ERR));
    REQUIRE_OK(eddy_subscribe(e, "S", &s_raw2, ERR));
    CHECK_UINT(eddy_subscription_num_columns(s_out), 1);
    CHECK_UINT(eddy_subscription_num_columns(s_mid), 2);

    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    push_range(in, 0, 30);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));

    int n;
    n = drain_ints(s_mid, "a", vals, 1024);
    expect_range(vals, n, 10, 30, "Mid");
    n = drain_ints(s_out, "a", vals, 1024);
    expect_range(vals, n, 10, 20, "Out");
    n = drain_ints(s_low, "a", vals, 1024);
    expect_range(vals, n, 0, 5, "Low");
    n = drain_ints(s_tail, "a", vals, 1024);
    expect_range(vals, n, 25, 30, "Tail");
    /* Both subscribers of S see every row. */
    n = drain_ints(s_raw1, "a", vals, 1024);
    expect_range(vals, n, 0, 30, "S #1");
    n = drain_ints(s_raw2, "a", vals, 1024);
    expect_range(vals, n, 0, 30, "S #2");

    /* Per-query stats: q1 read 30 rows, wrote 20; q2 read 20, wrote 10. */
    char *json = NULL;
    REQUIRE_OK(eddy_engine_stats_json(e, &json, ERR));
    CHECK_CONTAINS(json, "\"rows_in\":30,\"rows_out\":20");
    CHECK_CONTAINS(json, "\"rows_in\":20,\"rows_out\":10");
    CHECK_CONTAINS(json, "\"rows_in\":30,\"rows_out\":5");
    CHECK_CONTAINS(json, "\"rows_in\":20,\"rows_out\":5");
    eddy_string_free(json);
    CHECK_INT(et_stream_stat(e, "S", "events_in"), 30);
    CHECK_INT(et_stream_stat(e, "Mid", "events_in"), 20);
    CHECK_INT(et_stream_stat(e, "Out", "events_in"), 10);
    CHECK_INT(et_stream_stat(e, "S", "subscribers"), 2);

    /* A query added later sees only rows pushed after it; one more level. */
    ET_EXEC(e, "INSERT INTO Deep SELECT a FROM Out WHERE a > 15");
    eddy_subscription *s_deep = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Deep", &s_deep, ERR));
    push_range(in, 0, 30);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    n = drain_ints(s_deep, "a", vals, 1024);
    expect_range(vals, n, 16, 20, "Deep");
    n = drain_ints(s_out, "a", vals, 1024);
    expect_range(vals, n, 10, 20, "Out (second round)");

    /* A freed subscription stops receiving; the others go on. */
    eddy_subscription_free(s_raw2);
    CHECK_INT(et_stream_stat(e, "S", "subscribers"), 1);
    push_range(in, 100, 103);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    n = drain_ints(s_raw1, "a", vals, 1024);
    CHECK_INT(n, 30 + 3);

    eddy_subscription *all[] = {s_mid, s_out, s_low, s_tail, s_raw1, s_deep};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) eddy_subscription_free(all[i]);
    eddy_input_free(in);
    REQUIRE_OK(eddy_engine_close(e, ERR));
    eddy_engine_free(e);
    return et_finish("test_topology");
}
