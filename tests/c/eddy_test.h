/*
 * Minimal assertion helpers for eddy's C tests.
 *
 * Each test is a program: checks count failures and keep going; REQUIRE_*
 * stops the program when continuing makes no sense. et_finish() prints a
 * summary and gives the exit status (0 only when every check passed).
 *
 * Calls that take `eddy_error **err` are written with ERR as that argument:
 *
 *   EXPECT_OK(eddy_engine_execute(e, "CREATE STREAM S (a INT)", ERR));
 *   EXPECT_ERR(EDDY_ERR_SQL, "line 1:", eddy_engine_execute(e, "SELEC", ERR));
 *
 * The macros check the status, that *err was (or was not) set, the error's
 * own status and message, and free the error.
 */
#ifndef EDDY_TEST_H
#define EDDY_TEST_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eddy.h"

#if defined(__GNUC__)
#define ET_UNUSED __attribute__((unused))
#else
#define ET_UNUSED
#endif

static atomic_int et_checks;
static atomic_int et_failed;
/* Error slots, one per nesting level: an EXPECT_* around eddy_engine_poll
 * may run callbacks that use EXPECT_* themselves. ERR hands out the current
 * level's slot, reset to NULL; et_err reads it after the call. */
#define ET_MAX_DEPTH 16
static _Thread_local eddy_error *et_errs[ET_MAX_DEPTH] ET_UNUSED;
static _Thread_local int et_depth ET_UNUSED;
static inline eddy_error **et_slot(void) {
    et_errs[et_depth] = NULL;
    return &et_errs[et_depth];
}
#define ERR (et_slot())
#define et_err (et_errs[et_depth])

/* A value no eddy function returns, to see that *err is left untouched. */
static char et_sentinel_byte ET_UNUSED;
#define ET_SENTINEL ((eddy_error *)(void *)&et_sentinel_byte)

static inline void et_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    atomic_fetch_add(&et_failed, 1);
    fprintf(stderr, "%s:%d: FAILED: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static inline bool et_check(bool ok, const char *file, int line, const char *what) {
    atomic_fetch_add(&et_checks, 1);
    if (!ok) et_fail(file, line, "%s", what);
    return ok;
}

#define CHECK(cond) et_check((cond) ? true : false, __FILE__, __LINE__, #cond)

