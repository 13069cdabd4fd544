/*
 * Bad input through the C ABI: setters of the wrong type, Arrow batches with
 * wrong column types or counts, invalid UTF-8 (set_str and Arrow utf8
 * arrays), NaN and infinities, strings up to max_string_bytes and past it,
 * empty batches, a 10,000-column stream, too deep and too long SQL. After
 * each error the engine must still take a valid row and deliver it; nothing
 * of a rejected call is ingested. (tests/bad_input.rs has the same matrix in
 * more depth through the Rust API.)
 */
#include "eddy_test.h"

#include <math.h>

#include "arrow_util.h"

#define SQL "CREATE STREAM S (a INT, d DOUBLE, s STRING); INSERT INTO Out SELECT a, d, s FROM S"

static eddy_engine *e;
static eddy_input *in;
static eddy_subscription *sub;
static long expected_in; /* rows S should have taken so far */

/* Pushes one valid row and checks it comes out of Out with its values. */
static void check_usable(int line) {
    REQUIRE_OK(eddy_input_begin_row(in, ERR));
    REQUIRE_OK(eddy_input_set_i32(in, 0, 42, ERR));
    REQUIRE_OK(eddy_input_set_f64(in, 1, 4.5, ERR));
    REQUIRE_OK(eddy_input_set_str(in, 2, "ok", 2, ERR));
    REQUIRE_OK(eddy_input_end_row(in, ERR));
    expected_in++;
    REQUIRE_OK(eddy_engine_flush(e, -1, ERR));
    struct ArrowArray a;
    struct ArrowSchema s;
    int32_t last = 0;
    long got = 0;
    while (ET_NEXT_NOW(sub, &a, &s)) {
        if (a.length > 0) last = au_i32(a.children[0], a.offset, a.length - 1);
        got += (long)a.length;
        a.release(&a);
        s.release(&s);
    }
    if (last != 42 || got < 1) et_fail(__FILE__, line, "engine not usable after the error (last=%d)", last);
    CHECK_INT(et_stream_stat(e, "S", "events_in"), expected_in);
}
#define CHECK_USABLE() check_usable(__LINE__)

