/*
 * Overload: a producer pushes 120k rows/s, more than ten times what a slow
 * subscriber reads, under each overflow policy:
 *
 *   input overflow      subscriber_overflow
 *   block               block         nothing lost, memory bounded
 *   drop_newest         block         the input drops the new rows
 *   drop_oldest         block         the input drops its oldest rows
 *   block               drop_newest   the subscriber drops new batches
 *   block               drop_oldest   the subscriber drops its oldest batches
 *
 * Every row carries a sequence number. The checks are exact: the reader sees
 * increasing numbers, the gaps it sees add up to the rows counted as dropped,
 * and pushed = read + dropped (input and subscriber) + rejected + late, from
 * eddy_engine_stats_json. Under block nothing is dropped and the resident
 * set stays bounded (measured from /proc/self/statm, not under sanitizers).
 *
 * EDDY_OVERLOAD_SECONDS sets the run per policy (default 2, for CI);
 * scripts/overload.sh runs a minute each and prints the figures recorded in
 * docs/reliability.md.
 */
#include "eddy_test.h"

#include <pthread.h>
#include <unistd.h>

#include "arrow_util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ET_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ET_SANITIZED 1
#endif
#endif
#ifndef ET_SANITIZED
#define ET_SANITIZED 0
#endif

/* Producer: PUSH_PER_MS rows per millisecond of elapsed time (120k rows/s),
 * paced against the clock so a sleep that overshoots does not slow it. The
 * reader sleeps READ_US_PER_ROW per row it reads (at most 10k rows/s): the
 * producer is at least 12 times faster. */
#define PUSH_PER_MS 120
#define READ_US_PER_ROW 100

