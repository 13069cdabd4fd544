/*
 * Two producer threads, each with its own input on the same stream, push
 * 100k rows each while the main thread pulls results. Checks totals, that
 * each producer's rows arrive in the order pushed, and the string payloads.
 * A third thread polls stats and flushes concurrently (engine handles are
 * thread-safe).
 */
#include "eddy_test.h"

#include <pthread.h>

#include "arrow_util.h"

#define PRODUCERS 2
#define ROWS_PER_PRODUCER 100000

typedef struct {
    eddy_engine *engine;
    int id;
    int failures;
    long full_retries;
} producer_t;

static void *produce(void *arg) {
    producer_t *p = (producer_t *)arg;
    eddy_input *in = NULL;
    eddy_error *err = NULL;
    if (eddy_input_open(p->engine, "S", &in, &err) != EDDY_OK) {
        fprintf(stderr, "producer %d: input_open: %s\n", p->id, eddy_error_message(err));
        eddy_error_free(err);
        p->failures++;
        return NULL;
    }
    for (int64_t seq = 0; seq < ROWS_PER_PRODUCER; seq++) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "p%d-%lld", p->id, (long long)seq);
        eddy_status st;
        if ((st = eddy_input_begin_row(in, &err)) != EDDY_OK ||
            (st = eddy_input_set_i32(in, 0, p->id, &err)) != EDDY_OK ||
            (st = eddy_input_set_i64(in, 1, seq, &err)) != EDDY_OK ||
            (st = eddy_input_set_str(in, 2, buf, (size_t)len, &err)) != EDDY_OK) {
            fprintf(stderr, "producer %d row %lld: %s\n", p->id, (long long)seq, eddy_error_message(err));
            eddy_error_free(err);
            p->failures++;
            break;
        }
        st = eddy_input_end_row(in, &err);
        if (st != EDDY_OK) {
            fprintf(stderr, "producer %d end_row %lld: %s %s\n", p->id, (long long)seq,
                    eddy_status_name((int)st), eddy_error_message(err));
            eddy_error_free(err);
            p->failures++;
            break;
        }
    }
    if (eddy_input_close(in, &err) != EDDY_OK) {
        fprintf(stderr, "producer %d close: %s\n", p->id, eddy_error_message(err));
        eddy_error_free(err);
        p->failures++;
    }
    eddy_input_free(in);
    return NULL;
}

static atomic_int stop_observer;
static void *observe(void *arg) {
    eddy_engine *e = (eddy_engine *)arg;
    while (!atomic_load(&stop_observer)) {
        char *json = NULL;
        eddy_error *err = NULL;
        if (eddy_engine_stats_json(e, &json, &err) == EDDY_OK)
            eddy_string_free(json);
        else
            eddy_error_free(err);
        if (eddy_engine_flush(e, 1000, &err) != EDDY_OK) eddy_error_free(err);
        et_sleep_ms(5);
    }
    return NULL;
}

int main(void) {
    eddy_engine *e = et_open(NULL);
    ET_EXEC(e, "CREATE STREAM S (producer INT, seq BIGINT, tag STRING);"
               "INSERT INTO Out SELECT producer, seq, tag FROM S WHERE seq >= 0");
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));

    producer_t prod[PRODUCERS];
    pthread_t threads[PRODUCERS], observer;
    for (int i = 0; i < PRODUCERS; i++) {
        prod[i].engine = e;
        prod[i].id = i;
        prod[i].failures = 0;
        prod[i].full_retries = 0;
        REQUIRE(pthread_create(&threads[i], NULL, produce, &prod[i]) == 0);
    }
    REQUIRE(pthread_create(&observer, NULL, observe, e) == 0);

    int64_t next_seq[PRODUCERS] = {0};
    long total = 0, out_of_order = 0, bad_tags = 0, bad_producer = 0;
    int64_t deadline = et_now_ms() + 90000;
    while (total < (long)PRODUCERS * ROWS_PER_PRODUCER && et_now_ms() < deadline) {
        struct ArrowArray arr;
        struct ArrowSchema sch;
        eddy_status st = eddy_subscription_next(sub, 200, &arr, &sch, ERR);
        if (st == EDDY_ERR_TIMEOUT) {
            eddy_error_free(et_err);
            continue;
        }
        if (!EXPECT_OK(st)) break;
        const struct ArrowArray *cp = arr.children[0], *cs = arr.children[1], *ct = arr.children[2];
        for (int64_t r = 0; r < arr.length; r++) {
            int32_t p = au_i32(cp, arr.offset, r);
            int64_t seq = au_i64(cs, arr.offset, r);
            if (p < 0 || p >= PRODUCERS) {
                bad_producer++;
                continue;
            }
            if (seq != next_seq[p]) {
                if (out_of_order < 5)
                    fprintf(stderr, "producer %d: seq %lld, expected %lld\n", p, (long long)seq,
                            (long long)next_seq[p]);
                out_of_order++;
            }
            next_seq[p] = seq + 1;
            char want[32];
            int wl = snprintf(want, sizeof want, "p%d-%lld", p, (long long)seq);
            size_t len;
            const char *tag = au_str(ct, arr.offset, r, &len);
            if (len != (size_t)wl || memcmp(tag, want, len) != 0) bad_tags++;
        }
        total += (long)arr.length;
        arr.release(&arr);
        sch.release(&sch);
    }
    for (int i = 0; i < PRODUCERS; i++) pthread_join(threads[i], NULL);
    atomic_store(&stop_observer, 1);
    pthread_join(observer, NULL);

    for (int i = 0; i < PRODUCERS; i++) {
        CHECK_INT(prod[i].failures, 0);
        CHECK_INT(next_seq[i], ROWS_PER_PRODUCER);
    }
    CHECK_INT(total, (long)PRODUCERS * ROWS_PER_PRODUCER);
    CHECK_INT(out_of_order, 0);
    CHECK_INT(bad_tags, 0);
    CHECK_INT(bad_producer, 0);
    CHECK_INT(et_stream_stat(e, "S", "events_in"), (long)PRODUCERS * ROWS_PER_PRODUCER);
    CHECK_INT(et_stream_stat(e, "S", "dropped"), 0);
    CHECK_INT(et_stream_stat(e, "S", "rejected"), 0);

    REQUIRE_OK(eddy_engine_close(e, ERR));
    EXPECT_ERR(EDDY_ERR_END_OF_STREAM, NULL,
               eddy_subscription_next(sub, 1000, &(struct ArrowArray){0}, &(struct ArrowSchema){0}, ERR));
    eddy_subscription_free(sub);
    eddy_engine_free(e);
    printf("  %ld rows from %d producers, in order\n", total, PRODUCERS);
    return et_finish("test_threads");
}
