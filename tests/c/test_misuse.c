/*
 * API misuse: every case gets a defined status, never a crash.
 *
 * Part 1 is driven by include/eddy.h itself: the test parses the header,
 * lists every exported function and each of its pointer parameters, and
 * calls the function with NULL in that parameter (the others valid). A
 * function or parameter the table below does not handle is a failure, so a
 * new function added to the header without a NULL case cannot go unnoticed.
 *
 * Part 2: use after close, handles of the wrong kind, freeing in every order,
 * poll from inside a callback, close and free from inside a callback, close
 * from another thread while producers push, statements the SQL does not
 * have (DROP STREAM), calls out of order on an input.
 */
#include "eddy_test.h"

#include <ctype.h>
#include <pthread.h>

#include "arrow_util.h"

#ifndef EDDY_HEADER_PATH
#error "EDDY_HEADER_PATH (path of include/eddy.h) must be defined by the build"
#endif

#define SQL "CREATE STREAM S (a INT, s STRING); INSERT INTO Out SELECT a, s FROM S WHERE a > 0"

static void push_row(eddy_input *in, int32_t a, const char *s) {
    REQUIRE_OK(eddy_input_begin_row(in, ERR));
    REQUIRE_OK(eddy_input_set_i32(in, 0, a, ERR));
    REQUIRE_OK(eddy_input_set_str(in, 1, s, strlen(s), ERR));
    REQUIRE_OK(eddy_input_end_row(in, ERR));
}

/* A one-row batch for S (columns a INT, s STRING) and its schema. */
static void make_batch(struct ArrowArray *batch, struct ArrowSchema *schema, int *released) {
    int32_t v[1] = {7};
    const char *strs[1] = {"x"};
    struct ArrowArray cols[2] = {au_fixed(v, sizeof v[0], NULL, 1, NULL), au_utf8(strs, 1, NULL)};
    *batch = au_struct(1, cols, 2, released);
    struct ArrowSchema f[2] = {au_field("i", "a"), au_field("u", "s")};
    *schema = au_struct_schema(f, 2);
}

/* ======================================================================== */
/* Part 1: NULL in every pointer parameter of every function in eddy.h      */

typedef struct {
    char name[64];
    char params[8][32]; /* pointer parameters, in order */
    int n_params;
} decl_t;

static decl_t decls[128];
static int n_decls;

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = (char *)malloc((size_t)n + 1);
    REQUIRE(buf != NULL);
    REQUIRE(fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Blanks out comments and preprocessor lines so only declarations remain. */
static void strip(char *s) {
    for (char *p = s; *p; p++) {
        if (p[0] == '/' && p[1] == '*') {
            char *e = strstr(p + 2, "*/");
            char *end = e ? e + 2 : p + strlen(p);
            memset(p, ' ', (size_t)(end - p));
            p = end - 1;
        } else if (p[0] == '/' && p[1] == '/') {
            while (*p && *p != '\n') *p++ = ' ';
            if (!*p) break;
        } else if (*p == '#' && (p == s || p[-1] == '\n')) {
            while (*p && *p != '\n') *p++ = ' ';
            if (!*p) break;
        }
    }
}

/* Finds every `eddy_xxx(params)` declaration and its pointer parameters
 * (a '*' in the parameter, or one of the function-pointer typedefs). */
static void parse_header(void) {
    char *text = read_file(EDDY_HEADER_PATH);
    strip(text);
    for (char *p = text; (p = strstr(p, "eddy_")) != NULL;) {
        if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) {
            p++;
            continue;
        }
        char *q = p;
        while (isalnum((unsigned char)*q) || *q == '_') q++;
        if (*q != '(') { /* a type name, or (*eddy_batch_callback) */
            p = q;
            continue;
        }
        REQUIRE(n_decls < (int)(sizeof decls / sizeof decls[0]));
        decl_t *d = &decls[n_decls++];
        memset(d, 0, sizeof *d);
        REQUIRE((size_t)(q - p) < sizeof d->name);
        memcpy(d->name, p, (size_t)(q - p));
        char *end = strchr(q, ')');
        REQUIRE(end != NULL);
        /* Parameters: split on ',' (no nested parentheses in eddy.h's). */
        for (char *a = q + 1; a < end;) {
            char *c = memchr(a, ',', (size_t)(end - a));
            char *stop = c ? c : end;
            bool ptr = memchr(a, '*', (size_t)(stop - a)) != NULL;
            char param[128];
            size_t len = (size_t)(stop - a) < sizeof param - 1 ? (size_t)(stop - a) : sizeof param - 1;
            memcpy(param, a, len);
            param[len] = 0;
            if (strstr(param, "eddy_batch_callback") || strstr(param, "eddy_free_fn")) ptr = true;
            /* The name is the last identifier. */
            char *n_end = param + len;
            while (n_end > param && !(isalnum((unsigned char)n_end[-1]) || n_end[-1] == '_')) n_end--;
            char *n_start = n_end;
            while (n_start > param && (isalnum((unsigned char)n_start[-1]) || n_start[-1] == '_')) n_start--;
            *n_end = 0;
            if (ptr) {
                REQUIRE(d->n_params < 8 && strlen(n_start) < 32);
                strcpy(d->params[d->n_params++], n_start);
            }
            a = stop + 1;
        }
        p = end;
    }
    free(text);
}

/* The world the NULL cases run in: an engine with S and Out, an input on S,
 * a subscription on Out, and (for eddy_batch_*) the batch of a callback. */
static eddy_engine *w_engine;
static eddy_input *w_input;
static eddy_subscription *w_sub;
static const eddy_batch *w_batch;

#define IS(p) (strcmp(param, (p)) == 0)
/* One NULL case: the call returns `status` and names the parameter. */
#define NULL_CASE(status, needle, call) EXPECT_ERR((status), (needle), call)

static int freed;
static void count_free(void *u) {
    (void)u;
    freed++;
}
static void noop_cb(void *u, const eddy_batch *b) {
    (void)u;
    (void)b;
}

/* Each returns false for a parameter it has no case for. */
static bool null_engine_open(const char *param) {
    eddy_engine *e = NULL;
    if (IS("options")) { /* NULL options: all defaults */
        EXPECT_OK(eddy_engine_open(NULL, &e, ERR));
        CHECK(e != NULL);
        eddy_engine_free(e);
    } else if (IS("out")) {
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "out is NULL", eddy_engine_open(NULL, NULL, ERR));
    } else if (IS("err")) {
        CHECK_INT(eddy_engine_open("bogus=1", &e, NULL), EDDY_ERR_INVALID_ARGUMENT);
        CHECK(e == NULL);
    } else {
        return false;
    }
    return true;
}