static long rss_kib(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

typedef struct {
    eddy_engine *e;
    int seconds;
    long pushed;
    long full; /* EDDY_ERR_FULL answers (must stay 0: the timeout is long) */
    long other_errors;
    atomic_int done;
} producer_t;

static void *produce(void *arg) {
    producer_t *p = (producer_t *)arg;
    eddy_input *in = NULL;
    eddy_error *err = NULL;
    if (eddy_input_open(p->e, "S", &in, &err) != EDDY_OK) {
        eddy_error_free(err);
        p->other_errors++;
        atomic_store(&p->done, 1);
        return NULL;
    }
    int64_t start = et_now_ms(), end = start + (int64_t)p->seconds * 1000;
    for (int64_t now = start; now < end; now = et_now_ms()) {
        /* Catch up to the schedule (under block the reader holds the
         * producer back: stop at the end regardless), then wait for the next
         * millisecond. */
        long due = (long)(now - start + 1) * PUSH_PER_MS;
        while (p->pushed + p->full + p->other_errors < due && et_now_ms() < end) {
            eddy_status st = eddy_input_begin_row(in, &err);
            if (st == EDDY_OK) st = eddy_input_set_i64(in, 0, p->pushed, &err);
            if (st == EDDY_OK) st = eddy_input_end_row(in, &err);
            if (st == EDDY_OK) {
                p->pushed++;
            } else {
                if (st == EDDY_ERR_FULL)
                    p->full++;
                else
                    p->other_errors++;
                eddy_error_free(err);
                err = NULL;
                eddy_input_abort_row(in, NULL);
            }
        }
        sleep_us(1000);
    }
    eddy_input_free(in);
    atomic_store(&p->done, 1);
    return NULL;
}

typedef struct {
    const char *options;
    const char *label;
    bool lossless;
} scenario_t;

static void run(const scenario_t *sc, int seconds) {
    char opts[256];
    /* Small queues so the policies act within the first moments; a long push
     * timeout so block means "wait", never EDDY_ERR_FULL. */
    snprintf(opts, sizeof opts, "queue_capacity=1024;subscriber_capacity=2048;batch_rows=256;push_timeout_ms=600000;%s",
             sc->options);
    eddy_engine *e = et_open(opts);
    ET_EXEC(e, "CREATE STREAM S (seq BIGINT); INSERT INTO Out SELECT seq FROM S");
    eddy_subscription *sub = NULL;
    REQUIRE_OK(eddy_subscribe(e, "Out", &sub, ERR));

    producer_t p;
    memset(&p, 0, sizeof p);
    p.e = e;
    p.seconds = seconds;
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, produce, &p) == 0);

    long rss_start = rss_kib(), rss_max = rss_start;
    long read = 0, gaps = 0, disorder = 0, next_expected = 0;
    bool closed = false;
    int64_t t0 = et_now_ms();
    for (;;) {
        if (!closed && atomic_load(&p.done)) {
            pthread_join(t, NULL);
            /* Close drains what the input holds; the reader then takes the rest. */
            EXPECT_OK(eddy_engine_close(e, ERR));
            closed = true;
        }
        struct ArrowArray a;
        struct ArrowSchema s;
        eddy_status st = eddy_subscription_next(sub, 100, &a, &s, ERR);
        if (st == EDDY_ERR_TIMEOUT) {
            eddy_error_free(et_err);
            continue;
        }
        if (st == EDDY_ERR_END_OF_STREAM) {
            eddy_error_free(et_err);
            break;
        }
        if (!EXPECT_OK(st)) break;
        for (int64_t r = 0; r < a.length; r++) {
            long v = (long)au_i64(a.children[0], a.offset, r);
            if (v < next_expected)
                disorder++;
            else
                gaps += v - next_expected;
            next_expected = v + 1;
        }
        read += (long)a.length;
        a.release(&a);
        s.release(&s);
        if (!closed) sleep_us((long)a.length * READ_US_PER_ROW); /* the slow reader */
        long rss = rss_kib();
        if (rss > rss_max) rss_max = rss;
    }
    double secs = (double)(et_now_ms() - t0) / 1000.0;
    long in_dropped = et_stream_stat(e, "S", "dropped"), sub_dropped = et_stream_stat(e, "Out", "dropped");
    long rejected = et_stream_stat(e, "S", "rejected"), late = et_stream_stat(e, "S", "late");
    long events_in = et_stream_stat(e, "S", "events_in");

    printf("  %-40s pushed %9ld  read %9ld  dropped in %9ld + sub %9ld  rejected %ld  late %ld  "
           "rss %ld -> %ld KiB  (%.1f s, push %.0f rows/s, read %.0f rows/s, %.1fx)\n",
           sc->label, p.pushed, read, in_dropped, sub_dropped, rejected, late, rss_start, rss_max, secs,
           p.pushed / secs, read / secs, read > 0 ? (double)p.pushed / (double)read : 0.0);
    fflush(stdout);

    CHECK_INT(p.other_errors, 0);
    CHECK_INT(p.full, 0);
    CHECK(p.pushed > 0);
    /* Every row accounted for, exactly. */
    CHECK_INT(p.pushed, read + in_dropped + sub_dropped + rejected + late);
    CHECK_INT(events_in + in_dropped + rejected, p.pushed);
    CHECK_INT(disorder, 0);
    /* The reader sees each lost row as a gap, or after the last row it read
     * (drop_newest may discard the very last rows)... */
    CHECK_INT(gaps + (p.pushed - next_expected), in_dropped + sub_dropped);
    if (sc->lossless) {
        CHECK_INT(read, p.pushed);
        CHECK_INT(in_dropped + sub_dropped, 0);
        /* ...and under block there are none; queues are small, so memory stays
         * flat: allow 64 MiB for allocator slack. */
        if (!ET_SANITIZED && rss_start > 0) CHECK(rss_max - rss_start < 64 * 1024);
    } else {
        CHECK(in_dropped + sub_dropped > 0); /* 10x overload must drop something */
    }
    CHECK_INT(next_expected > 0, 1);
    eddy_subscription_free(sub);
    eddy_engine_free(e);
}

int main(void) {
    const char *env = getenv("EDDY_OVERLOAD_SECONDS");
    int seconds = env != NULL ? atoi(env) : 2;
    if (seconds <= 0) seconds = 2;
    static const scenario_t scenarios[] = {
        {"overflow=block;subscriber_overflow=block", "overflow=block", true},
        {"overflow=drop_newest;subscriber_overflow=block", "overflow=drop_newest", false},
        {"overflow=drop_oldest;subscriber_overflow=block", "overflow=drop_oldest", false},
        {"overflow=block;subscriber_overflow=drop_newest", "subscriber_overflow=drop_newest", false},
        {"overflow=block;subscriber_overflow=drop_oldest", "subscriber_overflow=drop_oldest", false},
    };
    printf("overload: %d s per policy, producer %d rows/ms, reader %d us/row\n", seconds, PUSH_PER_MS,
           READ_US_PER_ROW);
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) run(&scenarios[i], seconds);
    return et_finish("test_overload");
}
