/*
 * Flush and poll semantics.
 *  - After eddy_engine_flush, every result of what was pushed before is
 *    readable with timeout 0 (pull) or deliverable by poll(0) (callbacks).
 *  - Callbacks run only inside eddy_engine_poll, on the polling thread.
 *  - free_user_data runs exactly once: on callback replacement and on
 *    subscription free (and at once for a NULL callback).
 */
#include "eddy_test.h"

#include <pthread.h>

#include "arrow_util.h"

#define SQL "CREATE STREAM S (a INT, s STRING); INSERT INTO Out SELECT a, s FROM S WHERE a % 2 = 0"

static void push_n(eddy_input *in, int from, int n) {
    for (int i = from; i < from + n; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "row-%d", i);
        REQUIRE_OK(eddy_input_begin_row(in, ERR));
        REQUIRE_OK(eddy_input_set_i32(in, 0, i, ERR));
        REQUIRE_OK(eddy_input_set_str(in, 1, buf, (size_t)len, ERR));
        REQUIRE_OK(eddy_input_end_row(in, ERR));
    }
}

/* Pull everything readable with timeout 0; checks values are consecutive
 * even numbers from *next_even. */
static int pull_now(eddy_subscription *sub, int *next_even) {
    int rows = 0;
    struct ArrowArray arr;
    struct ArrowSchema sch;
    while (ET_NEXT_NOW(sub, &arr, &sch)) {
        for (int64_t r = 0; r < arr.length; r++) {
            int32_t v = au_i32(arr.children[0], arr.offset, r);
            if (v != *next_even) {
                CHECK_INT(v, *next_even);
            }
            *next_even = v + 2;
            size_t len;
            const char *p = au_str(arr.children[1], arr.offset, r, &len);
            char want[32];
            int wl = snprintf(want, sizeof want, "row-%d", v);
            if (len != (size_t)wl || memcmp(p, want, len) != 0) CHECK(!"string matches its row");
        }
        rows += (int)arr.length;
        arr.release(&arr);
        sch.release(&sch);
    }
    return rows;
}

static void test_flush_pull(void) {
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, SQL);
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    int next_even = 0;
    /* Nothing pushed: flush returns at once, nothing to read. */
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    CHECK_INT(pull_now(sub, &next_even), 0);
    for (int round = 0; round < 20; round++) {
        int n = 1 + round * 37;
        int from = next_even; /* even */
        push_n(in, from, n);
        REQUIRE_OK(eddy_engine_flush(e, -1, ERR));
        CHECK_INT(pull_now(sub, &next_even), (n + 1) / 2);
        next_even = from + n + ((from + n) % 2);
    }
    /* flush with timeout 0 on an idle engine succeeds or times out, never
     * anything else. */
    eddy_status st = eddy_engine_flush(e, 0, ERR);
    CHECK(st == EDDY_OK || st == EDDY_ERR_TIMEOUT);
    eddy_error_free(et_err);
    eddy_input_free(in);
    eddy_subscription_free(sub);
    eddy_engine_free(e);
}

/* ---- callbacks ---------------------------------------------------------- */

typedef struct {
    int calls;
    long rows;
    pthread_t thread;
    bool wrong_thread;
    int freed;
    int tag;
} cb_state;

static pthread_t main_thread;

static void on_batch(void *user, const eddy_batch *b) {
    cb_state *st = (cb_state *)user;
    st->calls++;
    st->rows += (long)eddy_batch_num_rows(b);
    if (!pthread_equal(pthread_self(), main_thread)) st->wrong_thread = true;
}

static void free_state(void *user) { ((cb_state *)user)->freed++; }