#define REQUIRE(cond)                                                       \
    do {                                                                    \
        if (!CHECK(cond)) {                                                 \
            fprintf(stderr, "%s:%d: stopping: requirement failed\n",        \
                    __FILE__, __LINE__);                                    \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

#define CHECK_INT(actual, expected)                                          \
    do {                                                                     \
        long long a_ = (long long)(actual), e_ = (long long)(expected);      \
        atomic_fetch_add(&et_checks, 1);                                     \
        if (a_ != e_)                                                        \
            et_fail(__FILE__, __LINE__, "%s == %s: got %lld, expected %lld", \
                    #actual, #expected, a_, e_);                             \
    } while (0)

/* Takes the next batch available right now into *arr / *sch (the caller
 * releases both). Returns false when there is none, checking that the
 * status said so (EDDY_ERR_TIMEOUT). */
static inline bool et_next_now_at(eddy_subscription *sub, struct ArrowArray *arr, struct ArrowSchema *sch,
                                  const char *file, int line) {
    eddy_status st = eddy_subscription_next(sub, 0, arr, sch, ERR);
    if (st == EDDY_OK) return true;
    et_check(st == EDDY_ERR_TIMEOUT, file, line, "eddy_subscription_next with nothing left gives EDDY_ERR_TIMEOUT");
    eddy_error_free(et_err);
    return false;
}
#define ET_NEXT_NOW(sub, arr, sch) et_next_now_at((sub), (arr), (sch), __FILE__, __LINE__)

#define CHECK_UINT(actual, expected)                                         \
    do {                                                                     \
        unsigned long long a_ = (unsigned long long)(actual),                \
                           e_ = (unsigned long long)(expected);              \
        atomic_fetch_add(&et_checks, 1);                                     \
        if (a_ != e_)                                                        \
            et_fail(__FILE__, __LINE__, "%s == %s: got %llu, expected %llu", \
                    #actual, #expected, a_, e_);                             \
    } while (0)

#define CHECK_STR(actual, expected)                                             \
    do {                                                                        \
        const char *a_ = (actual), *e_ = (expected);                            \
        atomic_fetch_add(&et_checks, 1);                                        \
        if (a_ == NULL || strcmp(a_, e_) != 0)                                  \
            et_fail(__FILE__, __LINE__, "%s == \"%s\": got %s%s%s", #actual,    \
                    e_, a_ ? "\"" : "", a_ ? a_ : "NULL", a_ ? "\"" : "");      \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                       \
    do {                                                                       \
        const char *h_ = (haystack), *n_ = (needle);                           \
        atomic_fetch_add(&et_checks, 1);                                       \
        if (h_ == NULL || strstr(h_, n_) == NULL)                              \
            et_fail(__FILE__, __LINE__, "%s contains \"%s\": got \"%s\"",      \
                    #haystack, n_, h_ ? h_ : "(NULL)");                         \
    } while (0)

/* Checks status == EDDY_OK and that *err was left alone; reports the error. */
static inline bool et_expect_ok(eddy_status st, eddy_error *err, const char *file, int line,
                         const char *call) {
    bool ok = true;
    atomic_fetch_add(&et_checks, 1);
    if (st != EDDY_OK) {
        et_fail(file, line, "%s: got %s (%s)", call, eddy_status_name((int)st),
                err ? eddy_error_message(err) : "no error object");
        ok = false;
    } else if (err != NULL) {
        et_fail(file, line, "%s: EDDY_OK but *err was set", call);
        ok = false;
    }
    eddy_error_free(err);
    return ok;
}

/* Checks status == expected, the error object carries it, and its message
 * contains `needle` (when not NULL). */
static inline bool et_expect_err(eddy_status expected, const char *needle, eddy_status st,
                          eddy_error *err, const char *file, int line, const char *call) {
    bool ok = true;
    atomic_fetch_add(&et_checks, 1);
    if (st != expected) {
        et_fail(file, line, "%s: got %s (%s), expected %s", call, eddy_status_name((int)st),
                err ? eddy_error_message(err) : "no error object",
                eddy_status_name((int)expected));
        ok = false;
    } else if (err == NULL) {
        et_fail(file, line, "%s: %s without an error object", call, eddy_status_name((int)st));
        ok = false;
    } else if (eddy_error_status(err) != (int)expected) {
        et_fail(file, line, "%s: error object says %s", call,
                eddy_status_name(eddy_error_status(err)));
        ok = false;
    } else if (needle != NULL && strstr(eddy_error_message(err), needle) == NULL) {
        et_fail(file, line, "%s: message \"%s\" lacks \"%s\"", call, eddy_error_message(err),
                needle);
        ok = false;
    }
    eddy_error_free(err);
    return ok;
}

/* et_enter() opens a nesting level before the call's arguments (and ERR)
 * are evaluated; the check reads that level's slot and closes it. */
static inline void et_enter(void) {
    if (et_depth + 1 >= ET_MAX_DEPTH) abort();
    et_depth++;
    et_errs[et_depth] = NULL;
}

static inline bool et_leave_ok(eddy_status st, const char *file, int line, const char *call) {
    eddy_error *err = et_errs[et_depth];
    et_errs[et_depth] = NULL;
    et_depth--;
    return et_expect_ok(st, err, file, line, call);
}

static inline bool et_leave_err(eddy_status expected, const char *needle, eddy_status st,
                                const char *file, int line, const char *call) {
    eddy_error *err = et_errs[et_depth];
    et_errs[et_depth] = NULL;
    et_depth--;
    return et_expect_err(expected, needle, st, err, file, line, call);
}

#define EXPECT_OK(call) (et_enter(), et_leave_ok((call), __FILE__, __LINE__, #call))

#define EXPECT_ERR(status, needle, call) \
    (et_enter(), et_leave_err((status), (needle), (call), __FILE__, __LINE__, #call))

#define REQUIRE_OK(call)                                                   \
    do {                                                                   \
        if (!EXPECT_OK(call)) {                                            \
            fprintf(stderr, "%s:%d: stopping: setup call failed\n",        \
                    __FILE__, __LINE__);                                   \
            exit(1);                                                       \
        }                                                                  \
    } while (0)

static inline int et_finish(const char *name) {
    int checks = atomic_load(&et_checks), failed = atomic_load(&et_failed);
    printf("%s: %d checks, %d failed\n", name, checks, failed);
    fflush(stdout);
    return failed == 0 && checks > 0 ? 0 : 1;
}

/* ---- small utilities --------------------------------------------------- */

static inline int64_t et_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void et_sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* EDDY_TEST_ENGINE_OPTIONS (e.g. "worker=caller") is added to every test
 * engine's options: the suites run once per way of running the dataflow. */
static inline eddy_engine *et_open(const char *options) {
    eddy_engine *e = NULL;
    const char *extra = getenv("EDDY_TEST_ENGINE_OPTIONS");
    char buf[1024];
    if (extra && *extra) {
        int n = snprintf(buf, sizeof buf, "%s;%s", options ? options : "", extra);
        REQUIRE(n > 0 && (size_t)n < sizeof buf);
        options = buf;
    }
    REQUIRE_OK(eddy_engine_open(options, &e, ERR));
    REQUIRE(e != NULL);
    return e;
}

#define ET_EXEC(engine, sql) REQUIRE_OK(eddy_engine_execute((engine), (sql), ERR))

/* Reads counter `key` of stream `stream` from eddy_engine_stats_json; -1 when
 * not found. The JSON has one object per stream: {"name":"S",...,"key":N,...}. */
static inline long long et_stream_stat(eddy_engine *e, const char *stream, const char *key) {
    char *json = NULL;
    char pat[256];
    long long v = -1;
    if (!EXPECT_OK(eddy_engine_stats_json(e, &json, ERR)) || json == NULL) return -1;
    snprintf(pat, sizeof pat, "{\"name\":\"%s\",", stream);
    const char *obj = strstr(json, pat);
    if (obj != NULL) {
        const char *end = strchr(obj, '}');
        snprintf(pat, sizeof pat, "\"%s\":", key);
        const char *k = strstr(obj, pat);
        if (k != NULL && (end == NULL || k < end)) v = strtoll(k + strlen(pat), NULL, 10);
    }
    if (v < 0) fprintf(stderr, "stats: no %s.%s in %s\n", stream, key, json);
    eddy_string_free(json);
    return v;
}

#endif /* EDDY_TEST_H */
