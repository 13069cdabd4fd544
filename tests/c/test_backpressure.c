/*
 * Backpressure. A subscriber that is never read, with subscriber_capacity=1
 * and the block policy, stalls the worker after its first batch; then a
 * 4-row input queue fills up and:
 *   overflow=block       pushes fail with EDDY_ERR_FULL after push_timeout_ms,
 *                        nothing of them ingested, counted as "rejected";
 *   overflow=drop_newest pushes succeed, new rows are dropped, and
 *                        events_in + dropped == pushed;
 *   overflow=drop_oldest pushes succeed, old rows are dropped, the newest
 *                        rows survive, events_in + dropped == pushed.
 * Close never waits on the unread subscriber and drains what was queued.
 */
#include "eddy_test.h"

#include "arrow_util.h"

#define SQL "CREATE STREAM S (a INT); INSERT INTO Out SELECT a FROM S WHERE a >= 0"

static eddy_status push_one(eddy_input *in, int32_t v, eddy_error **err) {
    eddy_status st = eddy_input_begin_row(in, err);
    if (st != EDDY_OK) return st;
    st = eddy_input_set_i32(in, 0, v, err);
    if (st != EDDY_OK) return st;
    return eddy_input_end_row(in, err);
}

/* After close: reads everything the subscription holds; returns the rows and
 * the last value seen. */
static long long read_all(eddy_subscription *sub, int32_t *last) {
    long long rows = 0;
    for (;;) {
        struct ArrowArray arr;
        struct ArrowSchema sch;
        eddy_status st = eddy_subscription_next(sub, 5000, &arr, &sch, ERR);
        if (st != EDDY_OK) {
            CHECK_INT(st, EDDY_ERR_END_OF_STREAM);
            eddy_error_free(et_err);
            return rows;
        }
        if (arr.length > 0 && last != NULL) *last = au_i32(arr.children[0], arr.offset, arr.length - 1);
        rows += arr.length;
        arr.release(&arr);
        sch.release(&sch);
    }
}

static void test_block(void) {
    eddy_engine *e = et_open("queue_capacity=4;push_timeout_ms=50;subscriber_capacity=1");
    ET_EXEC(e, SQL);
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR)); /* never read until close */
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));

    int accepted = 0, full = 0;
    int64_t full_ms = -1;
    for (int i = 0; i < 200 && full < 3; i++) {
        eddy_error *err = NULL;
        int64_t t0 = et_now_ms();
        eddy_status st = push_one(in, i, &err);
        int64_t dt = et_now_ms() - t0;
        if (st == EDDY_OK) {
            accepted++;
            CHECK(err == NULL);
            CHECK(full == 0); /* once full, it stays full: nobody reads */
        } else {
            CHECK_INT(st, EDDY_ERR_FULL);
            CHECK(err != NULL && eddy_error_status(err) == EDDY_ERR_FULL);
            if (full == 0) {
                printf("  first EDDY_ERR_FULL after %d accepted rows, %lld ms: %s\n", accepted,
                       (long long)dt, eddy_error_message(err));
                CHECK_CONTAINS(eddy_error_message(err), "full");
                full_ms = dt;
            }
            full++;
        }
        eddy_error_free(err);
    }
    CHECK_INT(full, 3);
    /* It waited push_timeout_ms before giving up (allow for clock rounding). */
    CHECK(full_ms >= 45);
    /* 1 row delivered, at most a stalled batch plus 4 queued rows beyond. */
    CHECK(accepted >= 5);
    CHECK(accepted < 200);

    /* "rejected" counts the refused rows. */
    char *json = NULL;
    REQUIRE_OK(eddy_engine_stats_json(e, &json, ERR));
    CHECK_CONTAINS(json, "\"rejected\":3");
    eddy_string_free(json);
    CHECK_INT(et_stream_stat(e, "S", "rejected"), 3);
    CHECK_INT(et_stream_stat(e, "S", "dropped"), 0);
    CHECK(et_stream_stat(e, "S", "queue_depth") >= 1);

    /* A flush cannot complete while the worker is stalled. */
    EXPECT_ERR(EDDY_ERR_TIMEOUT, NULL, eddy_engine_flush(e, 100, ERR));

    /* Close drains every accepted row to the subscriber, none of the refused. */
    REQUIRE_OK(eddy_engine_close(e, ERR));
    int32_t last = -1;
    CHECK_INT(read_all(sub, &last), accepted);
    CHECK_INT(last, accepted - 1);
    CHECK_INT(et_stream_stat(e, "S", "events_in"), accepted);
    CHECK_INT(et_stream_stat(e, "Out", "events_in"), accepted);
    eddy_input_free(in);
    eddy_subscription_free(sub);
    eddy_engine_free(e);
}

