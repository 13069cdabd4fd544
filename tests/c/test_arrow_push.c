/*
 * eddy_input_push_arrow with batches built by hand in C: accepted (columns
 * in any order, NULLs, strings) and rejected (wrong type, missing or extra
 * column, not a struct, invalid data). A pushed batch is always moved: its
 * release is NULL afterwards and our release callback ran exactly once. A
 * rejected batch ingests no row.
 */
#include "eddy_test.h"

#include "arrow_util.h"

#define N 5

typedef struct {
    struct ArrowArray batch;
    struct ArrowSchema schema;
    int released;
} made_t;

/* Stream S is (a INT, b DOUBLE, s STRING, t TIMESTAMP, ok BOOL). The batch
 * has them in another order: s, ok, t, b, a. */
static void make_good(made_t *m) {
    static const int32_t a[N] = {1, -2, 3, 2147483647, 5};
    static const bool a_valid[N] = {true, true, false, true, true};
    static const double b[N] = {0.5, 1.5, 2.5, 3.5, -4.5};
    static const char *const s[N] = {"x", NULL, "", "\xc3\xbc-long-string-over-twelve-bytes", "z"};
    static const int64_t t[N] = {0, 1000, -1, 1700000000000LL, 42};
    static const bool t_valid[N] = {true, false, true, true, true};
    static const bool ok[N] = {true, false, true, false, true};
    m->released = 0;
    struct ArrowArray cols[5];
    cols[0] = au_utf8(s, N, NULL);
    cols[1] = au_bool(ok, NULL, N, NULL);
    cols[2] = au_fixed(t, sizeof t[0], t_valid, N, NULL);
    cols[3] = au_fixed(b, sizeof b[0], NULL, N, NULL);
    cols[4] = au_fixed(a, sizeof a[0], a_valid, N, NULL);
    m->batch = au_struct(N, cols, 5, &m->released);
    struct ArrowSchema f[5] = {au_field("u", "s"), au_field("b", "ok"), au_field("tsm:", "t"),
                               au_field("g", "b"), au_field("i", "A") /* case-insensitive */};
    m->schema = au_struct_schema(f, 5);
}

/* A one-column-changed variant: column `a` has format `a_format`, or is
 * missing (a_format NULL), or an extra column is added (extra true). */
static void make_variant(made_t *m, const char *a_format, bool extra) {
    static const int64_t wide[N] = {1, 2, 3, 4, 5};
    static const double b[N] = {1, 2, 3, 4, 5};
    static const char *const s[N] = {"a", "b", "c", "d", "e"};
    static const int64_t t[N] = {1, 2, 3, 4, 5};
    static const bool ok[N] = {true, true, true, true, true};
    m->released = 0;
    struct ArrowArray cols[6];
    struct ArrowSchema f[6];
    int n = 0;
    cols[n] = au_utf8(s, N, NULL);
    f[n++] = au_field("u", "s");
    cols[n] = au_bool(ok, NULL, N, NULL);
    f[n++] = au_field("b", "ok");
    cols[n] = au_fixed(t, sizeof t[0], NULL, N, NULL);
    f[n++] = au_field("tsm:", "t");
    cols[n] = au_fixed(b, sizeof b[0], NULL, N, NULL);
    f[n++] = au_field("g", "b");
    if (a_format != NULL) {
        /* Every format used here is 8 bytes wide ("l", "g", "tsm:"), or
         * "i" (4 bytes, narrowed). */
        if (strcmp(a_format, "i") == 0) {
            int32_t narrow[N] = {1, 2, 3, 4, 5};
            cols[n] = au_fixed(narrow, sizeof narrow[0], NULL, N, NULL);
        } else {
            cols[n] = au_fixed(wide, sizeof wide[0], NULL, N, NULL);
        }
        f[n++] = au_field(a_format, "a");
    }
    if (extra) {
        cols[n] = au_fixed(wide, sizeof wide[0], NULL, N, NULL);
        f[n++] = au_field("l", "extra");
    }
    m->batch = au_struct(N, cols, n, &m->released);
    m->schema = au_struct_schema(f, n);
}

static int drain_rows(eddy_subscription *sub, struct ArrowArray *keep, struct ArrowSchema *keep_schema) {
    int rows = 0;
    struct ArrowArray arr;
    struct ArrowSchema sch;
    while (ET_NEXT_NOW(sub, &arr, &sch)) {
        rows += (int)arr.length;
        if (keep != NULL && keep->release == NULL) {
            *keep = arr;
            *keep_schema = sch;
        } else {
            arr.release(&arr);
            sch.release(&sch);
        }
    }
    return rows;
}