static bool null_engine_execute(const char *param) {
    if (IS("engine"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "engine is NULL", eddy_engine_execute(NULL, "CREATE STREAM X (a INT)", ERR));
    else if (IS("sql"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "sql is NULL", eddy_engine_execute(w_engine, NULL, ERR));
    else if (IS("err"))
        CHECK_INT(eddy_engine_execute(w_engine, "SELEC", NULL), EDDY_ERR_SQL);
    else
        return false;
    return true;
}

static bool null_engine_flush(const char *param) {
    if (IS("engine"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "engine is NULL", eddy_engine_flush(NULL, 0, ERR));
    else if (IS("err"))
        CHECK_INT(eddy_engine_flush(NULL, 0, NULL), EDDY_ERR_INVALID_ARGUMENT);
    else
        return false;
    return true;
}

static bool null_engine_poll(const char *param) {
    size_t n = 77;
    if (IS("engine")) {
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "engine is NULL", eddy_engine_poll(NULL, 0, &n, ERR));
        CHECK_UINT(n, 77);
    } else if (IS("delivered")) {
        EXPECT_OK(eddy_engine_poll(w_engine, 0, NULL, ERR)); /* may be NULL */
    } else if (IS("err")) {
        CHECK_INT(eddy_engine_poll(NULL, 0, &n, NULL), EDDY_ERR_INVALID_ARGUMENT);
    } else {
        return false;
    }
    return true;
}

static bool null_engine_advance_time(const char *param) {
    if (IS("engine"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "engine is NULL", eddy_engine_advance_time(NULL, 1, ERR));
    else if (IS("err")) /* system clock: advance_time is refused */
        CHECK_INT(eddy_engine_advance_time(w_engine, 1, NULL), EDDY_ERR_INVALID_ARGUMENT);
    else
        return false;
    return true;
}

static bool null_engine_stats_json(const char *param) {
    char *json = NULL;
    if (IS("engine")) {
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "engine is NULL", eddy_engine_stats_json(NULL, &json, ERR));
        CHECK(json == NULL);
    } else if (IS("out_json")) {
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "out_json is NULL", eddy_engine_stats_json(w_engine, NULL, ERR));
    } else if (IS("err")) {
        CHECK_INT(eddy_engine_stats_json(w_engine, NULL, NULL), EDDY_ERR_INVALID_ARGUMENT);
    } else {
        return false;
    }
    return true;
}

static bool null_engine_close(const char *param) {
    if (IS("engine"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "engine is NULL", eddy_engine_close(NULL, ERR));
    else if (IS("err"))
        CHECK_INT(eddy_engine_close(NULL, NULL), EDDY_ERR_INVALID_ARGUMENT);
    else
        return false;
    return true;
}

static bool null_engine_free(const char *param) {
    if (!IS("engine")) return false;
    eddy_engine_free(NULL); /* accepted: no-op */
    CHECK(1);
    return true;
}

static bool null_engine_stream_schema(const char *param) {
    struct ArrowSchema s;
    memset(&s, 0, sizeof s);
    if (IS("engine"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "engine is NULL", eddy_engine_stream_schema(NULL, "S", &s, ERR));
    else if (IS("stream"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "stream is NULL", eddy_engine_stream_schema(w_engine, NULL, &s, ERR));
    else if (IS("out_schema"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "out_schema is NULL", eddy_engine_stream_schema(w_engine, "S", NULL, ERR));
    else if (IS("err"))
        CHECK_INT(eddy_engine_stream_schema(w_engine, "nope", &s, NULL), EDDY_ERR_NOT_FOUND);
    else
        return false;
    CHECK(s.release == NULL); /* nothing written on failure */
    return true;
}

static bool null_input_open(const char *param) {
    eddy_input *in = NULL;
    if (IS("engine"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "engine is NULL", eddy_input_open(NULL, "S", &in, ERR));
    else if (IS("stream"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "stream is NULL", eddy_input_open(w_engine, NULL, &in, ERR));
    else if (IS("out"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "out is NULL", eddy_input_open(w_engine, "S", NULL, ERR));
    else if (IS("err"))
        CHECK_INT(eddy_input_open(w_engine, "nope", &in, NULL), EDDY_ERR_NOT_FOUND);
    else
        return false;
    CHECK(in == NULL);
    return true;
}

static bool null_input_num_columns(const char *param) {
    if (!IS("input")) return false;
    CHECK_UINT(eddy_input_num_columns(NULL), 0);
    return true;
}

static bool null_input_column_index(const char *param) {
    uint32_t idx = 99;
    if (IS("input"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "input is NULL", eddy_input_column_index(NULL, "a", &idx, ERR));
    else if (IS("name"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "name is NULL", eddy_input_column_index(w_input, NULL, &idx, ERR));
    else if (IS("out"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "out is NULL", eddy_input_column_index(w_input, "a", NULL, ERR));
    else if (IS("err"))
        CHECK_INT(eddy_input_column_index(w_input, "zzz", &idx, NULL), EDDY_ERR_NOT_FOUND);
    else
        return false;
    CHECK_UINT(idx, 99);
    return true;
}

static bool null_input_column_type(const char *param) {
    if (!IS("input")) return false;
    CHECK_INT(eddy_input_column_type(NULL, 0), EDDY_TYPE_INVALID);
    return true;
}

/* The functions shaped f(input, ..., err). */
typedef eddy_status (*input_call_t)(eddy_input *in, eddy_error **err);
static eddy_status c_begin(eddy_input *in, eddy_error **err) { return eddy_input_begin_row(in, err); }
static eddy_status c_abort(eddy_input *in, eddy_error **err) { return eddy_input_abort_row(in, err); }
static eddy_status c_null(eddy_input *in, eddy_error **err) { return eddy_input_set_null(in, 0, err); }
static eddy_status c_bool(eddy_input *in, eddy_error **err) { return eddy_input_set_bool(in, 0, true, err); }
static eddy_status c_i32(eddy_input *in, eddy_error **err) { return eddy_input_set_i32(in, 0, 1, err); }
static eddy_status c_i64(eddy_input *in, eddy_error **err) { return eddy_input_set_i64(in, 0, 1, err); }
static eddy_status c_f32(eddy_input *in, eddy_error **err) { return eddy_input_set_f32(in, 0, 1.0f, err); }
static eddy_status c_f64(eddy_input *in, eddy_error **err) { return eddy_input_set_f64(in, 0, 1.0, err); }
static eddy_status c_end(eddy_input *in, eddy_error **err) { return eddy_input_end_row(in, err); }
static eddy_status c_wm(eddy_input *in, eddy_error **err) { return eddy_input_watermark(in, 1, err); }
static eddy_status c_close(eddy_input *in, eddy_error **err) { return eddy_input_close(in, err); }

static bool null_input_call(const char *param, input_call_t f) {
    if (IS("input")) {
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "input is NULL", f(NULL, ERR));
    } else if (IS("err")) {
        CHECK_INT(f(NULL, NULL), EDDY_ERR_INVALID_ARGUMENT);
    } else {
        return false;
    }
    return true;
}
static bool null_begin(const char *p) { return null_input_call(p, c_begin); }
static bool null_abort(const char *p) { return null_input_call(p, c_abort); }
static bool null_set_null(const char *p) { return null_input_call(p, c_null); }
static bool null_set_bool(const char *p) { return null_input_call(p, c_bool); }
static bool null_set_i32(const char *p) { return null_input_call(p, c_i32); }
static bool null_set_i64(const char *p) { return null_input_call(p, c_i64); }
static bool null_set_f32(const char *p) { return null_input_call(p, c_f32); }
static bool null_set_f64(const char *p) { return null_input_call(p, c_f64); }
static bool null_end(const char *p) { return null_input_call(p, c_end); }
static bool null_watermark(const char *p) { return null_input_call(p, c_wm); }
static bool null_input_close(const char *p) { return null_input_call(p, c_close); }

static bool null_set_str(const char *param) {
    if (IS("input")) {
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "input is NULL", eddy_input_set_str(NULL, 1, "x", 1, ERR));
    } else if (IS("ptr")) {
        REQUIRE_OK(eddy_input_begin_row(w_input, ERR));
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "ptr is NULL", eddy_input_set_str(w_input, 1, NULL, 3, ERR));
        EXPECT_OK(eddy_input_set_str(w_input, 1, NULL, 0, ERR)); /* NULL with length 0: "" */
        EXPECT_OK(eddy_input_abort_row(w_input, ERR));
    } else if (IS("err")) {
        CHECK_INT(eddy_input_set_str(NULL, 1, "x", 1, NULL), EDDY_ERR_INVALID_ARGUMENT);
    } else {
        return false;
    }
    return true;
}

static bool null_push_arrow(const char *param) {
    struct ArrowArray batch;
    struct ArrowSchema schema;
    int released = 0;
    make_batch(&batch, &schema, &released);
    if (IS("input")) {
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "input is NULL", eddy_input_push_arrow(NULL, &batch, &schema, ERR));
    } else if (IS("batch")) {
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "batch is NULL", eddy_input_push_arrow(w_input, NULL, &schema, ERR));
        batch.release(&batch);
    } else if (IS("schema")) {
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "schema is NULL", eddy_input_push_arrow(w_input, &batch, NULL, ERR));
    } else if (IS("err")) {
        CHECK_INT(eddy_input_push_arrow(NULL, &batch, &schema, NULL), EDDY_ERR_INVALID_ARGUMENT);
    } else {
        schema.release(&schema);
        batch.release(&batch);
        return false;
    }
    /* The batch is released whatever happened; the schema stays ours. */
    CHECK(batch.release == NULL);
    CHECK_INT(released, 1);
    schema.release(&schema);
    return true;
}

static bool null_input_free(const char *param) {
    if (!IS("input")) return false;
    eddy_input_free(NULL);
    CHECK(1);
    return true;
}

static bool null_subscribe(const char *param) {
    eddy_subscription *s = NULL;
    if (IS("engine"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "engine is NULL", eddy_subscribe(NULL, "Out", &s, ERR));
    else if (IS("stream"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "stream is NULL", eddy_subscribe(w_engine, NULL, &s, ERR));
    else if (IS("out"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "out is NULL", eddy_subscribe(w_engine, "Out", NULL, ERR));
    else if (IS("err"))
        CHECK_INT(eddy_subscribe(w_engine, "nope", &s, NULL), EDDY_ERR_NOT_FOUND);
    else
        return false;
    CHECK(s == NULL);
    return true;
}

static bool null_subscription_next(const char *param) {
    struct ArrowArray a;
    struct ArrowSchema s;
    memset(&a, 0, sizeof a);
    memset(&s, 0, sizeof s);
    if (IS("subscription"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "subscription is NULL", eddy_subscription_next(NULL, 0, &a, &s, ERR));
    else if (IS("out_batch"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "out_batch is NULL", eddy_subscription_next(w_sub, 0, NULL, &s, ERR));
    else if (IS("out_schema"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "out_schema is NULL", eddy_subscription_next(w_sub, 0, &a, NULL, ERR));
    else if (IS("err"))
        CHECK_INT(eddy_subscription_next(w_sub, 0, &a, &s, NULL), EDDY_ERR_TIMEOUT);
    else
        return false;
    CHECK(a.release == NULL && s.release == NULL);
    return true;
}

static bool null_set_callback(const char *param) {
    freed = 0;
    if (IS("subscription")) {
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "subscription is NULL",
                  eddy_subscription_set_callback(NULL, noop_cb, &freed, count_free, ERR));
        CHECK_INT(freed, 0); /* on failure the user data stays the caller's */
    } else if (IS("cb")) {
        /* NULL cb: back to pull mode, the user data released at once. */
        EXPECT_OK(eddy_subscription_set_callback(w_sub, NULL, &freed, count_free, ERR));
        CHECK_INT(freed, 1);
    } else if (IS("user_data")) {
        EXPECT_OK(eddy_subscription_set_callback(w_sub, noop_cb, NULL, count_free, ERR));
        EXPECT_OK(eddy_subscription_set_callback(w_sub, NULL, NULL, NULL, ERR));
        CHECK_INT(freed, 1); /* count_free(NULL) ran once, on replacement */
    } else if (IS("free_user_data")) {
        EXPECT_OK(eddy_subscription_set_callback(w_sub, noop_cb, &freed, NULL, ERR));
        EXPECT_OK(eddy_subscription_set_callback(w_sub, NULL, NULL, NULL, ERR));
        CHECK_INT(freed, 0);
    } else if (IS("err")) {
        CHECK_INT(eddy_subscription_set_callback(NULL, noop_cb, NULL, NULL, NULL), EDDY_ERR_INVALID_ARGUMENT);
    } else {
        return false;
    }
    return true;
}

static bool null_subscription_num_columns(const char *param) {
    if (!IS("subscription")) return false;
    CHECK_UINT(eddy_subscription_num_columns(NULL), 0);
    return true;
}

static bool null_subscription_free(const char *param) {
    if (!IS("subscription")) return false;
    eddy_subscription_free(NULL);
    CHECK(1);
    return true;
}

static bool null_error_status(const char *param) {
    if (!IS("err")) return false;
    CHECK_INT(eddy_error_status(NULL), EDDY_ERR_INVALID_ARGUMENT);
    return true;
}
static bool null_error_message(const char *param) {
    if (!IS("err")) return false;
    CHECK_STR(eddy_error_message(NULL), "");
    return true;
}
static bool null_error_free(const char *param) {
    if (!IS("err")) return false;
    eddy_error_free(NULL);
    CHECK(1);
    return true;
}
static bool null_string_free(const char *param) {
    if (!IS("s")) return false;
    eddy_string_free(NULL);
    CHECK(1);
    return true;
}

/* eddy_batch_*: `batch` NULL needs no live batch; the other parameters run
 * inside a callback with w_batch set (see run_batch_cases). */
static bool null_batch_num_rows(const char *param) {
    if (!IS("batch")) return false;
    CHECK_UINT(eddy_batch_num_rows(NULL), 0);
    CHECK_UINT(eddy_batch_num_rows(w_batch), 1);
    return true;
}
static bool null_batch_num_columns(const char *param) {
    if (!IS("batch")) return false;
    CHECK_UINT(eddy_batch_num_columns(NULL), 0);
    CHECK_UINT(eddy_batch_num_columns(w_batch), 2);
    return true;
}
static bool null_batch_column_name(const char *param) {
    if (!IS("batch")) return false;
    CHECK(eddy_batch_column_name(NULL, 0) == NULL);
    CHECK_STR(eddy_batch_column_name(w_batch, 1), "s");
    return true;
}
static bool null_batch_column_type(const char *param) {
    if (!IS("batch")) return false;
    CHECK_INT(eddy_batch_column_type(NULL, 0), EDDY_TYPE_INVALID);
    CHECK_INT(eddy_batch_column_type(w_batch, 0), EDDY_TYPE_INT);
    return true;
}

#define BATCH_GETTER(fname, T, col)                                                                      \
    static bool null_##fname(const char *param) {                                                       \
        T v;                                                                                            \
        memset(&v, 0, sizeof v);                                                                        \
        if (IS("batch"))                                                                                \
            NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "batch is NULL", eddy_##fname(NULL, 0, col, &v, ERR)); \
        else if (IS("out"))                                                                             \
            NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "out is NULL", eddy_##fname(w_batch, 0, col, NULL, ERR)); \
        else if (IS("err"))                                                                             \
            CHECK_INT(eddy_##fname(NULL, 0, col, &v, NULL), EDDY_ERR_INVALID_ARGUMENT);                 \
        else                                                                                            \
            return false;                                                                               \
        return true;                                                                                    \
    }
/* Column 0 is INT: is_null and get_i32 can read it, so a NULL `out` is the
 * error they report. */
BATCH_GETTER(batch_is_null, bool, 0)
BATCH_GETTER(batch_get_i32, int32_t, 0)

/* Getters whose type S does not have: NULL `out` still comes back as an
 * error (the type mismatch, EDDY_ERR_SCHEMA, is found first), never a write. */
#define BATCH_GETTER_OTHER(fname, T)                                                                    \
    static bool null_##fname(const char *param) {                                                       \
        T v;                                                                                            \
        memset(&v, 0, sizeof v);                                                                        \
        if (IS("batch"))                                                                                \
            NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "batch is NULL", eddy_##fname(NULL, 0, 0, &v, ERR));   \
        else if (IS("out"))                                                                             \
            NULL_CASE(EDDY_ERR_SCHEMA, "cannot read it", eddy_##fname(w_batch, 0, 0, NULL, ERR));       \
        else if (IS("err"))                                                                             \
            CHECK_INT(eddy_##fname(w_batch, 0, 0, &v, NULL), EDDY_ERR_SCHEMA);                          \
        else                                                                                            \
            return false;                                                                               \
        return true;                                                                                    \
    }
BATCH_GETTER_OTHER(batch_get_bool, bool)
BATCH_GETTER_OTHER(batch_get_i64, int64_t)
BATCH_GETTER_OTHER(batch_get_f32, float)
BATCH_GETTER_OTHER(batch_get_f64, double)

static bool null_batch_get_str(const char *param) {
    const char *p = NULL;
    size_t len = 0;
    if (IS("batch"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "batch is NULL", eddy_batch_get_str(NULL, 0, 1, &p, &len, ERR));
    else if (IS("ptr"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "ptr is NULL", eddy_batch_get_str(w_batch, 0, 1, NULL, &len, ERR));
    else if (IS("len"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "len is NULL", eddy_batch_get_str(w_batch, 0, 1, &p, NULL, ERR));
    else if (IS("err"))
        CHECK_INT(eddy_batch_get_str(w_batch, 0, 0, &p, &len, NULL), EDDY_ERR_SCHEMA);
    else
        return false;
    CHECK(p == NULL && len == 0);
    return true;
}

static bool null_batch_export_arrow(const char *param) {
    struct ArrowArray a;
    struct ArrowSchema s;
    memset(&a, 0, sizeof a);
    memset(&s, 0, sizeof s);
    if (IS("batch"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "batch is NULL", eddy_batch_export_arrow(NULL, &a, &s, ERR));
    else if (IS("out_batch"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "out_batch is NULL", eddy_batch_export_arrow(w_batch, NULL, &s, ERR));
    else if (IS("out_schema"))
        NULL_CASE(EDDY_ERR_INVALID_ARGUMENT, "out_schema is NULL", eddy_batch_export_arrow(w_batch, &a, NULL, ERR));
    else if (IS("err"))
        CHECK_INT(eddy_batch_export_arrow(NULL, &a, &s, NULL), EDDY_ERR_INVALID_ARGUMENT);
    else
        return false;
    CHECK(a.release == NULL && s.release == NULL);
    return true;
}

/* Functions without pointer parameters still need a row (so the table is
 * complete); their handler is never called with a parameter. */
static bool no_pointer_params(const char *param) {
    (void)param;
    return false;
}

typedef struct {
    const char *name;
    bool (*run)(const char *param);
} case_t;

static const case_t CASES[] = {
    {"eddy_version_number", no_pointer_params},
    {"eddy_version_string", no_pointer_params},
    {"eddy_status_name", no_pointer_params},
    {"eddy_error_status", null_error_status},
    {"eddy_error_message", null_error_message},
    {"eddy_error_free", null_error_free},
    {"eddy_string_free", null_string_free},
    {"eddy_batch_num_rows", null_batch_num_rows},
    {"eddy_batch_num_columns", null_batch_num_columns},
    {"eddy_batch_column_name", null_batch_column_name},
    {"eddy_batch_column_type", null_batch_column_type},
    {"eddy_batch_is_null", null_batch_is_null},
    {"eddy_batch_get_bool", null_batch_get_bool},
    {"eddy_batch_get_i32", null_batch_get_i32},
    {"eddy_batch_get_i64", null_batch_get_i64},
    {"eddy_batch_get_f32", null_batch_get_f32},
    {"eddy_batch_get_f64", null_batch_get_f64},
    {"eddy_batch_get_str", null_batch_get_str},
    {"eddy_batch_export_arrow", null_batch_export_arrow},
    {"eddy_engine_open", null_engine_open},
    {"eddy_engine_execute", null_engine_execute},
    {"eddy_engine_flush", null_engine_flush},
    {"eddy_engine_poll", null_engine_poll},
    {"eddy_engine_advance_time", null_engine_advance_time},
    {"eddy_engine_stats_json", null_engine_stats_json},
    {"eddy_engine_close", null_engine_close},
    {"eddy_engine_free", null_engine_free},
    {"eddy_engine_stream_schema", null_engine_stream_schema},
    {"eddy_input_open", null_input_open},
    {"eddy_input_num_columns", null_input_num_columns},
    {"eddy_input_column_index", null_input_column_index},
    {"eddy_input_column_type", null_input_column_type},
    {"eddy_input_begin_row", null_begin},
    {"eddy_input_abort_row", null_abort},
    {"eddy_input_set_null", null_set_null},
    {"eddy_input_set_bool", null_set_bool},
    {"eddy_input_set_i32", null_set_i32},
    {"eddy_input_set_i64", null_set_i64},
    {"eddy_input_set_f32", null_set_f32},
    {"eddy_input_set_f64", null_set_f64},
    {"eddy_input_set_str", null_set_str},
    {"eddy_input_end_row", null_end},
    {"eddy_input_push_arrow", null_push_arrow},
    {"eddy_input_watermark", null_watermark},
    {"eddy_input_close", null_input_close},
    {"eddy_input_free", null_input_free},
    {"eddy_subscribe", null_subscribe},
    {"eddy_subscription_next", null_subscription_next},
    {"eddy_subscription_set_callback", null_set_callback},
    {"eddy_subscription_num_columns", null_subscription_num_columns},
    {"eddy_subscription_free", null_subscription_free},
};
#define N_CASES ((int)(sizeof CASES / sizeof CASES[0]))

static const case_t *find_case(const char *name) {
    for (int i = 0; i < N_CASES; i++)
        if (strcmp(CASES[i].name, name) == 0) return &CASES[i];
    return NULL;
}

static int null_cases_run;

static void run_decl(const decl_t *d) {
    const case_t *c = find_case(d->name);
    for (int i = 0; i < d->n_params; i++) {
        if (!c->run(d->params[i]))
            et_fail(__FILE__, __LINE__, "%s: no NULL case for parameter '%s'", d->name, d->params[i]);
        null_cases_run++;
    }
}

/* The eddy_batch_* cases need a batch that is live: they run here, inside
 * a callback. */
static void batch_cases_cb(void *user, const eddy_batch *b) {
    (void)user;
    w_batch = b;
    for (int i = 0; i < n_decls; i++)
        if (strncmp(decls[i].name, "eddy_batch_", 11) == 0) run_decl(&decls[i]);
    w_batch = NULL;
}

static void test_null_everywhere(void) {
    parse_header();
    REQUIRE(n_decls >= 40); /* the parser found the declarations */
    /* Every function of the header has a row, and every row is in the header. */
    for (int i = 0; i < n_decls; i++)
        if (find_case(decls[i].name) == NULL)
            et_fail(__FILE__, __LINE__, "%s is in eddy.h but has no misuse case here", decls[i].name);
    for (int i = 0; i < N_CASES; i++) {
        bool found = false;
        for (int j = 0; j < n_decls; j++) found |= strcmp(decls[j].name, CASES[i].name) == 0;
        if (!found) et_fail(__FILE__, __LINE__, "%s has a case but is not in eddy.h", CASES[i].name);
    }
    CHECK_INT(n_decls, N_CASES);

    w_engine = et_open(NULL);
    ET_EXEC(w_engine, SQL);
    REQUIRE_OK(eddy_input_open(w_engine, "S", &w_input, ERR));
    REQUIRE_OK(eddy_subscribe(w_engine, "Out", &w_sub, ERR));
    for (int i = 0; i < n_decls; i++)
        if (find_case(decls[i].name) != NULL && strncmp(decls[i].name, "eddy_batch_", 11) != 0)
            run_decl(&decls[i]);

    /* Now the batch functions, from inside a callback on a one-row batch. */
    eddy_subscription *cb = NULL;
    REQUIRE_OK(eddy_subscribe(w_engine, "Out", &cb, ERR));
    REQUIRE_OK(eddy_subscription_set_callback(cb, batch_cases_cb, NULL, NULL, ERR));
    push_row(w_input, 5, "five");
    REQUIRE_OK(eddy_engine_flush(w_engine, -1, ERR));
    size_t delivered = 0;
    EXPECT_OK(eddy_engine_poll(w_engine, 10000, &delivered, ERR));
    CHECK_UINT(delivered, 1);

    /* The engine is still fine after all of that. */
    push_row(w_input, 6, "six");
    REQUIRE_OK(eddy_engine_flush(w_engine, -1, ERR));
    CHECK_INT(et_stream_stat(w_engine, "S", "events_in"), 2);
    eddy_subscription_free(cb);
    eddy_subscription_free(w_sub);
    eddy_input_free(w_input);
    eddy_engine_free(w_engine);
    printf("  %d functions in eddy.h, %d NULL-parameter cases\n", n_decls, null_cases_run);
    CHECK(null_cases_run >= 100);
}

/* ======================================================================== */
/* Part 2                                                                   */

/* After eddy_engine_close, every call has a defined answer. */
static void test_use_after_close(void) {
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, SQL);
    eddy_input *in = NULL, *open_row = NULL;
    eddy_subscription *sub = NULL, *cb = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    REQUIRE_OK(eddy_input_open(e, "S", &open_row, ERR));
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    REQUIRE_OK(eddy_subscribe(e, "Out", &cb, ERR));
    REQUIRE_OK(eddy_subscription_set_callback(cb, noop_cb, NULL, NULL, ERR));
    push_row(in, 1, "one");
    REQUIRE_OK(eddy_input_begin_row(open_row, ERR)); /* a row left open across close */
    REQUIRE_OK(eddy_engine_close(e, ERR));

    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_engine_execute(e, "CREATE STREAM T (a INT)", ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_engine_flush(e, -1, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_engine_advance_time(e, 1, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, "already closed", eddy_engine_close(e, ERR));
    eddy_input *in2 = NULL;
    eddy_subscription *sub2 = NULL;
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_input_open(e, "S", &in2, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_subscribe(e, "Out", &sub2, ERR));
    CHECK(in2 == NULL && sub2 == NULL);
    /* Read-only calls still answer. */
    struct ArrowSchema s;
    EXPECT_OK(eddy_engine_stream_schema(e, "Out", &s, ERR));
    s.release(&s);
    CHECK_INT(et_stream_stat(e, "S", "events_in"), 1);
    size_t delivered = 0;
    EXPECT_OK(eddy_engine_poll(e, 1000, &delivered, ERR)); /* the row produced before close */
    CHECK_UINT(delivered, 1);
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_engine_poll(e, 1000, &delivered, ERR));

    /* Inputs: every push is refused with EDDY_ERR_CLOSED. */
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_input_begin_row(in, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_input_end_row(open_row, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_input_watermark(in, 5, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_input_close(in, ERR));
    struct ArrowArray batch;
    struct ArrowSchema schema;
    int released = 0;
    make_batch(&batch, &schema, &released);
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_input_push_arrow(in, &batch, &schema, ERR));
    CHECK_INT(released, 1);
    schema.release(&schema);
    uint32_t idx = 0;
    EXPECT_OK(eddy_input_column_index(in, "s", &idx, ERR)); /* metadata still answers */
    CHECK_UINT(idx, 1);
    CHECK_INT(eddy_input_column_type(in, 1), EDDY_TYPE_STRING);

    /* Subscriptions: what was produced, then the end. */
    struct ArrowArray a;
    REQUIRE_OK(eddy_subscription_next(sub, 0, &a, &s, ERR));
    CHECK_INT(a.length, 1);
    a.release(&a);
    s.release(&s);
    EXPECT_ERR(EDDY_ERR_END_OF_STREAM, "ended", eddy_subscription_next(sub, -1, &a, &s, ERR));
    EXPECT_OK(eddy_subscription_set_callback(sub, noop_cb, NULL, NULL, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_engine_poll(e, 0, &delivered, ERR));

    eddy_input_free(in);
    eddy_input_free(open_row);
    eddy_subscription_free(sub);
    eddy_subscription_free(cb);
    eddy_engine_free(e);
}

/* A handle of another kind (a cast in C) is refused by its tag. */
static void test_wrong_handle_kind(void) {
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, SQL);
    eddy_input *in = NULL;
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "not a live eddy_input",
               eddy_input_begin_row((eddy_input *)(void *)sub, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "not a live eddy_subscription",
               eddy_subscription_next((eddy_subscription *)(void *)in, 0, &(struct ArrowArray){0},
                                      &(struct ArrowSchema){0}, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "not a live eddy_engine",
               eddy_engine_flush((eddy_engine *)(void *)in, 0, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "not a live eddy_input",
               eddy_input_begin_row((eddy_input *)(void *)e, ERR));
    CHECK_UINT(eddy_input_num_columns((eddy_input *)(void *)sub), 0);
    CHECK_UINT(eddy_subscription_num_columns((eddy_subscription *)(void *)in), 0);
    /* Frees of the wrong kind are ignored (the real handles are intact). */
    eddy_input_free((eddy_input *)(void *)sub);
    eddy_subscription_free((eddy_subscription *)(void *)e);
    eddy_engine_free((eddy_engine *)(void *)in);
    push_row(in, 3, "x");
    EXPECT_OK(eddy_engine_flush(e, -1, ERR));
    CHECK_INT(et_stream_stat(e, "Out", "events_in"), 1);
    eddy_input_free(in);
    eddy_subscription_free(sub);
    eddy_engine_free(e);
}

/* Every order of freeing engine, input (with a row open), pull and callback
 * subscriptions (with results pending): each of the 24 permutations. */
static void test_free_orders(void) {
    int perms = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 4; c++)
                for (int d = 0; d < 4; d++) {
                    if (a == b || a == c || a == d || b == c || b == d || c == d) continue;
                    int order[4] = {a, b, c, d};
                    eddy_engine *e = et_open(NULL);
                    ET_EXEC(e, SQL);
                    eddy_input *in = NULL;
                    eddy_subscription *pull = NULL, *cb = NULL;
                    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
                    REQUIRE_OK(eddy_subscribe(e, "Out", &pull, ERR));
                    REQUIRE_OK(eddy_subscribe(e, "Out", &cb, ERR));
                    freed = 0;
                    REQUIRE_OK(eddy_subscription_set_callback(cb, noop_cb, NULL, count_free, ERR));
                    push_row(in, 1, "a");
                    REQUIRE_OK(eddy_engine_flush(e, -1, ERR)); /* results pending in both */
                    REQUIRE_OK(eddy_input_begin_row(in, ERR));
                    REQUIRE_OK(eddy_input_set_i32(in, 0, 2, ERR)); /* left open */
                    for (int k = 0; k < 4; k++) {
                        switch (order[k]) {
                        case 0: eddy_engine_free(e); break;
                        case 1: eddy_input_free(in); break;
                        case 2: eddy_subscription_free(pull); break;
                        default: eddy_subscription_free(cb); break;
                        }
                    }
                    CHECK_INT(freed, 1); /* user data released exactly once */
                    perms++;
                }
    CHECK_INT(perms, 24);
}

/* ---- callbacks that call back into eddy ---------------------------------- */

typedef struct {
    eddy_engine *engine;
    eddy_engine *other;
    int calls;
    eddy_status nested_poll, other_poll, next_status, close_status, after_free;
    char nested_msg[256];
} reenter_t;

static void reenter_cb(void *user, const eddy_batch *b) {
    (void)b;
    reenter_t *r = (reenter_t *)user;
    eddy_error *err = NULL;
    r->calls++;
    size_t n = 0;
    r->nested_poll = eddy_engine_poll(r->engine, 0, &n, &err);
    if (err) {
        snprintf(r->nested_msg, sizeof r->nested_msg, "%s", eddy_error_message(err));
        eddy_error_free(err);
        err = NULL;
    }
    /* Polling a different engine from inside a callback is fine. */
    r->other_poll = eddy_engine_poll(r->other, 0, &n, &err);
    eddy_error_free(err);
}

static void test_poll_inside_callback(void) {
    reenter_t r;
    memset(&r, 0, sizeof r);
    r.engine = et_open(NULL);
    r.other = et_open(NULL);
    ET_EXEC(r.engine, SQL);
    eddy_input *in = NULL;
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_input_open(r.engine, "S", &in, ERR));
    REQUIRE_OK(eddy_subscribe(r.engine, "Out", &sub, ERR));
    REQUIRE_OK(eddy_subscription_set_callback(sub, reenter_cb, &r, NULL, ERR));
    push_row(in, 1, "a");
    REQUIRE_OK(eddy_engine_flush(r.engine, -1, ERR));
    size_t delivered = 0;
    EXPECT_OK(eddy_engine_poll(r.engine, 5000, &delivered, ERR));
    CHECK_UINT(delivered, 1);
    CHECK_INT(r.calls, 1);
    CHECK_INT(r.nested_poll, EDDY_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(r.nested_msg, "inside a callback");
    CHECK_INT(r.other_poll, EDDY_OK);
    /* After the callback returned, poll works again. */
    push_row(in, 2, "b");
    REQUIRE_OK(eddy_engine_flush(r.engine, -1, ERR));
    EXPECT_OK(eddy_engine_poll(r.engine, 5000, &delivered, ERR));
    CHECK_INT(r.calls, 2);
    eddy_input_free(in);
    eddy_subscription_free(sub);
    eddy_engine_free(r.engine);
    eddy_engine_free(r.other);
}

/* next() on a callback subscription, close and free of the engine, all from
 * inside its own callback. */
static eddy_subscription *g_sub;
static void close_cb(void *user, const eddy_batch *b) {
    (void)b;
    reenter_t *r = (reenter_t *)user;
    eddy_error *err = NULL;
    struct ArrowArray a;
    struct ArrowSchema s;
    r->calls++;
    if (r->calls > 1) return;
    r->next_status = eddy_subscription_next(g_sub, 0, &a, &s, &err);
    eddy_error_free(err);
    err = NULL;
    r->close_status = eddy_engine_close(r->engine, &err);
    eddy_error_free(err);
}

static void test_close_inside_callback(void) {
    reenter_t r;
    memset(&r, 0, sizeof r);
    r.engine = et_open(NULL);
    ET_EXEC(r.engine, SQL);
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(r.engine, "S", &in, ERR));
    REQUIRE_OK(eddy_subscribe(r.engine, "Out", &g_sub, ERR));
    REQUIRE_OK(eddy_subscription_set_callback(g_sub, close_cb, &r, NULL, ERR));
    push_row(in, 1, "a");
    push_row(in, 2, "b");
    REQUIRE_OK(eddy_engine_flush(r.engine, -1, ERR));
    eddy_status st;
    int polls = 0;
    size_t delivered = 0;
    while ((st = eddy_engine_poll(r.engine, 1000, &delivered, ERR)) == EDDY_OK && polls++ < 100) {
    }
    CHECK_INT(st, EDDY_ERR_CLOSED);
    eddy_error_free(et_err);
    CHECK_INT(r.next_status, EDDY_ERR_INVALID_ARGUMENT);
    CHECK_INT(r.close_status, EDDY_OK);
    CHECK(r.calls >= 1);
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_input_begin_row(in, ERR));
    eddy_input_free(in);
    eddy_subscription_free(g_sub);
    eddy_engine_free(r.engine);
}

static void free_cb(void *user, const eddy_batch *b) {
    reenter_t *r = (reenter_t *)user;
    eddy_error *err = NULL;
    r->calls++;
    if (r->calls > 1) return;
    eddy_engine_free(r->engine);
    /* The handle is dead from here on: refused, not used. */
    r->after_free = eddy_engine_flush(r->engine, 0, &err);
    eddy_error_free(err);
    /* The batch being delivered stays readable until the callback returns. */
    CHECK_UINT(eddy_batch_num_rows(b), 1);
    int32_t v = 0;
    CHECK_INT(eddy_batch_get_i32(b, 0, 0, &v, NULL), EDDY_OK);
    CHECK_INT(v, 1);
}

static void test_free_inside_callback(void) {
    reenter_t r;
    memset(&r, 0, sizeof r);
    r.engine = et_open(NULL);
    ET_EXEC(r.engine, SQL);
    eddy_input *in = NULL;
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_input_open(r.engine, "S", &in, ERR));
    REQUIRE_OK(eddy_subscribe(r.engine, "Out", &sub, ERR));
    freed = 0;
    REQUIRE_OK(eddy_subscription_set_callback(sub, free_cb, &r, count_free, ERR));
    push_row(in, 1, "a");
    REQUIRE_OK(eddy_engine_flush(r.engine, -1, ERR));
    /* The outer poll finishes the delivery and frees the engine on return. */
    size_t delivered = 0;
    eddy_status st = eddy_engine_poll(r.engine, 1000, &delivered, ERR);
    CHECK(st == EDDY_OK || st == EDDY_ERR_CLOSED);
    eddy_error_free(et_err);
    CHECK_INT(r.calls >= 1, 1);
    CHECK_INT(r.after_free, EDDY_ERR_INVALID_ARGUMENT);
    /* Input and subscription outlive the engine, as always. */
    EXPECT_ERR(EDDY_ERR_CLOSED, "closed", eddy_input_begin_row(in, ERR));
    eddy_input_free(in);
    eddy_subscription_free(sub);
    CHECK_INT(freed, 1);
}

/* ---- close from another thread while producers push --------------------- */

#define PRODUCERS 4
typedef struct {
    eddy_engine *engine;
    int id;
    long ok;            /* rows whose end_row returned EDDY_OK */
    long batches_ok;    /* rows in Arrow batches accepted */
    eddy_status last;   /* the status that stopped it */
    long after_refused; /* pushes after the first refusal that were refused too */
    pthread_barrier_t *start;
} producer_t;

static void *produce(void *arg) {
    producer_t *p = (producer_t *)arg;
    eddy_input *in = NULL;
    eddy_error *err = NULL;
    if (eddy_input_open(p->engine, "S", &in, &err) != EDDY_OK) {
        p->last = eddy_error_status(err);
        eddy_error_free(err);
        pthread_barrier_wait(p->start);
        return NULL;
    }
    pthread_barrier_wait(p->start);
    for (long i = 0;; i++) {
        eddy_status st;
        if (p->id == 0 && i % 16 == 0) { /* one producer mixes in Arrow batches */
            struct ArrowArray batch;
            struct ArrowSchema schema;
            /* No release counter: an accepted batch is released later, on
             * the worker thread (the leak checkers see that it is). */
            make_batch(&batch, &schema, NULL);
            st = eddy_input_push_arrow(in, &batch, &schema, &err);
            schema.release(&schema);
            if (batch.release != NULL) p->last = EDDY_ERR_INTERNAL; /* moved, always */
            if (st == EDDY_OK) p->batches_ok += 1;
        } else {
            char buf[32];
            int len = snprintf(buf, sizeof buf, "p%d-%ld", p->id, i);
            st = eddy_input_begin_row(in, &err);
            if (st == EDDY_OK) st = eddy_input_set_i32(in, 0, 1, &err);
            if (st == EDDY_OK) st = eddy_input_set_str(in, 1, buf, (size_t)len, &err);
            if (st == EDDY_OK) st = eddy_input_end_row(in, &err);
            if (st == EDDY_OK) p->ok++;
        }
        if (st != EDDY_OK) {
            p->last = st;
            eddy_error_free(err);
            err = NULL;
            break;
        }
    }
    /* Once refused, always refused. */
    for (int k = 0; k < 10; k++) {
        if (eddy_input_begin_row(in, &err) == EDDY_ERR_CLOSED) p->after_refused++;
        eddy_error_free(err);
        err = NULL;
    }
    eddy_input_free(in);
    return NULL;
}

static void test_close_while_pushing(void) {
    /* A small queue: producers also meet a full queue while close runs. */
    eddy_engine *e = et_open("queue_capacity=64;push_timeout_ms=10000");
    ET_EXEC(e, SQL);
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, PRODUCERS + 1);
    producer_t p[PRODUCERS];
    pthread_t t[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        memset(&p[i], 0, sizeof p[i]);
        p[i].engine = e;
        p[i].id = i;
        p[i].start = &start;
        REQUIRE(pthread_create(&t[i], NULL, produce, &p[i]) == 0);
    }
    pthread_barrier_wait(&start);
    /* Let them push for a while (how much does not matter), then close. */
    et_sleep_ms(50);
    EXPECT_OK(eddy_engine_close(e, ERR));
    long ok = 0;
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(p[i].last, EDDY_ERR_CLOSED);
        CHECK_INT(p[i].after_refused, 10);
        ok += p[i].ok + p[i].batches_ok;
    }
    pthread_barrier_destroy(&start);
    /* Every accepted row was processed; nothing refused was counted in. */
    CHECK_INT(et_stream_stat(e, "S", "events_in"), ok);
    CHECK_INT(et_stream_stat(e, "S", "dropped"), 0);
    CHECK_INT(et_stream_stat(e, "Out", "events_in"), ok);
    long got = 0;
    for (;;) {
        struct ArrowArray a;
        struct ArrowSchema s;
        eddy_status st = eddy_subscription_next(sub, 0, &a, &s, ERR);
        if (st != EDDY_OK) {
            CHECK_INT(st, EDDY_ERR_END_OF_STREAM);
            eddy_error_free(et_err);
            break;
        }
        got += (long)a.length;
        a.release(&a);
        s.release(&s);
    }
    CHECK_INT(got, ok);
    printf("  close while %d threads pushed: %ld rows accepted, all delivered\n", PRODUCERS, ok);
    eddy_subscription_free(sub);
    eddy_engine_free(e);
}

/* ---- statements and calls out of order ----------------------------------- */

static void test_out_of_order(void) {
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, SQL);
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    /* There is no DROP STREAM: a stream lives as long as its engine. */
    EXPECT_ERR(EDDY_ERR_SQL, "line 1:1: expected CREATE STREAM or INSERT INTO, found 'DROP'",
               eddy_engine_execute(e, "DROP STREAM S", ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "no row is open", eddy_input_end_row(in, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "no row is open", eddy_input_set_i32(in, 0, 1, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "no event time", eddy_input_watermark(in, 5, ERR));
    REQUIRE_OK(eddy_input_begin_row(in, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "already open", eddy_input_begin_row(in, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "out of range", eddy_input_set_i32(in, 99, 1, ERR));
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "a row is open", eddy_input_watermark(in, 5, ERR));
    struct ArrowArray batch;
    struct ArrowSchema schema;
    int released = 0;
    make_batch(&batch, &schema, &released);
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "a row is open", eddy_input_push_arrow(in, &batch, &schema, ERR));
    CHECK_INT(released, 1);
    schema.release(&schema);
    EXPECT_OK(eddy_input_abort_row(in, ERR));
    EXPECT_OK(eddy_input_abort_row(in, ERR)); /* no-op when none is open */
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "clock=manual", eddy_engine_advance_time(e, 10, ERR));
    CHECK_STR(eddy_status_name(-1), "EDDY_UNKNOWN_STATUS");
    CHECK_STR(eddy_status_name(13), "EDDY_UNKNOWN_STATUS");
    /* None of it left a trace: the next row is the first. */
    push_row(in, 1, "a");
    REQUIRE_OK(eddy_engine_flush(e, -1, ERR));
    CHECK_INT(et_stream_stat(e, "S", "events_in"), 1);
    /* Calls refused as misuse ingest nothing and are not counted as rows. */
    CHECK_INT(et_stream_stat(e, "S", "rejected"), 0);
    eddy_input_free(in);
    eddy_engine_free(e);
}

int main(void) {
    test_null_everywhere();
    test_use_after_close();
    test_wrong_handle_kind();
    test_free_orders();
    test_poll_inside_callback();
    test_close_inside_callback();
    test_free_inside_callback();
    test_close_while_pushing();
    test_out_of_order();
    return et_finish("test_misuse");
}