static void test_poll(void) {
    main_thread = pthread_self();
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, SQL);
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    cb_state a = {0}, b = {0}, c = {0};
    REQUIRE_OK(eddy_subscription_set_callback(sub, on_batch, &a, free_state, ERR));
    /* In callback mode, pull is refused. */
    struct ArrowArray arr;
    struct ArrowSchema sch;
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "callback", eddy_subscription_next(sub, 0, &arr, &sch, ERR));

    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    size_t delivered = 123;
    /* Nothing yet: poll(0) delivers 0 and says OK. */
    EXPECT_OK(eddy_engine_poll(e, 0, &delivered, ERR));
    CHECK_UINT(delivered, 0);
    /* poll with a timeout and nothing coming: OK, 0, after about that long. */
    int64_t t0 = et_now_ms();
    delivered = 123;
    EXPECT_OK(eddy_engine_poll(e, 50, &delivered, ERR));
    CHECK_UINT(delivered, 0);
    CHECK(et_now_ms() - t0 >= 45);

    push_n(in, 0, 100);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    et_sleep_ms(50);
    /* Results are queued, but no callback ran outside poll. */
    CHECK_INT(a.calls, 0);
    CHECK_INT(et_stream_stat(e, "Out", "subscriber_queued"), 50);
    delivered = 0;
    EXPECT_OK(eddy_engine_poll(e, 0, &delivered, ERR));
    CHECK(delivered > 0);
    CHECK_INT(a.calls, (int)delivered);
    CHECK_INT(a.rows, 50);
    CHECK(!a.wrong_thread);
    EXPECT_OK(eddy_engine_poll(e, 0, &delivered, ERR));
    CHECK_UINT(delivered, 0);
    CHECK_INT(a.freed, 0);

    /* Replacing the callback frees the old user data, once, at once. */
    REQUIRE_OK(eddy_subscription_set_callback(sub, on_batch, &b, free_state, ERR));
    CHECK_INT(a.freed, 1);
    CHECK_INT(b.freed, 0);
    push_n(in, 100, 10);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    EXPECT_OK(eddy_engine_poll(e, 0, &delivered, ERR));
    CHECK_INT(b.rows, 5);
    CHECK_INT(a.rows, 50); /* the old callback gets nothing more */

    /* poll(-1) returns as soon as something is delivered (pushed from here,
     * delivered after the worker runs it). */
    push_n(in, 110, 2);
    delivered = 0;
    EXPECT_OK(eddy_engine_poll(e, -1, &delivered, ERR));
    CHECK(delivered >= 1);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    EXPECT_OK(eddy_engine_poll(e, 0, &delivered, ERR));
    CHECK_INT(b.rows, 6);

    /* Removing the callback (NULL cb) frees b, and frees the NULL call's own
     * user data at once; pull mode works again. */
    REQUIRE_OK(eddy_subscription_set_callback(sub, NULL, &c, free_state, ERR));
    CHECK_INT(b.freed, 1);
    CHECK_INT(c.freed, 1);
    push_n(in, 200, 4);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    int next_even = 200;
    CHECK_INT(pull_now(sub, &next_even), 2);
    EXPECT_OK(eddy_engine_poll(e, 0, &delivered, ERR));
    CHECK_UINT(delivered, 0);

    /* Back to a callback; freeing the subscription frees its user data once. */
    cb_state d = {0};
    REQUIRE_OK(eddy_subscription_set_callback(sub, on_batch, &d, free_state, ERR));
    push_n(in, 300, 4);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    eddy_subscription_free(sub);
    CHECK_INT(d.freed, 1);
    CHECK_INT(d.calls, 0); /* never polled: never called */
    /* Poll after the free: nothing for it. */
    EXPECT_OK(eddy_engine_poll(e, 0, &delivered, ERR));
    CHECK_UINT(delivered, 0);
    CHECK_INT(d.calls, 0);
    CHECK_INT(a.freed, 1);
    CHECK_INT(b.freed, 1);
    CHECK_INT(c.freed, 1);
    CHECK_INT(d.freed, 1);

    /* A callback without free_user_data is fine too. */
    cb_state f = {0};
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));
    REQUIRE_OK(eddy_subscription_set_callback(sub, on_batch, &f, NULL, ERR));
    push_n(in, 400, 4);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    EXPECT_OK(eddy_engine_poll(e, 0, &delivered, ERR));
    CHECK_INT(f.rows, 2);
    eddy_subscription_free(sub);
    CHECK_INT(f.freed, 0);

    eddy_input_free(in);
    eddy_engine_free(e);
}

/* Two callback subscriptions on different streams; one poll serves both. */
static void test_poll_many(void) {
    main_thread = pthread_self();
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, SQL);
    eddy_subscription *s1 = NULL, *s2 = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &s1, ERR));
    REQUIRE_OK(eddy_subscribe(e, "S", &s2, ERR));
    cb_state a = {0}, b = {0};
    REQUIRE_OK(eddy_subscription_set_callback(s1, on_batch, &a, free_state, ERR));
    REQUIRE_OK(eddy_subscription_set_callback(s2, on_batch, &b, free_state, ERR));
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    push_n(in, 0, 20);
    REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    size_t delivered = 0;
    EXPECT_OK(eddy_engine_poll(e, 0, &delivered, ERR));
    CHECK_INT(a.rows, 10);
    CHECK_INT(b.rows, 20);
    CHECK_INT((int)delivered, a.calls + b.calls);
    eddy_input_free(in);
    eddy_engine_free(e); /* subscriptions outlive the engine */
    CHECK_INT(a.freed + b.freed, 0);
    eddy_subscription_free(s1);
    eddy_subscription_free(s2);
    CHECK_INT(a.freed, 1);
    CHECK_INT(b.freed, 1);
}

/* Freeing a subscription from inside its own callback is allowed: the user
 * data is released when that callback returns, and nothing more is delivered
 * to it. */
static eddy_subscription *self_sub;
static void free_self(void *user, const eddy_batch *b) {
    cb_state *st = (cb_state *)user;
    on_batch(user, b);
    if (self_sub != NULL) {
        eddy_subscription_free(self_sub);
        self_sub = NULL;
        st->tag = st->freed; /* still 0: released only after we return */
    }
}

static void test_free_inside_callback(void) {
    main_thread = pthread_self();
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, SQL);
    cb_state a = {0};
    a.tag = -1;
    REQUIRE_OK(eddy_subscribe(e, "S", &self_sub, ERR));
    REQUIRE_OK(eddy_subscription_set_callback(self_sub, free_self, &a, free_state, ERR));
    eddy_input *in = NULL;
    REQUIRE_OK(eddy_input_open(e, "S", &in, ERR));
    /* Three separate batches queued for the callback. */
    for (int i = 0; i < 3; i++) {
        push_n(in, i, 1);
        REQUIRE_OK(eddy_engine_flush(e, 10000, ERR));
    }
    size_t delivered = 0;
    EXPECT_OK(eddy_engine_poll(e, 0, &delivered, ERR));
    CHECK_INT(a.tag, 0);
    CHECK_INT(a.freed, 1);
    CHECK_INT(a.calls, 1);
    CHECK_UINT(delivered, 1);
    CHECK(self_sub == NULL);
    EXPECT_OK(eddy_engine_poll(e, 0, &delivered, ERR));
    CHECK_UINT(delivered, 0);
    CHECK_INT(a.calls, 1);
    eddy_input_free(in);
    eddy_engine_free(e);
    CHECK_INT(a.freed, 1);
}

int main(void) {
    test_flush_pull();
    test_free_inside_callback();
    test_poll();
    test_poll_many();
    return et_finish("test_flush_poll");
}
