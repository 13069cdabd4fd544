/*
 * Close semantics: close drains what inputs hold; afterwards execute, input
 * pushes, subscribe, flush and a second close give EDDY_ERR_CLOSED; pull
 * subscriptions return the remaining rows and then EDDY_ERR_END_OF_STREAM
 * (every time); callback subscriptions get the rest from poll, and then poll
 * says EDDY_ERR_CLOSED; stats still work and say "closed":true.
 */
#include "eddy_test.h"

#include "arrow_util.h"

static void push(eddy_input *in, int32_t v) {
    REQUIRE_OK(eddy_input_begin_row(in, ERR));
    REQUIRE_OK(eddy_input_set_i32(in, 0, v, ERR));
    REQUIRE_OK(eddy_input_end_row(in, ERR));
}

static long cb_rows;
static long cb_sum;
static void on_batch(void *user, const eddy_batch *b) {
    (void)user;
    for (size_t r = 0; r < eddy_batch_num_rows(b); r++) {
        int32_t v = 0;
        EXPECT_OK(eddy_batch_get_i32(b, r, 0, &v, ERR));
        cb_sum += v;
        cb_rows++;
    }
}

int main(void) {
    const int n = 1000;
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, "CREATE STREAM S (a INT); INSERT INTO Out SELECT a FROM S WHERE a >= 0");
    eddy_subscription *pull = NULL, *cb = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &pull, ERR));
    REQUIRE_OK(eddy_subscribe(e, "Out", &cb, ERR));
    REQUIRE_OK(eddy_subscription_set_callback(cb, on_batch, NULL, NULL, ERR));
    eddy_input *in = NULL, *in2 = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    REQUIRE_OK(eddy_input_open(e, "S", &in2, ERR));
    for (int i = 0; i < n; i++) push(i % 2 ? in : in2, i);
    /* No flush: close itself must drain the inputs. */
    REQUIRE_OK(eddy_engine_close(e, ERR));

    /* Everything else on the engine is refused. */
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_engine_execute(e, "CREATE STREAM T (a INT)", ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_engine_flush(e, 0, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_engine_close(e, ERR));
    eddy_input *in3 = NULL;
    eddy_subscription *late = NULL;
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_input_open(e, "S", &in3, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_subscribe(e, "Out", &late, ERR));
    CHECK(in3 == NULL && late == NULL);
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_input_begin_row(in, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_input_close(in2, ERR));

    /* Stats work on a closed engine. */
    char *json = NULL;
    REQUIRE_OK(eddy_engine_stats_json(e, &json, ERR));
    CHECK_CONTAINS(json, "\"closed\":true");
    eddy_string_free(json);
    CHECK_INT(et_stream_stat(e, "S", "events_in"), n);
    CHECK_INT(et_stream_stat(e, "Out", "events_in"), n);

    /* Pull: the remaining rows, then the end, again and again. */
    long rows = 0, sum = 0;
    for (;;) {
        struct ArrowArray arr;
        struct ArrowSchema sch;
        eddy_status st = eddy_subscription_next(pull, 0, &arr, &sch, ERR);
        if (st != EDDY_OK) {
            CHECK_INT(st, EDDY_ERR_END_OF_STREAM);
            CHECK_CONTAINS(eddy_error_message(et_err), "Out");
            eddy_error_free(et_err);
            break;
        }
        for (int64_t r = 0; r < arr.length; r++) sum += au_i32(arr.children[0], arr.offset, r);
        rows += (long)arr.length;
        arr.release(&arr);
        sch.release(&sch);
    }
    CHECK_INT(rows, n);
    CHECK_INT(sum, (long)n * (n - 1) / 2);
    struct ArrowArray arr;
    struct ArrowSchema sch;
    memset(&arr, 0, sizeof arr);
    memset(&sch, 0, sizeof sch);
    EXPECT_ERR(EDDY_ERR_END_OF_STREAM, NULL, eddy_subscription_next(pull, 0, &arr, &sch, ERR));
    EXPECT_ERR(EDDY_ERR_END_OF_STREAM, NULL, eddy_subscription_next(pull, -1, &arr, &sch, ERR));
    CHECK(arr.release == NULL && sch.release == NULL);

    /* Callbacks: poll delivers the rest, then EDDY_ERR_CLOSED. */
    size_t delivered = 0;
    int polls = 0;
    eddy_status st;
    while ((st = eddy_engine_poll(e, 1000, &delivered, ERR)) == EDDY_OK && polls < 1000) polls++;
    CHECK_INT(st, EDDY_ERR_CLOSED);
    eddy_error_free(et_err);
    CHECK_INT(cb_rows, n);
    CHECK_INT(cb_sum, (long)n * (n - 1) / 2);
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_engine_poll(e, 0, &delivered, ERR));

    eddy_input_free(in);
    eddy_input_free(in2);
    eddy_subscription_free(pull);
    eddy_subscription_free(cb);
    eddy_engine_free(e);

    /* An input closed before the engine: its rows are processed, later
     * pushes refused, the engine goes on with other inputs. */
    e = et_open(NULL);
    ET_EXEC(e, "CREATE STREAM S (a INT)");
    REQUIRE_OK(eddy_subscribe(e, "S", &pull, ERR));
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    push(in, 1);
    push(in, 2);
    REQUIRE_OK(eddy_input_close(in, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_input_begin_row(in, ERR));
    REQUIRE_OK(eddy_input_open(e, "S", &in2, ERR));
    push(in2, 3);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    CHECK_INT(et_stream_stat(e, "S", "events_in"), 3);
    eddy_input_free(in);
    eddy_input_free(in2);
    eddy_subscription_free(pull);
    eddy_engine_free(e);
    return et_finish("test_close");
}
