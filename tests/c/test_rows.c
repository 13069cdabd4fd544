/*
 * Row appends of every type, NULLs and strings, read back with exact values
 * (1) through a callback with the eddy_batch getters and (2) through
 * eddy_subscription_next, walking the exported Arrow C structs by hand.
 */
#include "eddy_test.h"

#include <float.h>
#include <math.h>

#include "arrow_util.h"

#define NCOLS 7
enum { C_B, C_I, C_L, C_F, C_D, C_S, C_T };
static const char *const COL_NAMES[NCOLS] = {"b", "i", "l", "f", "d", "s", "t"};
static const eddy_type COL_TYPES[NCOLS] = {EDDY_TYPE_BOOL,   EDDY_TYPE_INT,    EDDY_TYPE_BIGINT,
                                           EDDY_TYPE_FLOAT,  EDDY_TYPE_DOUBLE, EDDY_TYPE_STRING,
                                           EDDY_TYPE_TIMESTAMP};
static const char *const COL_FORMATS[NCOLS] = {"b", "i", "l", "f", "g", "u", "tsm:"};

/* The rows pushed; a column is NULL when its bit in `nulls` is set. */
typedef struct {
    bool b;
    int32_t i;
    int64_t l;
    float f;
    double d;
    const char *s;
    size_t slen;
    int64_t t;
    unsigned nulls;
} row_t;