static void test_wrong_types(void) {
    REQUIRE_OK(eddy_input_begin_row(in, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, "column 1 'd' is DOUBLE; set_i64 cannot set it (use set_f64)",
               eddy_input_set_i64(in, 1, 5, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, "column 0 'a' is INT; set_f32 cannot set it (use set_i32)",
               eddy_input_set_f32(in, 0, 1.0f, ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, "column 2 's' is STRING; set_bool cannot set it (use set_str)",
               eddy_input_set_bool(in, 2, true, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "column index 3 is out of range: stream has 3 columns",
               eddy_input_set_null(in, 3, ERR));
    EXPECT_OK(eddy_input_abort_row(in, ERR));
    CHECK_USABLE();
}

/* A batch with columns (name, format) and one row of zeroes/"x". */
static void push_batch_expect(const char *const *names, const char *const *formats, int n, int64_t rows,
                              eddy_status want, const char *needle) {
    struct ArrowArray cols[8];
    struct ArrowSchema fields[8];
    REQUIRE(n <= 8);
    for (int c = 0; c < n; c++) {
        if (strcmp(formats[c], "u") == 0) {
            const char *v[4] = {"x", "y", "z", "w"};
            cols[c] = au_utf8(v, rows, NULL);
        } else {
            int64_t zeros[4] = {0, 0, 0, 0};
            size_t width = strcmp(formats[c], "i") == 0 ? 4 : 8;
            cols[c] = au_fixed(zeros, width, NULL, rows, NULL);
        }
        fields[c] = au_field(formats[c], names[c]);
    }
    int released = 0;
    struct ArrowArray batch = au_struct(rows, cols, n, &released);
    struct ArrowSchema schema = au_struct_schema(fields, n);
    if (want == EDDY_OK)
        EXPECT_OK(eddy_input_push_arrow(in, &batch, &schema, ERR));
    else
        EXPECT_ERR(want, needle, eddy_input_push_arrow(in, &batch, &schema, ERR));
    CHECK_INT(released, 1);
    schema.release(&schema);
}

static void test_arrow_shapes(void) {
    const char *names3[] = {"a", "d", "s"};
    const char *wrong_type[] = {"l", "g", "u"}; /* a is BIGINT, not INT */
    push_batch_expect(names3, wrong_type, 3, 2, EDDY_ERR_SCHEMA, "batch column 'a' is BIGINT, stream column is INT");
    const char *fmt2[] = {"i", "g"};
    push_batch_expect(names3, fmt2, 2, 2, EDDY_ERR_SCHEMA, "batch has no column 's'");
    const char *names4[] = {"a", "d", "s", "extra"};
    const char *fmt4[] = {"i", "g", "u", "i"};
    push_batch_expect(names4, fmt4, 4, 2, EDDY_ERR_SCHEMA, "batch has columns the stream does not: extra");
    push_batch_expect(names3, fmt4, 0, 3, EDDY_ERR_SCHEMA, "batch has no column 'a'"); /* zero columns */
    /* Empty batches are fine and count nothing. */
    const char *fmt3[] = {"i", "g", "u"};
    push_batch_expect(names3, fmt3, 3, 0, EDDY_OK, NULL);
    REQUIRE_OK(eddy_engine_flush(e, -1, ERR));
    CHECK_INT(et_stream_stat(e, "S", "rejected"), 2 + 2 + 2 + 3);
    CHECK_USABLE();
}

static void test_invalid_utf8(void) {
    REQUIRE_OK(eddy_input_begin_row(in, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "column 2: value is not valid UTF-8",
               eddy_input_set_str(in, 2, "\xff\xfe", 2, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "not valid UTF-8", eddy_input_set_str(in, 2, "ab\xc3", 3, ERR));
    EXPECT_OK(eddy_input_abort_row(in, ERR));

    /* An Arrow utf8 array with a bad byte: the whole batch is refused. */
    const char *good[2] = {"fine", "bad!"};
    struct ArrowArray scol = au_utf8(good, 2, NULL);
    ((char *)((au_private *)scol.private_data)->owned[2])[5] = (char)0xff; /* the "a" of "bad!" */
    int32_t av[2] = {1, 2};
    double dv[2] = {1.0, 2.0};
    struct ArrowArray cols[3] = {au_fixed(av, 4, NULL, 2, NULL), au_fixed(dv, 8, NULL, 2, NULL), scol};
    int released = 0;
    struct ArrowArray batch = au_struct(2, cols, 3, &released);
    struct ArrowSchema f[3] = {au_field("i", "a"), au_field("g", "d"), au_field("u", "s")};
    struct ArrowSchema schema = au_struct_schema(f, 3);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "invalid Arrow batch", eddy_input_push_arrow(in, &batch, &schema, ERR));
    CHECK_INT(released, 1);
    schema.release(&schema);
    CHECK_USABLE();
}

static void test_nan_and_infinities(void) {
    eddy_engine *f = et_open(NULL);
    ET_EXEC(f, "CREATE STREAM F (x DOUBLE); INSERT INTO Big SELECT x FROM F WHERE x > 1.0;"
               "INSERT INTO Sum SELECT SUM(x) AS s, MAX(x) AS m FROM F WINDOW('lengthBatch', 3)");
    eddy_subscription *big = NULL, *sum = NULL;
    REQUIRE_OK(eddy_subscribe(f, "Big", &big, ERR));
    REQUIRE_OK(eddy_subscribe(f, "Sum", &sum, ERR));
    eddy_input *fi = NULL;
    REQUIRE_OK(eddy_input_open(f, "F", &fi, ERR));
    double xs[6] = {NAN, 0.5, INFINITY, -INFINITY, 1.0, INFINITY};
    for (int i = 0; i < 6; i++) {
        REQUIRE_OK(eddy_input_begin_row(fi, ERR));
        REQUIRE_OK(eddy_input_set_f64(fi, 0, xs[i], ERR));
        REQUIRE_OK(eddy_input_end_row(fi, ERR));
    }
    REQUIRE_OK(eddy_engine_flush(f, -1, ERR));
    struct ArrowArray a;
    struct ArrowSchema s;
    /* x > 1.0: NaN (above every number), +inf, +inf. */
    int n = 0, nans = 0, infs = 0;
    while (ET_NEXT_NOW(big, &a, &s)) {
        for (int64_t r = 0; r < a.length; r++) {
            double v = au_f64(a.children[0], a.offset, r);
            nans += isnan(v) != 0;
            infs += isinf(v) && v > 0;
            n++;
        }
        a.release(&a);
        s.release(&s);
    }
    CHECK_INT(n, 3);
    CHECK_INT(nans, 1);
    CHECK_INT(infs, 2);
    /* Batches {NaN, 0.5, inf}: SUM NaN, MAX NaN; {-inf, 1, inf}: SUM NaN, MAX inf. */
    n = 0;
    while (ET_NEXT_NOW(sum, &a, &s)) {
        for (int64_t r = 0; r < a.length; r++, n++) {
            double sv = au_f64(a.children[0], a.offset, r), mv = au_f64(a.children[1], a.offset, r);
            CHECK(isnan(sv));
            CHECK(n == 0 ? isnan(mv) : (isinf(mv) && mv > 0));
        }
        a.release(&a);
        s.release(&s);
    }
    CHECK_INT(n, 2);
    eddy_input_free(fi);
    eddy_subscription_free(big);
    eddy_subscription_free(sum);
    eddy_engine_free(f);
}

static void test_huge_strings(void) {
    const size_t max = 16u << 20; /* the default max_string_bytes */
    char *big = (char *)malloc(max + 1);
    REQUIRE(big != NULL);
    memset(big, 'x', max + 1);
    REQUIRE_OK(eddy_input_begin_row(in, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "string of 16777217 bytes is longer than max_string_bytes (16777216)",
               eddy_input_set_str(in, 2, big, max + 1, ERR));
    EXPECT_OK(eddy_input_set_str(in, 2, big, max, ERR));
    EXPECT_OK(eddy_input_set_i32(in, 0, 16, ERR));
    EXPECT_OK(eddy_input_end_row(in, ERR));
    expected_in++;
    REQUIRE_OK(eddy_engine_flush(e, -1, ERR));
    struct ArrowArray a;
    struct ArrowSchema s;
    size_t len = 0;
    while (ET_NEXT_NOW(sub, &a, &s)) {
        for (int64_t r = 0; r < a.length; r++) au_str(a.children[2], a.offset, r, &len);
        a.release(&a);
        s.release(&s);
    }
    CHECK_UINT(len, max);
    free(big);
    CHECK_USABLE();
}

static void test_wide_stream(void) {
    /* CREATE STREAM W (c0 BIGINT, ..., c9999 BIGINT) and push to it. */
    const int n = 10000;
    size_t cap = (size_t)n * 20 + 64;
    char *sql = (char *)malloc(cap);
    REQUIRE(sql != NULL);
    size_t pos = (size_t)snprintf(sql, cap, "CREATE STREAM W (");
    for (int c = 0; c < n; c++) pos += (size_t)snprintf(sql + pos, cap - pos, "%sc%d BIGINT", c ? ", " : "", c);
    snprintf(sql + pos, cap - pos, "); INSERT INTO WOut SELECT c0, c9999 FROM W");
    EXPECT_OK(eddy_engine_execute(e, sql, ERR));
    free(sql);
    eddy_subscription *wout = NULL;
    eddy_input *w = NULL;
    REQUIRE_OK(eddy_subscribe(e, "WOut", &wout, ERR));
    REQUIRE_OK(eddy_input_open(e, "W", &w, ERR));
    CHECK_UINT(eddy_input_num_columns(w), 10000);
    for (int r = 0; r < 3; r++) {
        REQUIRE_OK(eddy_input_begin_row(w, ERR));
        for (uint32_t c = 0; c < (uint32_t)n; c += 1111) REQUIRE_OK(eddy_input_set_i64(w, c, r, ERR));
        REQUIRE_OK(eddy_input_set_i64(w, 9999, 1000 + r, ERR));
        REQUIRE_OK(eddy_input_end_row(w, ERR));
    }
    REQUIRE_OK(eddy_engine_flush(e, -1, ERR));
    struct ArrowArray a;
    struct ArrowSchema s;
    int64_t total = 0, rows = 0;
    while (ET_NEXT_NOW(wout, &a, &s)) {
        for (int64_t r = 0; r < a.length; r++, rows++) total += au_i64(a.children[1], a.offset, r);
        a.release(&a);
        s.release(&s);
    }
    CHECK_INT(rows, 3);
    CHECK_INT(total, 3003);
    eddy_input_free(w);
    eddy_subscription_free(wout);
    CHECK_USABLE();
}

static void test_bad_sql(void) {
    /* 200 levels of a + 1 + 1 ...: the depth limit, with its position. */
    size_t cap = 64 + 200 * 4;
    char *sql = (char *)malloc(cap);
    REQUIRE(sql != NULL);
    size_t pos = (size_t)snprintf(sql, cap, "INSERT INTO X SELECT a");
    for (int i = 0; i < 200; i++) pos += (size_t)snprintf(sql + pos, cap - pos, " + 1");
    snprintf(sql + pos, cap - pos, " FROM S");
    EXPECT_ERR(EDDY_ERR_SQL, "line 1:22: expression is nested too deeply (more than 128 levels)",
               eddy_engine_execute(e, sql, ERR));
    free(sql);
    /* Longer than 1 MiB. */
    size_t n = (1u << 20) + 1;
    char *longsql = (char *)malloc(n + 1);
    REQUIRE(longsql != NULL);
    memset(longsql, ' ', n);
    longsql[n] = 0;
    EXPECT_ERR(EDDY_ERR_SQL, "line 1:1: SQL text is 1048577 bytes; one call takes at most 1048576",
               eddy_engine_execute(e, longsql, ERR));
    free(longsql);
    /* Not UTF-8. */
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "sql is not valid UTF-8", eddy_engine_execute(e, "SELECT \xff", ERR));
    CHECK_USABLE();
}

int main(void) {
    e = et_open(NULL);
    ET_EXEC(e, SQL);
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    test_wrong_types();
    test_arrow_shapes();
    test_invalid_utf8();
    test_nan_and_infinities();
    test_huge_strings();
    test_wide_stream();
    test_bad_sql();
    eddy_input_free(in);
    eddy_subscription_free(sub);
    eddy_engine_free(e);
    return et_finish("test_bad_input");
}