static void check_good_result(const struct ArrowArray *a, const struct ArrowSchema *s) {
    /* Columns come back in the stream's order and names. */
    static const char *const names[5] = {"a", "b", "s", "t", "ok"};
    static const char *const formats[5] = {"i", "g", "u", "tsm:", "b"};
    REQUIRE(s->n_children == 5 && a->n_children == 5);
    for (int c = 0; c < 5; c++) {
        CHECK_STR(s->children[c]->name, names[c]);
        CHECK_STR(s->children[c]->format, formats[c]);
    }
    CHECK_INT(a->length, N);
    const struct ArrowArray *ca = a->children[0], *cb = a->children[1], *cs = a->children[2],
                            *ct = a->children[3], *cok = a->children[4];
    int64_t po = a->offset;
    /* a */
    CHECK_INT(au_i32(ca, po, 0), 1);
    CHECK_INT(au_i32(ca, po, 1), -2);
    CHECK(au_is_null(ca, po, 2));
    CHECK_INT(au_i32(ca, po, 3), 2147483647);
    CHECK_INT(au_i32(ca, po, 4), 5);
    CHECK_INT(ca->null_count, 1);
    /* b */
    CHECK(au_f64(cb, po, 0) == 0.5 && au_f64(cb, po, 1) == 1.5 && au_f64(cb, po, 4) == -4.5);
    CHECK(!au_is_null(cb, po, 2));
    /* s */
    size_t len;
    const char *p = au_str(cs, po, 0, &len);
    CHECK(len == 1 && memcmp(p, "x", 1) == 0);
    CHECK(au_is_null(cs, po, 1));
    CHECK(!au_is_null(cs, po, 2));
    au_str(cs, po, 2, &len);
    CHECK_UINT(len, 0);
    p = au_str(cs, po, 3, &len);
    {
        const char *want = "\xc3\xbc-long-string-over-twelve-bytes";
        CHECK(len == strlen(want) && memcmp(p, want, len) == 0);
    }
    /* t */
    CHECK_INT(au_i64(ct, po, 0), 0);
    CHECK(au_is_null(ct, po, 1));
    CHECK_INT(au_i64(ct, po, 2), -1);
    CHECK_INT(au_i64(ct, po, 3), 1700000000000LL);
    /* ok */
    CHECK(au_boolv(cok, po, 0) && !au_boolv(cok, po, 1) && au_boolv(cok, po, 2) && !au_boolv(cok, po, 3));
}