#define ALL_NULL ((1u << NCOLS) - 1)
static const char UTF8[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93";
static const char WITH_NUL[] = {'a', '\0', 'b'};

static row_t ROWS[] = {
    {true, INT32_MIN, INT64_MAX, 1.5f, -2.25, "hello", 5, 1700000000123LL, 0},
    {false, 0, 0, 0, 0, NULL, 0, 0, ALL_NULL},
    {false, INT32_MAX, INT64_MIN, -0.0f, 1e300, "", 0, 0, 0},
    {true, -1, -1, FLT_MAX, -DBL_MIN, UTF8, sizeof UTF8 - 1, -86400000LL, 0},
    {false, 42, 1LL << 40, 3.25f, 0.1, WITH_NUL, sizeof WITH_NUL, 1, (1u << C_B) | (1u << C_D)},
    {true, 7, 8, 9.0f, 10.0, "only-string", 11, 12, ALL_NULL & ~(1u << C_S)},
};
#define NROWS ((int)(sizeof ROWS / sizeof ROWS[0]))

static bool is_null(const row_t *r, int col) { return (r->nulls >> col) & 1; }

/* The stream sees ROWS[0] (the row left open by appender_errors, finished
 * with ROWS[0]'s values), then ROWS[0..NROWS-1]. */
#define NEXPECTED (NROWS + 1)
static const row_t *expected_row(int logical) { return &ROWS[logical == 0 ? 0 : logical - 1]; }

static void push_rows(eddy_input *in) {
    for (int r = 0; r < NROWS; r++) {
        const row_t *x = &ROWS[r];
        REQUIRE_OK(eddy_input_begin_row(in, ERR));
        /* Row 1 leaves NULL columns unset; the others set them explicitly. */
        for (int c = 0; c < NCOLS; c++) {
            if (is_null(x, c)) {
                if (r != 1) REQUIRE_OK(eddy_input_set_null(in, (uint32_t)c, ERR));
                continue;
            }
            switch (c) {
            case C_B: REQUIRE_OK(eddy_input_set_bool(in, C_B, x->b, ERR)); break;
            case C_I: REQUIRE_OK(eddy_input_set_i32(in, C_I, x->i, ERR)); break;
            case C_L: REQUIRE_OK(eddy_input_set_i64(in, C_L, x->l, ERR)); break;
            case C_F: REQUIRE_OK(eddy_input_set_f32(in, C_F, x->f, ERR)); break;
            case C_D: REQUIRE_OK(eddy_input_set_f64(in, C_D, x->d, ERR)); break;
            case C_S: REQUIRE_OK(eddy_input_set_str(in, C_S, x->s, x->slen, ERR)); break;
            case C_T: REQUIRE_OK(eddy_input_set_i64(in, C_T, x->t, ERR)); break;
            }
        }
        REQUIRE_OK(eddy_input_end_row(in, ERR));
    }
}

/* Appender misuse: each error leaves the input usable. */
static void appender_errors(eddy_input *in) {
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "begin_row", eddy_input_set_i32(in, C_I, 1, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "begin_row", eddy_input_end_row(in, ERR));
    REQUIRE_OK(eddy_input_begin_row(in, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "already open", eddy_input_begin_row(in, ERR));
    /* Wrong setter for the column type: EDDY_ERR_SCHEMA naming the right one. */
    EXPECT_ERR(EDDY_ERR_SCHEMA, "set_i64", eddy_input_set_i32(in, C_L, 1, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, "set_i32", eddy_input_set_i64(in, C_I, 1, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, "set_f64", eddy_input_set_f32(in, C_D, 1.0f, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, "set_f32", eddy_input_set_f64(in, C_F, 1.0, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, "set_bool", eddy_input_set_i32(in, C_B, 1, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, "set_str", eddy_input_set_i64(in, C_S, 1, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, "set_i64", eddy_input_set_str(in, C_T, "x", 1, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, "set_i32", eddy_input_set_bool(in, C_I, true, ERR));
    /* Out of range column. */
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out of range", eddy_input_set_i32(in, NCOLS, 1, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out of range", eddy_input_set_null(in, 1000, ERR));
    /* Invalid UTF-8. */
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "UTF-8", eddy_input_set_str(in, C_S, "\xff\xfe", 2, ERR));
    /* The open row is still usable: finish it as a real row, then rows go on. */
    CHECK_UINT(eddy_input_num_columns(in), NCOLS);
}

/* ---- reading back through a callback --------------------------------------- */

typedef struct {
    int rows;
    int batches;
    int mismatches;
    bool exported_ok;
} cb_state;

static void check_cell_getters(const eddy_batch *b, size_t row, const row_t *x, cb_state *st) {
    int bad = 0;
    for (uint32_t c = 0; c < NCOLS; c++) {
        bool null = true;
        if (!EXPECT_OK(eddy_batch_is_null(b, row, c, &null, ERR))) bad++;
        if (null != is_null(x, (int)c)) {
            bad++;
            fprintf(stderr, "row %d col %u: is_null %d, expected %d\n", st->rows, c, null, is_null(x, (int)c));
        }
        if (null) {
            /* Reading a NULL with the right getter is an error too. */
            int64_t dummy;
            bool bdummy;
            if (c == C_L || c == C_T)
                EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "NULL", eddy_batch_get_i64(b, row, c, &dummy, ERR));
            else if (c == C_B)
                EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "NULL", eddy_batch_get_bool(b, row, c, &bdummy, ERR));
            continue;
        }
        switch (c) {
        case C_B: {
            bool v = !x->b;
            EXPECT_OK(eddy_batch_get_bool(b, row, c, &v, ERR));
            if (v != x->b) bad++;
            break;
        }
        case C_I: {
            int32_t v = 0;
            EXPECT_OK(eddy_batch_get_i32(b, row, c, &v, ERR));
            if (v != x->i) bad++;
            break;
        }
        case C_L: {
            int64_t v = 0;
            EXPECT_OK(eddy_batch_get_i64(b, row, c, &v, ERR));
            if (v != x->l) bad++;
            break;
        }
        case C_F: {
            float v = 0;
            EXPECT_OK(eddy_batch_get_f32(b, row, c, &v, ERR));
            if (memcmp(&v, &x->f, sizeof v) != 0) bad++; /* bit-exact, -0.0 included */
            break;
        }
        case C_D: {
            double v = 0;
            EXPECT_OK(eddy_batch_get_f64(b, row, c, &v, ERR));
            if (memcmp(&v, &x->d, sizeof v) != 0) bad++;
            break;
        }
        case C_S: {
            const char *p = NULL;
            size_t len = 12345;
            EXPECT_OK(eddy_batch_get_str(b, row, c, &p, &len, ERR));
            if (len != x->slen || (len > 0 && memcmp(p, x->s, len) != 0)) bad++;
            break;
        }
        case C_T: {
            int64_t v = 0;
            EXPECT_OK(eddy_batch_get_i64(b, row, c, &v, ERR));
            if (v != x->t) bad++;
            break;
        }
        }
    }
    if (bad) fprintf(stderr, "row %d: %d mismatches through the getters\n", st->rows, bad);
    st->mismatches += bad;
}

/* Wrong-type getters: EDDY_ERR_SCHEMA, output untouched. */
static void check_wrong_getters(const eddy_batch *b) {
    int32_t i32 = 99;
    int64_t i64 = 99;
    float f32 = 99;
    double f64 = 99;
    bool bv = true;
    const char *p = "untouched";
    size_t len = 99;
    /* Row 0 has no NULLs. */
    EXPECT_ERR(EDDY_ERR_SCHEMA, "eddy_batch_get_i32", eddy_batch_get_i32(b, 0, C_L, &i32, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, "eddy_batch_get_i64", eddy_batch_get_i64(b, 0, C_I, &i64, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, NULL, eddy_batch_get_f32(b, 0, C_D, &f32, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, NULL, eddy_batch_get_f64(b, 0, C_F, &f64, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, NULL, eddy_batch_get_bool(b, 0, C_I, &bv, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, NULL, eddy_batch_get_str(b, 0, C_T, &p, &len, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, NULL, eddy_batch_get_i32(b, 0, C_S, &i32, ERR));
    CHECK_INT(i32, 99);
    CHECK_INT(i64, 99);
    CHECK(f32 == 99 && f64 == 99 && bv == true && len == 99);
    CHECK_STR(p, "untouched");
    /* Out of range row / column. */
    size_t nrows = eddy_batch_num_rows(b);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out of range", eddy_batch_get_i32(b, nrows, C_I, &i32, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out of range", eddy_batch_is_null(b, 0, NCOLS, &bv, ERR));
    CHECK(eddy_batch_column_name(b, NCOLS) == NULL);
    CHECK_INT(eddy_batch_column_type(b, NCOLS), EDDY_TYPE_INVALID);
    /* NULL out-pointers. */
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out", eddy_batch_get_i32(b, 0, C_I, NULL, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out", eddy_batch_is_null(b, 0, C_I, NULL, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "ptr", eddy_batch_get_str(b, 0, C_S, NULL, &len, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "len", eddy_batch_get_str(b, 0, C_S, &p, NULL, ERR));
    struct ArrowArray arr;
    struct ArrowSchema sch;
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out_batch", eddy_batch_export_arrow(b, NULL, &sch, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out_schema", eddy_batch_export_arrow(b, &arr, NULL, ERR));
}

static int check_arrow_rows(const struct ArrowArray *a, const struct ArrowSchema *s, int first_row);

static void on_batch(void *user, const eddy_batch *b) {
    cb_state *st = (cb_state *)user;
    CHECK_UINT(eddy_batch_num_columns(b), NCOLS);
    for (uint32_t c = 0; c < NCOLS; c++) {
        CHECK_STR(eddy_batch_column_name(b, c), COL_NAMES[c]);
        CHECK_INT(eddy_batch_column_type(b, c), COL_TYPES[c]);
    }
    size_t n = eddy_batch_num_rows(b);
    CHECK(n > 0);
    if (st->rows == 0) check_wrong_getters(b);
    /* Export the view: the copy outlives the callback and holds the same rows. */
    struct ArrowArray arr;
    struct ArrowSchema sch;
    if (EXPECT_OK(eddy_batch_export_arrow(b, &arr, &sch, ERR))) {
        CHECK_INT(arr.length, (int64_t)n);
        int bad = check_arrow_rows(&arr, &sch, st->rows);
        st->exported_ok = st->exported_ok && bad == 0;
        arr.release(&arr);
        sch.release(&sch);
        CHECK(arr.release == NULL && sch.release == NULL);
    }
    for (size_t r = 0; r < n && st->rows < NEXPECTED; r++) {
        check_cell_getters(b, r, expected_row(st->rows), st);
        st->rows++;
    }
    st->batches++;
}

/* ---- reading back through Arrow -------------------------------------------- */

/* Checks the rows of an exported struct array against the expected rows from
 * logical index first_row on; returns the number of mismatches. */
static int check_arrow_rows(const struct ArrowArray *a, const struct ArrowSchema *s, int first_row) {
    int bad = 0;
    CHECK_STR(s->format, "+s");
    CHECK_INT(s->n_children, NCOLS);
    CHECK_INT(a->n_children, NCOLS);
    if (s->n_children != NCOLS || a->n_children != NCOLS) return 1;
    CHECK(a->length + first_row <= NEXPECTED);
    CHECK(a->null_count == 0);
    for (int c = 0; c < NCOLS; c++) {
        CHECK_STR(s->children[c]->name, COL_NAMES[c]);
        CHECK_STR(s->children[c]->format, COL_FORMATS[c]);
        CHECK_INT(au_child_index(s, COL_NAMES[c]), c);
        CHECK_INT(a->children[c]->length, a->length);
        CHECK_INT(a->children[c]->n_buffers, c == C_S ? 3 : 2);
    }
    for (int64_t r = 0; r < a->length && first_row + r < NEXPECTED; r++) {
        const row_t *x = expected_row(first_row + (int)r);
        for (int c = 0; c < NCOLS; c++) {
            const struct ArrowArray *col = a->children[c];
            bool null = au_is_null(col, a->offset, r);
            if (null != is_null(x, c)) {
                fprintf(stderr, "arrow row %d col %d: null %d, expected %d\n", first_row + (int)r, c, null,
                        is_null(x, c));
                bad++;
                continue;
            }
            if (null) continue;
            switch (c) {
            case C_B: bad += au_boolv(col, a->offset, r) != x->b; break;
            case C_I: bad += au_i32(col, a->offset, r) != x->i; break;
            case C_L: bad += au_i64(col, a->offset, r) != x->l; break;
            case C_F: {
                float v = au_f32(col, a->offset, r);
                bad += memcmp(&v, &x->f, sizeof v) != 0;
                break;
            }
            case C_D: {
                double v = au_f64(col, a->offset, r);
                bad += memcmp(&v, &x->d, sizeof v) != 0;
                break;
            }
            case C_S: {
                size_t len;
                const char *p = au_str(col, a->offset, r, &len);
                bad += len != x->slen || (len > 0 && memcmp(p, x->s, len) != 0);
                break;
            }
            case C_T: bad += au_i64(col, a->offset, r) != x->t; break;
            }
        }
    }
    if (bad) fprintf(stderr, "arrow batch at row %d: %d mismatches\n", first_row, bad);
    return bad;
}

int main(void) {
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, "CREATE STREAM T (b BOOL, i INT, l BIGINT, f FLOAT, d DOUBLE, s STRING, t TIMESTAMP);"
               "INSERT INTO O SELECT b, i, l, f, d, s, t FROM T");

    eddy_subscription *cb_sub = NULL, *pull_sub = NULL, *raw_sub = NULL;
    REQUIRE_OK(eddy_subscribe(e, "T", &cb_sub, ERR));
    REQUIRE_OK(eddy_subscribe(e, "O", &pull_sub, ERR));
    REQUIRE_OK(eddy_subscribe(e, "T", &raw_sub, ERR));
    CHECK_UINT(eddy_subscription_num_columns(pull_sub), NCOLS);
    cb_state st = {0, 0, 0, true};
    REQUIRE_OK(eddy_subscription_set_callback(cb_sub, on_batch, &st, NULL, ERR));

    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "T", &in, ERR));
    CHECK_UINT(eddy_input_num_columns(in), NCOLS);
    for (uint32_t c = 0; c < NCOLS; c++) {
        uint32_t idx = 99;
        EXPECT_OK(eddy_input_column_index(in, COL_NAMES[c], &idx, ERR));
        CHECK_UINT(idx, c);
    }

    appender_errors(in);
    /* appender_errors left a row open: finish it with ROWS[0]'s values. */
    {
        const row_t *x = &ROWS[0];
        REQUIRE_OK(eddy_input_set_bool(in, C_B, x->b, ERR));
        REQUIRE_OK(eddy_input_set_i32(in, C_I, x->i, ERR));
        REQUIRE_OK(eddy_input_set_i64(in, C_L, x->l, ERR));
        REQUIRE_OK(eddy_input_set_f32(in, C_F, x->f, ERR));
        REQUIRE_OK(eddy_input_set_f64(in, C_D, x->d, ERR));
        /* Setting a column twice: the last value wins. */
        REQUIRE_OK(eddy_input_set_str(in, C_S, "overwritten", 11, ERR));
        REQUIRE_OK(eddy_input_set_str(in, C_S, x->s, x->slen, ERR));
        REQUIRE_OK(eddy_input_set_i64(in, C_T, x->t, ERR));
        REQUIRE_OK(eddy_input_end_row(in, ERR));
    }
    /* ...then every row. */
    push_rows(in);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));

    /* Callbacks run only inside poll. */
    CHECK_INT(st.batches, 0);
    int64_t deadline = et_now_ms() + 10000;
    while (st.rows < NEXPECTED && et_now_ms() < deadline) {
        size_t delivered = 0;
        REQUIRE_OK(eddy_engine_poll(e, 100, &delivered, ERR));
    }
    CHECK_INT(st.rows, NEXPECTED);
    CHECK_INT(st.mismatches, 0);
    CHECK(st.exported_ok);
    size_t delivered = 99;
    EXPECT_OK(eddy_engine_poll(e, 0, &delivered, ERR));
    CHECK_UINT(delivered, 0);

    /* Pull from O and from T: every batch walked by hand. */
    eddy_subscription *subs[2] = {pull_sub, raw_sub};
    for (int k = 0; k < 2; k++) {
        int rows = 0, bad = 0, batches = 0;
        for (;;) {
            struct ArrowArray arr;
            struct ArrowSchema sch;
            eddy_status s = eddy_subscription_next(subs[k], 0, &arr, &sch, ERR);
            if (s != EDDY_OK) {
                CHECK_INT(s, EDDY_ERR_TIMEOUT);
                eddy_error_free(et_err);
                break;
            }
            CHECK(arr.release != NULL && sch.release != NULL);
            bad += check_arrow_rows(&arr, &sch, rows);
            rows += (int)arr.length;
            batches++;
            arr.release(&arr);
            sch.release(&sch);
            CHECK(arr.release == NULL && sch.release == NULL);
        }
        CHECK_INT(rows, NEXPECTED);
        CHECK_INT(bad, 0);
        CHECK(batches >= 1);
    }

    /* Stats count what went through. */
    CHECK_INT(et_stream_stat(e, "T", "events_in"), NEXPECTED);
    CHECK_INT(et_stream_stat(e, "O", "events_in"), NEXPECTED);
    CHECK_INT(et_stream_stat(e, "T", "dropped"), 0);
    CHECK_INT(et_stream_stat(e, "T", "rejected"), 0);

    eddy_input_free(in);
    eddy_subscription_free(cb_sub);
    eddy_subscription_free(pull_sub);
    eddy_subscription_free(raw_sub);
    REQUIRE_OK(eddy_engine_close(e, ERR));
    eddy_engine_free(e);
    return et_finish("test_rows");
}