static void test_drop(const char *policy) {
    char opts[200];
    snprintf(opts, sizeof opts,
             "queue_capacity=4;overflow=%s;subscriber_overflow=block;subscriber_capacity=1", policy);
    eddy_engine *e = et_open(opts);
    ET_EXEC(e, SQL);
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    const int pushed = 1000;
    int ok = 0;
    for (int i = 0; i < pushed; i++) {
        eddy_error *err = NULL;
        if (push_one(in, i, &err) == EDDY_OK)
            ok++;
        else
            fprintf(stderr, "  push %d: %s\n", i, eddy_error_message(err));
        eddy_error_free(err);
    }
    CHECK_INT(ok, pushed); /* drop policies never fail a push */
    long long dropped = et_stream_stat(e, "S", "dropped");
    CHECK(dropped > 0);
    CHECK_INT(et_stream_stat(e, "S", "rejected"), 0);

    REQUIRE_OK(eddy_engine_close(e, ERR));
    long long in_rows = et_stream_stat(e, "S", "events_in");
    dropped = et_stream_stat(e, "S", "dropped");
    printf("  %s: pushed %d, events_in %lld, dropped %lld\n", policy, pushed, in_rows, dropped);
    CHECK(dropped > 0);
    CHECK_INT(in_rows + dropped, pushed);
    int32_t last = -1;
    CHECK_INT(read_all(sub, &last), in_rows);
    if (strcmp(policy, "drop_oldest") == 0)
        CHECK_INT(last, pushed - 1); /* the newest row survives */
    else
        CHECK(last < pushed - 1); /* the newest rows were the ones dropped */
    /* The subscriber itself dropped nothing (its policy is block). */
    CHECK_INT(et_stream_stat(e, "Out", "subscriber_dropped"), 0);
    eddy_input_free(in);
    eddy_subscription_free(sub);
    eddy_engine_free(e);
}

/* A subscriber with a drop policy never stalls the worker. */
static void test_subscriber_drop(void) {
    eddy_engine *e = et_open("subscriber_capacity=10;subscriber_overflow=drop_newest");
    ET_EXEC(e, SQL);
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    for (int i = 0; i < 500; i++) {
        REQUIRE_OK(push_one(in, i, ERR));
        if (i % 50 == 49) REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    }
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    long long sdrop = et_stream_stat(e, "Out", "subscriber_dropped");
    long long queued = et_stream_stat(e, "Out", "subscriber_queued");
    printf("  subscriber drop_newest: queued %lld, dropped %lld\n", queued, sdrop);
    CHECK(sdrop > 0);
    CHECK(queued <= 50 && queued >= 1);
    CHECK_INT(et_stream_stat(e, "S", "events_in"), 500);
    CHECK_INT(et_stream_stat(e, "Out", "events_in"), 500);
    eddy_input_free(in);
    eddy_subscription_free(sub);
    eddy_engine_free(e);
}

int main(void) {
    test_block();
    test_drop("drop_newest");
    test_drop("drop_oldest");
    test_subscriber_drop();
    return et_finish("test_backpressure");
}