int main(void) {
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, "CREATE STREAM S (a INT, b DOUBLE, s STRING, t TIMESTAMP, ok BOOL);"
               "INSERT INTO Out SELECT a, b, s, t, ok FROM S WHERE b > 1.0");
    eddy_subscription *raw = NULL, *out = NULL;
    REQUIRE_OK(eddy_subscribe(e, "S", &raw, ERR));
    REQUIRE_OK(eddy_subscribe(e, "Out", &out, ERR));
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));

    /* Accepted. */
    made_t m, good2, closed;
    make_good(&m);
    EXPECT_OK(eddy_input_push_arrow(in, &m.batch, &m.schema, ERR));
    CHECK(m.batch.release == NULL);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    /* The schema was only borrowed: still ours to release. */
    CHECK(m.schema.release != NULL);
    m.schema.release(&m.schema);
    /* eddy may keep the buffers until the rows are gone; all released by the
     * time the subscriptions are read and the engine closed (checked below). */

    struct ArrowArray got;
    struct ArrowSchema got_schema;
    memset(&got, 0, sizeof got);
    memset(&got_schema, 0, sizeof got_schema);
    CHECK_INT(drain_rows(raw, &got, &got_schema), N);
    if (got.release != NULL) {
        check_good_result(&got, &got_schema);
        got.release(&got);
        got_schema.release(&got_schema);
    }
    /* WHERE b > 1.0 keeps rows 1, 2, 3 (b = 1.5, 2.5, 3.5). */
    CHECK_INT(drain_rows(out, NULL, NULL), 3);

    /* Rejected batches: an error, the batch moved and released once, no row
     * ingested. */
    struct {
        const char *a_format;
        bool extra;
        eddy_status status;
        const char *needle;
    } cases[] = {
        {"l", false, EDDY_ERR_SCHEMA, "'a'"},    /* BIGINT for INT */
        {"g", false, EDDY_ERR_SCHEMA, "'a'"},    /* DOUBLE for INT */
        {"tsm:", false, EDDY_ERR_SCHEMA, "'a'"}, /* TIMESTAMP for INT */
        {NULL, false, EDDY_ERR_SCHEMA, "'a'"},   /* missing column */
        {"i", true, EDDY_ERR_SCHEMA, "extra"},   /* extra column */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        made_t v;
        make_variant(&v, cases[i].a_format, cases[i].extra);
        EXPECT_ERR(cases[i].status, cases[i].needle, eddy_input_push_arrow(in, &v.batch, &v.schema, ERR));
        CHECK(v.batch.release == NULL);
        CHECK_INT(v.released, 1);
        v.schema.release(&v.schema);
    }
    long long rejected_rows = 5LL * N;

    /* Not a struct array: a bare int32 column. */
    {
        int released = 0;
        int32_t v[3] = {1, 2, 3};
        struct ArrowArray col = au_fixed(v, sizeof v[0], NULL, 3, &released);
        struct ArrowSchema f = au_field("i", "a");
        EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "struct", eddy_input_push_arrow(in, &col, &f, ERR));
        CHECK(col.release == NULL);
        CHECK_INT(released, 1);
        f.release(&f);
    }
    /* Invalid data: a string that is not UTF-8 (the check reads only inside
     * the buffers). */
    {
        made_t bad;
        make_variant(&bad, "i", false);
        struct ArrowArray *scol = bad.batch.children[0];
        ((unsigned char *)(uintptr_t)scol->buffers[2])[1] = 0xff;
        EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, NULL, eddy_input_push_arrow(in, &bad.batch, &bad.schema, ERR));
        CHECK(bad.batch.release == NULL);
        CHECK_INT(bad.released, 1);
        bad.schema.release(&bad.schema);
    }
    /* A null row in the top-level struct. */
    {
        made_t bad;
        make_variant(&bad, "i", false);
        au_private *p = (au_private *)bad.batch.private_data;
        uint8_t *bits = (uint8_t *)au_xcalloc(1, 1);
        bits[0] = 0x1e; /* row 0 null */
        p->owned[0] = bits;
        p->buffers[0] = bits;
        bad.batch.null_count = 1;
        EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "null", eddy_input_push_arrow(in, &bad.batch, &bad.schema, ERR));
        CHECK(bad.batch.release == NULL);
        CHECK_INT(bad.released, 1);
        bad.schema.release(&bad.schema);
    }
    /* Schema and array disagree (the schema has fewer children): refused
     * before the import, the batch released, the input still usable. */
    {
        eddy_input *in2 = NULL;
        REQUIRE_OK(eddy_input_open(e, "S", &in2, ERR));
        made_t bad;
        make_variant(&bad, "i", false);
        struct ArrowSchema f[1] = {au_field("i", "a")};
        struct ArrowSchema small = au_struct_schema(f, 1);
        EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "children", eddy_input_push_arrow(in2, &bad.batch, &small, ERR));
        CHECK(bad.batch.release == NULL);
        CHECK_INT(bad.released, 1);
        small.release(&small);
        bad.schema.release(&bad.schema);
        /* Still usable (a panic would have poisoned the handle). */
        uint32_t idx = 99;
        REQUIRE_OK(eddy_input_column_index(in2, "a", &idx, ERR));
        CHECK_INT(idx, 0);
        eddy_input_free(in2);
    }
    /* A batch while an appender row is open is refused (and released). */
    {
        made_t v;
        make_good(&v);
        REQUIRE_OK(eddy_input_begin_row(in, ERR));
        EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "row is open", eddy_input_push_arrow(in, &v.batch, &v.schema, ERR));
        CHECK(v.batch.release == NULL);
        CHECK_INT(v.released, 1);
        v.schema.release(&v.schema);
        /* Finish that row with a NULL 'a': it is ingested (b NULL: not in Out). */
        REQUIRE_OK(eddy_input_end_row(in, ERR));
    }
    /* An empty batch is accepted and adds nothing. */
    {
        made_t empty;
        empty.released = 0;
        struct ArrowArray cols[5];
        cols[0] = au_fixed(NULL, 4, NULL, 0, NULL);
        cols[1] = au_fixed(NULL, 8, NULL, 0, NULL);
        cols[2] = au_utf8(NULL, 0, NULL);
        cols[3] = au_fixed(NULL, 8, NULL, 0, NULL);
        cols[4] = au_bool(NULL, NULL, 0, NULL);
        empty.batch = au_struct(0, cols, 5, &empty.released);
        struct ArrowSchema f[5] = {au_field("i", "a"), au_field("g", "b"), au_field("u", "s"),
                                   au_field("tsm:", "t"), au_field("b", "ok")};
        empty.schema = au_struct_schema(f, 5);
        EXPECT_OK(eddy_input_push_arrow(in, &empty.batch, &empty.schema, ERR));
        CHECK(empty.batch.release == NULL);
        empty.schema.release(&empty.schema);
    }

    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    CHECK_INT(drain_rows(raw, NULL, NULL), 1); /* the appender row */
    CHECK_INT(drain_rows(out, NULL, NULL), 0);
    CHECK_INT(et_stream_stat(e, "S", "events_in"), N + 1);
    CHECK(et_stream_stat(e, "S", "rejected") >= rejected_rows);

    /* The input is still usable after rejections. */
    make_good(&good2);
    EXPECT_OK(eddy_input_push_arrow(in, &good2.batch, &good2.schema, ERR));
    good2.schema.release(&good2.schema);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    CHECK_INT(drain_rows(raw, NULL, NULL), N);
    CHECK_INT(drain_rows(out, NULL, NULL), 3);

    /* After close, the batch is refused and still released. */
    REQUIRE_OK(eddy_input_close(in, ERR));
    make_good(&closed);
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_input_push_arrow(in, &closed.batch, &closed.schema, ERR));
    CHECK(closed.batch.release == NULL);
    CHECK_INT(closed.released, 1);
    closed.schema.release(&closed.schema);

    eddy_input_free(in);
    eddy_subscription_free(raw);
    eddy_subscription_free(out);
    REQUIRE_OK(eddy_engine_close(e, ERR));
    eddy_engine_free(e);
    /* Every accepted batch was released exactly once by now. */
    CHECK_INT(m.released, 1);
    CHECK_INT(good2.released, 1);
    return et_finish("test_arrow_push");
}
