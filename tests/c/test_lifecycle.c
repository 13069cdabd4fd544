/*
 * Handle lifecycle: NULL arguments to every function taking pointers, every
 * _free(NULL), freeing handles in any order, err == NULL, *err untouched on
 * success, and engine options errors.
 */
#include "eddy_test.h"

#include "arrow_util.h"

static const char *const SCHEMA_SQL =
    "CREATE STREAM S (a INT, s STRING); INSERT INTO Out SELECT a, s FROM S WHERE a > 0";

static void noop_cb(void *user, const eddy_batch *b) {
    (void)user;
    (void)b;
}

static void test_free_null(void) {
    /* Every _free accepts NULL. */
    eddy_error_free(NULL);
    eddy_string_free(NULL);
    eddy_engine_free(NULL);
    eddy_input_free(NULL);
    eddy_subscription_free(NULL);
    CHECK(1);
}

static void test_null_engine_functions(void) {
    eddy_engine *e = NULL;
    char *json = NULL;
    size_t delivered = 77;

    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out", eddy_engine_open(NULL, NULL, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out", eddy_engine_open("queue_capacity=8", NULL, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "engine", eddy_engine_execute(NULL, "CREATE STREAM X (a INT)", ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "engine", eddy_engine_flush(NULL, 0, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "engine", eddy_engine_poll(NULL, 0, &delivered, ERR));
    CHECK_UINT(delivered, 77); /* outputs untouched on failure */
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "engine", eddy_engine_advance_time(NULL, 1, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "engine", eddy_engine_stats_json(NULL, &json, ERR));
    CHECK(json == NULL);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "engine", eddy_engine_close(NULL, ERR));
    eddy_input *in = NULL;
    eddy_subscription *sub = NULL;
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "engine", eddy_input_open(NULL, "S", &in, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "engine", eddy_subscribe(NULL, "S", &sub, ERR));
    CHECK(in == NULL);
    CHECK(sub == NULL);

    /* err itself may be NULL: the status still comes back. */
    CHECK_INT(eddy_engine_execute(NULL, "x", NULL), EDDY_ERR_INVALID_ARGUMENT);
    CHECK_INT(eddy_engine_open("bogus=1", &e, NULL), EDDY_ERR_INVALID_ARGUMENT);
    CHECK(e == NULL);

    /* With a live engine: NULL for the other pointers. */
    e = et_open(NULL);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "sql", eddy_engine_execute(e, NULL, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out_json", eddy_engine_stats_json(e, NULL, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "stream", eddy_input_open(e, NULL, &in, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "stream", eddy_subscribe(e, NULL, &sub, ERR));
    ET_EXEC(e, SCHEMA_SQL);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out", eddy_input_open(e, "S", NULL, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out", eddy_subscribe(e, "Out", NULL, ERR));
    /* poll's delivered may be NULL. */
    EXPECT_OK(eddy_engine_poll(e, 0, NULL, ERR));
    /* err == NULL on success paths too. */
    CHECK_INT(eddy_engine_flush(e, 1000, NULL), EDDY_OK);
    /* Success leaves *err untouched. */
    eddy_error *err = ET_SENTINEL;
    CHECK_INT(eddy_engine_flush(e, 1000, &err), EDDY_OK);
    CHECK(err == ET_SENTINEL);
    CHECK_INT(eddy_engine_stats_json(e, &json, &err), EDDY_OK);
    CHECK(err == ET_SENTINEL);
    CHECK(json != NULL && json[0] == '{');
    eddy_string_free(json);
    eddy_engine_free(e);
}

static void test_null_input_functions(void) {
    uint32_t idx = 99;
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "input", eddy_input_column_index(NULL, "a", &idx, ERR));
    CHECK_UINT(idx, 99);
    CHECK_UINT(eddy_input_num_columns(NULL), 0);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "input", eddy_input_begin_row(NULL, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "input", eddy_input_set_null(NULL, 0, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "input", eddy_input_set_bool(NULL, 0, true, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "input", eddy_input_set_i32(NULL, 0, 1, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "input", eddy_input_set_i64(NULL, 0, 1, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "input", eddy_input_set_f32(NULL, 0, 1.0f, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "input", eddy_input_set_f64(NULL, 0, 1.0, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "input", eddy_input_set_str(NULL, 0, "x", 1, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "input", eddy_input_end_row(NULL, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "input", eddy_input_close(NULL, ERR));

    /* push_arrow with a NULL input still takes (and releases) the batch. */
    int released = 0;
    int32_t v[1] = {1};
    struct ArrowArray col = au_fixed(v, sizeof v[0], NULL, 1, NULL);
    struct ArrowArray batch = au_struct(1, &col, 1, &released);
    struct ArrowSchema f = au_field("i", "a");
    struct ArrowSchema schema = au_struct_schema(&f, 1);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "input", eddy_input_push_arrow(NULL, &batch, &schema, ERR));
    CHECK(batch.release == NULL);
    CHECK_INT(released, 1);

    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, SCHEMA_SQL);
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    CHECK_UINT(eddy_input_num_columns(in), 2);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "name", eddy_input_column_index(in, NULL, &idx, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out", eddy_input_column_index(in, "a", NULL, ERR));
    EXPECT_OK(eddy_input_column_index(in, "S", &idx, ERR)); /* case-insensitive */
    CHECK_UINT(idx, 1);
    EXPECT_ERR(EDDY_ERR_NOT_FOUND, "zzz", eddy_input_column_index(in, "zzz", &idx, ERR));

    /* set_str: ptr may be NULL only with len 0. */
    REQUIRE_OK(eddy_input_begin_row(in, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "ptr", eddy_input_set_str(in, 1, NULL, 3, ERR));
    EXPECT_OK(eddy_input_set_str(in, 1, NULL, 0, ERR));
    EXPECT_OK(eddy_input_set_i32(in, 0, 5, ERR));
    EXPECT_OK(eddy_input_end_row(in, ERR));

    /* push_arrow: NULL batch; NULL schema (the batch is still released). */
    struct ArrowSchema f2 = au_field("i", "a");
    struct ArrowSchema schema2 = au_struct_schema(&f2, 1);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "batch", eddy_input_push_arrow(in, NULL, &schema2, ERR));
    released = 0;
    col = au_fixed(v, sizeof v[0], NULL, 1, NULL);
    batch = au_struct(1, &col, 1, &released);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "schema", eddy_input_push_arrow(in, &batch, NULL, ERR));
    CHECK(batch.release == NULL);
    CHECK_INT(released, 1);
    schema.release(&schema);
    schema2.release(&schema2);

    eddy_input_free(in);
    eddy_engine_free(e);
}

static void test_null_subscription_functions(void) {
    struct ArrowArray arr;
    struct ArrowSchema sch;
    memset(&arr, 0, sizeof arr);
    memset(&sch, 0, sizeof sch);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "subscription", eddy_subscription_next(NULL, 0, &arr, &sch, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "subscription",
               eddy_subscription_set_callback(NULL, noop_cb, NULL, NULL, ERR));
    CHECK_UINT(eddy_subscription_num_columns(NULL), 0);

    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, SCHEMA_SQL);
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    CHECK_UINT(eddy_subscription_num_columns(sub), 2);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out_batch", eddy_subscription_next(sub, 0, NULL, &sch, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out_schema", eddy_subscription_next(sub, 0, &arr, NULL, ERR));
    CHECK(arr.release == NULL);
    CHECK(sch.release == NULL);
    EXPECT_ERR(EDDY_ERR_TIMEOUT, NULL, eddy_subscription_next(sub, 0, &arr, &sch, ERR));
    CHECK(arr.release == NULL);
    eddy_subscription_free(sub);
    eddy_engine_free(e);
}

static void test_null_batch_functions(void) {
    bool bv = false;
    int32_t i32 = 0;
    int64_t i64 = 0;
    float f32 = 0;
    double f64 = 0;
    const char *p = NULL;
    size_t len = 0;
    struct ArrowArray arr;
    struct ArrowSchema sch;
    memset(&arr, 0, sizeof arr);
    memset(&sch, 0, sizeof sch);
    CHECK_UINT(eddy_batch_num_rows(NULL), 0);
    CHECK_UINT(eddy_batch_num_columns(NULL), 0);
    CHECK(eddy_batch_column_name(NULL, 0) == NULL);
    CHECK_INT(eddy_batch_column_type(NULL, 0), EDDY_TYPE_INVALID);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "batch", eddy_batch_is_null(NULL, 0, 0, &bv, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "batch", eddy_batch_get_bool(NULL, 0, 0, &bv, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "batch", eddy_batch_get_i32(NULL, 0, 0, &i32, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "batch", eddy_batch_get_i64(NULL, 0, 0, &i64, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "batch", eddy_batch_get_f32(NULL, 0, 0, &f32, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "batch", eddy_batch_get_f64(NULL, 0, 0, &f64, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "batch", eddy_batch_get_str(NULL, 0, 0, &p, &len, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "batch", eddy_batch_export_arrow(NULL, &arr, &sch, ERR));
    CHECK(arr.release == NULL && sch.release == NULL);
    /* NULL out-pointers with a real batch are checked in test_rows. */
}

/* ---- freeing in any order -------------------------------------------------- */

static int freed_count;
static void count_free(void *user) {
    (void)user;
    freed_count++;
}

/* Engine freed first: input and subscription still safe to use, then free. */
static void test_engine_freed_first(void) {
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, SCHEMA_SQL);
    eddy_input *in = NULL;
    eddy_subscription *sub = NULL, *cbsub = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    REQUIRE_OK(eddy_subscribe(e, "Out", &cbsub, ERR));
    freed_count = 0;
    REQUIRE_OK(eddy_subscription_set_callback(cbsub, noop_cb, NULL, count_free, ERR));
    for (int i = 1; i <= 3; i++) {
        REQUIRE_OK(eddy_input_begin_row(in, ERR));
        REQUIRE_OK(eddy_input_set_i32(in, 0, i, ERR));
        REQUIRE_OK(eddy_input_end_row(in, ERR));
    }
    /* Free (closing) the engine with rows not flushed: close drains them. */
    eddy_engine_free(e);

    CHECK_UINT(eddy_input_num_columns(in), 2);
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_input_begin_row(in, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_input_close(in, ERR));

    /* The rows pushed before the free are still readable, then the end. */
    int rows = 0;
    for (int tries = 0; tries < 100; tries++) {
        struct ArrowArray arr;
        struct ArrowSchema sch;
        eddy_status st = eddy_subscription_next(sub, 1000, &arr, &sch, ERR);
        if (st == EDDY_OK) {
            rows += (int)arr.length;
            arr.release(&arr);
            sch.release(&sch);
            continue;
        }
        CHECK_INT(st, EDDY_ERR_END_OF_STREAM);
        eddy_error_free(et_err);
        break;
    }
    CHECK_INT(rows, 3);
    EXPECT_ERR(EDDY_ERR_END_OF_STREAM, NULL, eddy_subscription_next(sub, 0, &(struct ArrowArray){0},
                                                                    &(struct ArrowSchema){0}, ERR));
    CHECK_UINT(eddy_subscription_num_columns(sub), 2);
    CHECK_INT(freed_count, 0);
    eddy_subscription_free(cbsub);
    CHECK_INT(freed_count, 1);
    eddy_subscription_free(sub);
    eddy_input_free(in);
}

/* Input and subscription freed first, then the engine; and the mixed order. */
static void test_other_orders(void) {
    for (int order = 0; order < 4; order++) {
        eddy_engine *e = et_open(NULL);
        ET_EXEC(e, SCHEMA_SQL);
        eddy_input *in = NULL;
        eddy_subscription *sub = NULL;
        REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
        REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
        REQUIRE_OK(eddy_input_begin_row(in, ERR));
        REQUIRE_OK(eddy_input_set_i32(in, 0, 1, ERR));
        REQUIRE_OK(eddy_input_end_row(in, ERR));
        switch (order) {
        case 0: /* input, subscription, engine */
            eddy_input_free(in);
            eddy_subscription_free(sub);
            eddy_engine_free(e);
            break;
        case 1: /* subscription, engine, input */
            eddy_subscription_free(sub);
            eddy_engine_free(e);
            EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_input_begin_row(in, ERR));
            eddy_input_free(in);
            break;
        case 2: /* close, input, engine, subscription */
            EXPECT_OK(eddy_engine_close(e, ERR));
            eddy_input_free(in);
            eddy_engine_free(e);
            eddy_subscription_free(sub);
            break;
        default: /* input closed, engine, subscription, input */
            EXPECT_OK(eddy_input_close(in, ERR));
            EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_input_begin_row(in, ERR));
            EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_input_close(in, ERR));
            eddy_engine_free(e);
            eddy_subscription_free(sub);
            eddy_input_free(in);
            break;
        }
        CHECK(1);
    }
    /* Engines with nothing in them; many engines at once. */
    eddy_engine *many[8];
    for (int i = 0; i < 8; i++) many[i] = et_open("queue_capacity=16");
    for (int i = 7; i >= 0; i--) eddy_engine_free(many[i]);
    /* Close, then free, of an engine never used. */
    eddy_engine *e = et_open(NULL);
    EXPECT_OK(eddy_engine_close(e, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_engine_close(e, ERR));
    eddy_engine_free(e);
}

/* ---- options ------------------------------------------------------------- */

static void test_options(void) {
    eddy_engine *e = NULL;
    /* Unknown key: named in the message, nothing written to *out. */
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "queue_capacty", eddy_engine_open("queue_capacty=5", &e, ERR));
    CHECK(e == NULL);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "unknown option", eddy_engine_open("frobnicate=yes", &e, ERR));
    CHECK(e == NULL);
    /* Bad values name the key and the value. */
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "sometimes", eddy_engine_open("overflow=sometimes", &e, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "queue_capacity", eddy_engine_open("queue_capacity=-1", &e, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "queue_capacity", eddy_engine_open("queue_capacity=lots", &e, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "push_timeout_ms", eddy_engine_open("push_timeout_ms=soon", &e, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "clock", eddy_engine_open("clock=sundial", &e, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "subscriber_overflow",
               eddy_engine_open("subscriber_overflow=maybe", &e, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "key=value", eddy_engine_open("clock", &e, ERR));
    /* A bad item anywhere fails the whole string. */
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "nope", eddy_engine_open("queue_capacity=8;nope=1", &e, ERR));
    CHECK(e == NULL);

    /* Every key, with spaces and empty items, is accepted. */
    const char *all =
        " queue_capacity = 1024 ; queue_bytes=65536;overflow=drop_oldest;push_timeout_ms=10;;"
        "subscriber_capacity=100;subscriber_overflow=block;batch_rows=64;idle_spin_us=0;clock=manual;";
    REQUIRE_OK(eddy_engine_open(all, &e, ERR));
    REQUIRE(e != NULL);
    /* clock=manual allows advance_time; the system clock does not. */
    EXPECT_OK(eddy_engine_advance_time(e, 1000, ERR));
    EXPECT_OK(eddy_engine_advance_time(e, 1000, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "backwards", eddy_engine_advance_time(e, 999, ERR));
    eddy_engine_free(e);
    e = NULL;
    REQUIRE_OK(eddy_engine_open("", &e, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "clock=manual", eddy_engine_advance_time(e, 1000, ERR));
    eddy_engine_free(e);
    e = NULL;
    REQUIRE_OK(eddy_engine_open("overflow=drop_newest", &e, ERR));
    eddy_engine_free(e);

    /* A row with more string bytes than half of queue_bytes still goes in
     * (as a one-row batch, in order); max_string_bytes bounds one value. */
    e = et_open("queue_bytes=1024;max_string_bytes=900");
    ET_EXEC(e, SCHEMA_SQL);
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    char big[901];
    memset(big, 'x', sizeof big);
    REQUIRE_OK(eddy_input_begin_row(in, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "max_string_bytes (900)", eddy_input_set_str(in, 1, big, 901, ERR));
    REQUIRE_OK(eddy_input_set_str(in, 1, big, 900, ERR));
    EXPECT_OK(eddy_input_end_row(in, ERR));
    REQUIRE_OK(eddy_input_begin_row(in, ERR));
    REQUIRE_OK(eddy_input_set_str(in, 1, big, 100, ERR));
    EXPECT_OK(eddy_input_end_row(in, ERR));
    EXPECT_OK(eddy_engine_flush(e, 10000, ERR));
    CHECK_INT(et_stream_stat(e, "S", "events_in"), 2);
    eddy_input_free(in);
    eddy_engine_free(e);
}

int main(void) {
    test_free_null();
    test_null_engine_functions();
    test_null_input_functions();
    test_null_subscription_functions();
    test_null_batch_functions();
    test_engine_freed_first();
    test_other_orders();
    test_options();
    return et_finish("test_lifecycle");
}
