/*
 * JNI glue between dev.eddy.Native and the eddy C ABI (include/eddy.h).
 *
 * libeddy is not linked: Native.init() names the file to load and the glue
 * dlopen()s it and resolves every function with dlsym. That keeps the choice
 * of library (EDDY_LIB, -Deddy.library, java.library.path, the system
 * search path) in Java, where it can be reported, and lets this glue be built
 * from eddy.h alone. The function pointer types are taken from the eddy.h
 * declarations with __typeof__, so the header stays the one contract.
 *
 * Conventions:
 *  - handles travel as jlong; Java guarantees they are live (dev.eddy.Handle);
 *  - strings going in are UTF-8 byte[] (NUL-terminated by Java when eddy
 *    needs a C string), except Input.setString(String), converted here so
 *    the hot path allocates nothing on the Java heap;
 *  - a failed call throws dev.eddy.EddyException(status, UTF-8 message);
 *  - Arrow structs are passed as addresses of Arrow Java's ArrowArray /
 *    ArrowSchema allocations.
 */
#include <dlfcn.h>
#include <jni.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eddy.h"

#define EDDY_FUNCTIONS(X)          \
    X(eddy_version_number)         \
    X(eddy_version_string)         \
    X(eddy_status_name)            \
    X(eddy_error_status)           \
    X(eddy_error_message)          \
    X(eddy_error_free)             \
    X(eddy_string_free)            \
    X(eddy_batch_export_arrow)     \
    X(eddy_engine_open)            \
    X(eddy_engine_execute)         \
    X(eddy_engine_flush)           \
    X(eddy_engine_poll)            \
    X(eddy_engine_advance_time)    \
    X(eddy_engine_stats_json)      \
    X(eddy_engine_close)           \
    X(eddy_engine_free)            \
    X(eddy_engine_stream_schema)   \
    X(eddy_input_open)             \
    X(eddy_input_num_columns)      \
    X(eddy_input_column_index)     \
    X(eddy_input_column_type)      \
    X(eddy_input_begin_row)        \
    X(eddy_input_abort_row)        \
    X(eddy_input_set_null)         \
    X(eddy_input_set_bool)         \
    X(eddy_input_set_i32)          \
    X(eddy_input_set_i64)          \
    X(eddy_input_set_f32)          \
    X(eddy_input_set_f64)          \
    X(eddy_input_set_str)          \
    X(eddy_input_end_row)          \
    X(eddy_input_push_arrow)       \
    X(eddy_input_close)            \
    X(eddy_input_watermark)        \
    X(eddy_input_free)             \
    X(eddy_subscribe)              \
    X(eddy_subscription_next)      \
    X(eddy_subscription_set_callback) \
    X(eddy_subscription_num_columns)  \
    X(eddy_subscription_free)

static struct {
#define EDDY_FIELD(name) __typeof__(&name) name;
    EDDY_FUNCTIONS(EDDY_FIELD)
#undef EDDY_FIELD
} fn;

static void *lib_handle;
static JavaVM *jvm;
static jclass exception_class;      /* dev.eddy.EddyException */
static jmethodID exception_ctor;    /* (I[B)V */
static jmethodID deliver_method;    /* dev.eddy.Subscription$Dispatcher.deliver(J)V */

/* ---- helpers --------------------------------------------------------------- */

static jbyteArray utf8_bytes(JNIEnv *env, const char *s, size_t len) {
    jbyteArray out = (*env)->NewByteArray(env, (jsize)len);
    if (out != NULL && len > 0) (*env)->SetByteArrayRegion(env, out, 0, (jsize)len, (const jbyte *)s);
    return out;
}

static void throw_eddy(JNIEnv *env, int status, const char *message) {
    if ((*env)->ExceptionCheck(env)) return; /* keep the first failure */
    jbyteArray msg = utf8_bytes(env, message, strlen(message));
    if (msg == NULL) return; /* OutOfMemoryError pending */
    jobject ex = (*env)->NewObject(env, exception_class, exception_ctor, (jint)status, msg);
    if (ex != NULL) (*env)->Throw(env, (jthrowable)ex);
}

/* Throws for a failed call and frees its error. Returns 1 when it threw. */
static int check(JNIEnv *env, eddy_status st, eddy_error *err) {
    if (st == EDDY_OK) return 0;
    const char *msg = err != NULL ? fn.eddy_error_message(err) : fn.eddy_status_name((int)st);
    throw_eddy(env, (int)st, msg);
    fn.eddy_error_free(err);
    return 1;
}

static void throw_class(JNIEnv *env, const char *cls, const char *msg) {
    if ((*env)->ExceptionCheck(env)) return;
    jclass c = (*env)->FindClass(env, cls);
    if (c != NULL) (*env)->ThrowNew(env, c, msg);
}

/* A malloc'ed copy of a NUL-terminated UTF-8 byte[] (NULL for a NULL array).
 * *ok is 0 when an exception is pending. */
static char *c_string(JNIEnv *env, jbyteArray bytes, int *ok) {
    *ok = 1;
    if (bytes == NULL) return NULL;
    jsize n = (*env)->GetArrayLength(env, bytes);
    char *s = (char *)malloc((size_t)n + 1);
    if (s == NULL) {
        throw_class(env, "java/lang/OutOfMemoryError", "eddy: native allocation failed");
        *ok = 0;
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, bytes, 0, n, (jbyte *)s);
    s[n] = '\0';
    return s;
}

#define HANDLE(T, h) ((T *)(intptr_t)(h))

/* ---- Arrow offsets ------------------------------------------------------------
 *
 * Arrow Java's importer (arrow-c-data 18) ignores ArrowArray.offset, takes
 * each child's own length for the column's, and sizes a string's data from
 * its first offset as if that were 0: all three are things the C Data
 * Interface lets a producer do. Rather than risk reading the wrong rows, such
 * a batch is rewritten here into an equivalent one with offset 0: value
 * buffers are re-pointed, string offsets and unaligned bitmaps are copied
 * (never the value data). Batches that need nothing (all of eddy's today)
 * are passed through untouched.
 */

typedef struct {
    struct ArrowArray original; /* moved here; released with the wrapper */
    struct ArrowArray *children;
    struct ArrowArray **child_ptrs;
    const void **buffers; /* 3 slots per child + 1 for the struct */
    void **owned;         /* copies to free */
    int64_t n_owned;
} norm_holder;

static void norm_release_child(struct ArrowArray *a) { a->release = NULL; }

static void norm_release(struct ArrowArray *a) {
    norm_holder *h = (norm_holder *)a->private_data;
    for (int64_t i = 0; i < h->n_owned; i++) free(h->owned[i]);
    if (h->original.release != NULL) h->original.release(&h->original);
    free(h->owned);
    free(h->buffers);
    free(h->child_ptrs);
    free(h->children);
    free(h);
    a->release = NULL;
}

static int64_t fixed_width(const char *format) {
    if (strcmp(format, "b") == 0) return -1; /* bit-packed */
    if (strcmp(format, "c") == 0 || strcmp(format, "C") == 0) return 1;
    if (strcmp(format, "s") == 0 || strcmp(format, "S") == 0 || strcmp(format, "e") == 0) return 2;
    if (strcmp(format, "i") == 0 || strcmp(format, "I") == 0 || strcmp(format, "f") == 0 ||
        strcmp(format, "tdD") == 0 || strcmp(format, "tts") == 0 || strcmp(format, "ttm") == 0)
        return 4;
    if (strcmp(format, "l") == 0 || strcmp(format, "L") == 0 || strcmp(format, "g") == 0 ||
        strcmp(format, "tdm") == 0 || strcmp(format, "ttu") == 0 || strcmp(format, "ttn") == 0 ||
        strncmp(format, "ts", 2) == 0 || strncmp(format, "tD", 2) == 0)
        return 8;
    return 0;
}

static int is_utf8(const char *f) { return strcmp(f, "u") == 0 || strcmp(f, "z") == 0; }
static int is_large_utf8(const char *f) { return strcmp(f, "U") == 0 || strcmp(f, "Z") == 0; }

/* Whether child `c` (at logical offset `off`) must be rewritten. */
static int child_needs_rewrite(const struct ArrowArray *c, const struct ArrowSchema *s, int64_t off) {
    if (off != 0) return 1;
    if (c->length > 0 && c->n_buffers >= 2 && c->buffers[1] != NULL) {
        if (is_utf8(s->format) && ((const int32_t *)c->buffers[1])[0] != 0) return 1;
        if (is_large_utf8(s->format) && ((const int64_t *)c->buffers[1])[0] != 0) return 1;
    }
    return 0;
}

/* A copy of `n` bits starting at bit `off` of `bits`, or NULL (no memory). */
static uint8_t *copy_bits(const uint8_t *bits, int64_t off, int64_t n) {
    size_t bytes = (size_t)((n + 7) / 8);
    uint8_t *out = (uint8_t *)calloc(bytes > 0 ? bytes : 1, 1);
    if (out == NULL) return NULL;
    for (int64_t i = 0; i < n; i++) {
        int64_t j = off + i;
        if ((bits[j / 8] >> (j % 8)) & 1) out[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    return out;
}

/* Remembers an allocation of the holder; frees `p` and fails when full. */
static int own(norm_holder *h, void *p, int64_t cap) {
    if (p == NULL || h->n_owned >= cap) {
        free(p);
        return 0;
    }
    h->owned[h->n_owned++] = p;
    return 1;
}

/* Rewrites the struct array at `a` (described by `s`) in place when it needs
 * it. Returns NULL on success, else a message (the array is left as it was). */
static const char *normalize_batch(struct ArrowArray *a, const struct ArrowSchema *s) {
    if (a->release == NULL || a->n_children != s->n_children) return "malformed result batch";
    int need = a->offset != 0;
    for (int64_t i = 0; i < a->n_children && !need; i++)
        need = a->children[i]->length != a->length ||
               child_needs_rewrite(a->children[i], s->children[i], a->offset + a->children[i]->offset);
    if (!need) return NULL;

    int64_t n = a->n_children;
    /* At most two copies per child: its validity and its values/offsets. */
    int64_t cap = 2 * n;
    norm_holder *h = (norm_holder *)calloc(1, sizeof *h);
    if (h == NULL) return "out of memory";
    h->children = (struct ArrowArray *)calloc((size_t)(n > 0 ? n : 1), sizeof *h->children);
    h->child_ptrs = (struct ArrowArray **)calloc((size_t)(n > 0 ? n : 1), sizeof *h->child_ptrs);
    h->buffers = (const void **)calloc((size_t)(3 * n + 1), sizeof *h->buffers);
    h->owned = (void **)calloc((size_t)(cap > 0 ? cap : 1), sizeof *h->owned);
    const char *fail = NULL;
    if (h->children == NULL || h->child_ptrs == NULL || h->buffers == NULL || h->owned == NULL) {
        fail = "out of memory";
        goto error;
    }

    for (int64_t i = 0; i < n; i++) {
        const struct ArrowArray *src = a->children[i];
        const char *format = s->children[i]->format;
        struct ArrowArray *dst = &h->children[i];
        const void **bufs = &h->buffers[3 * i];
        int64_t off = a->offset + src->offset, len = a->length;
        if (src->length < a->offset + a->length) {
            fail = "result column shorter than its batch";
            goto error;
        }
        if (src->n_children != 0 || src->dictionary != NULL || src->n_buffers > 3) {
            fail = "nested or dictionary column with an offset is not supported";
            goto error;
        }
        *dst = *src;
        dst->offset = 0;
        dst->length = len;
        dst->buffers = bufs;
        dst->release = norm_release_child;
        dst->private_data = NULL;
        for (int64_t b = 0; b < src->n_buffers; b++) bufs[b] = src->buffers[b];
        int has_validity = src->n_buffers > 0 && src->buffers[0] != NULL;
        /* A window narrower than the child may hold fewer nulls: let Arrow
         * Java count them from the bitmap. */
        if (has_validity && (off != src->offset || len != src->length)) dst->null_count = -1;
        if (!child_needs_rewrite(src, s->children[i], off)) {
            h->child_ptrs[i] = dst;
            continue;
        }
        /* Validity. */
        if (has_validity) {
            if (off % 8 == 0) {
                bufs[0] = (const uint8_t *)src->buffers[0] + off / 8;
            } else {
                uint8_t *v = copy_bits((const uint8_t *)src->buffers[0], off, len);
                if (!own(h, v, cap)) {
                    fail = "out of memory";
                    goto error;
                }
                bufs[0] = v;
            }
        }
        int64_t w = fixed_width(format);
        if (w > 0) {
            bufs[1] = (const uint8_t *)src->buffers[1] + off * w;
        } else if (w < 0) {
            if (off % 8 == 0) {
                bufs[1] = (const uint8_t *)src->buffers[1] + off / 8;
            } else {
                uint8_t *v = copy_bits((const uint8_t *)src->buffers[1], off, len);
                if (!own(h, v, cap)) {
                    fail = "out of memory";
                    goto error;
                }
                bufs[1] = v;
            }
        } else if (is_utf8(format)) {
            const int32_t *o = (const int32_t *)src->buffers[1] + off;
            int32_t *copy = (int32_t *)malloc((size_t)(len + 1) * sizeof *copy);
            if (!own(h, copy, cap)) {
                fail = "out of memory";
                goto error;
            }
            for (int64_t r = 0; r <= len; r++) copy[r] = o[r] - o[0];
            bufs[1] = copy;
            bufs[2] = (const char *)src->buffers[2] + o[0];
        } else if (is_large_utf8(format)) {
            const int64_t *o = (const int64_t *)src->buffers[1] + off;
            int64_t *copy = (int64_t *)malloc((size_t)(len + 1) * sizeof *copy);
            if (!own(h, copy, cap)) {
                fail = "out of memory";
                goto error;
            }
            for (int64_t r = 0; r <= len; r++) copy[r] = o[r] - o[0];
            bufs[1] = copy;
            bufs[2] = (const char *)src->buffers[2] + o[0];
        } else {
            fail = "a column of this Arrow type with an offset is not supported";
            goto error;
        }
        h->child_ptrs[i] = dst;
    }

    h->original = *a;
    h->buffers[3 * n] = NULL; /* a record batch has no struct-level nulls */
    a->length = h->original.length;
    a->null_count = 0;
    a->offset = 0;
    a->n_buffers = 1;
    a->buffers = &h->buffers[3 * n];
    a->children = h->child_ptrs;
    a->dictionary = NULL;
    a->release = norm_release;
    a->private_data = h;
    return NULL;

error:
    for (int64_t i = 0; i < h->n_owned; i++) free(h->owned[i]);
    free(h->owned);
    free(h->buffers);
    free(h->child_ptrs);
    free(h->children);
    free(h);
    return fail;
}

/* After an export: normalizes, or releases both structs and throws. */
static int finish_export(JNIEnv *env, struct ArrowArray *a, struct ArrowSchema *s) {
    const char *why = normalize_batch(a, s);
    if (why == NULL) return 1;
    if (a->release != NULL) a->release(a);
    if (s->release != NULL) s->release(s);
    char msg[256];
    snprintf(msg, sizeof msg, "eddy Java binding: cannot import a result batch: %s", why);
    throw_eddy(env, EDDY_ERR_INTERNAL, msg);
    return 0;
}

/* ---- loading ------------------------------------------------------------------ */

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved) {
    (void)reserved;
    JNIEnv *env;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK) return JNI_ERR;
    jvm = vm;
    jclass c = (*env)->FindClass(env, "dev/eddy/EddyException");
    if (c == NULL) return JNI_ERR;
    exception_class = (jclass)(*env)->NewGlobalRef(env, c);
    exception_ctor = (*env)->GetMethodID(env, c, "<init>", "(I[B)V");
    jclass d = (*env)->FindClass(env, "dev/eddy/Subscription$Dispatcher");
    if (d == NULL) return JNI_ERR;
    deliver_method = (*env)->GetMethodID(env, d, "deliver", "(J)V");
    if (exception_class == NULL || exception_ctor == NULL || deliver_method == NULL) return JNI_ERR;
    return JNI_VERSION_1_8;
}

/* Loads libeddy from `path` (UTF-8, NUL-terminated); throws
 * UnsatisfiedLinkError naming what failed. Called once, by Native's static
 * initializer. */
JNIEXPORT void JNICALL Java_dev_eddy_Native_init(JNIEnv *env, jclass cls, jbyteArray path_bytes) {
    (void)cls;
    int ok;
    char *path = c_string(env, path_bytes, &ok);
    if (!ok) return;
    char msg[1024];
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        snprintf(msg, sizeof msg, "cannot load libeddy from '%s': %s", path, dlerror());
        free(path);
        throw_class(env, "java/lang/UnsatisfiedLinkError", msg);
        return;
    }
#define EDDY_RESOLVE(name)                                                                  \
    *(void **)&fn.name = dlsym(h, #name);                                                   \
    if (fn.name == NULL) {                                                                  \
        snprintf(msg, sizeof msg, "'%s' has no symbol " #name ": not a compatible libeddy", \
                 path);                                                                     \
        goto fail;                                                                          \
    }
    EDDY_FUNCTIONS(EDDY_RESOLVE)
#undef EDDY_RESOLVE
    {
        /* 0.x: a minor release may break the ABI, so the minor must match. */
        uint32_t v = fn.eddy_version_number();
        if (v / 1000000 != EDDY_VERSION_MAJOR || (v / 1000) % 1000 != EDDY_VERSION_MINOR) {
            snprintf(msg, sizeof msg,
                     "'%s' is libeddy %s, but this binding was built for %d.%d.x (eddy.h)", path,
                     fn.eddy_version_string(), EDDY_VERSION_MAJOR, EDDY_VERSION_MINOR);
            goto fail;
        }
    }
    lib_handle = h;
    free(path);
    return;
fail:
    memset(&fn, 0, sizeof fn);
    dlclose(h);
    free(path);
    throw_class(env, "java/lang/UnsatisfiedLinkError", msg);
}

JNIEXPORT jint JNICALL Java_dev_eddy_Native_headerVersion(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return EDDY_VERSION_MAJOR * 1000000 + EDDY_VERSION_MINOR * 1000 + EDDY_VERSION_PATCH;
}

JNIEXPORT jint JNICALL Java_dev_eddy_Native_versionNumber(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return (jint)fn.eddy_version_number();
}

JNIEXPORT jstring JNICALL Java_dev_eddy_Native_versionString(JNIEnv *env, jclass cls) {
    (void)cls;
    return (*env)->NewStringUTF(env, fn.eddy_version_string()); /* ASCII digits and dots */
}

JNIEXPORT jstring JNICALL Java_dev_eddy_Native_statusName(JNIEnv *env, jclass cls, jint status) {
    (void)cls;
    return (*env)->NewStringUTF(env, fn.eddy_status_name((int)status)); /* ASCII */
}

/* ---- engine -------------------------------------------------------------------- */

JNIEXPORT jlong JNICALL Java_dev_eddy_Native_engineOpen(JNIEnv *env, jclass cls, jbyteArray options) {
    (void)cls;
    int ok;
    char *opts = c_string(env, options, &ok);
    if (!ok) return 0;
    eddy_engine *e = NULL;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_engine_open(opts, &e, &err);
    free(opts);
    if (check(env, st, err)) return 0;
    return (jlong)(intptr_t)e;
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_engineExecute(JNIEnv *env, jclass cls, jlong h, jbyteArray sql) {
    (void)cls;
    int ok;
    char *s = c_string(env, sql, &ok);
    if (!ok) return;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_engine_execute(HANDLE(eddy_engine, h), s, &err);
    free(s);
    check(env, st, err);
}

/* Returns false on EDDY_ERR_TIMEOUT, so waiting is not an exception. */
JNIEXPORT jboolean JNICALL Java_dev_eddy_Native_engineFlush(JNIEnv *env, jclass cls, jlong h, jint timeout) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_engine_flush(HANDLE(eddy_engine, h), (int32_t)timeout, &err);
    if (st == EDDY_ERR_TIMEOUT) {
        fn.eddy_error_free(err);
        return JNI_FALSE;
    }
    return check(env, st, err) ? JNI_FALSE : JNI_TRUE;
}

JNIEXPORT jlong JNICALL Java_dev_eddy_Native_enginePoll(JNIEnv *env, jclass cls, jlong h, jint timeout) {
    (void)cls;
    eddy_error *err = NULL;
    size_t delivered = 0;
    eddy_status st = fn.eddy_engine_poll(HANDLE(eddy_engine, h), (int32_t)timeout, &delivered, &err);
    if (check(env, st, err)) return 0;
    return (jlong)delivered;
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_engineAdvanceTime(JNIEnv *env, jclass cls, jlong h, jlong now) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_engine_advance_time(HANDLE(eddy_engine, h), (int64_t)now, &err);
    check(env, st, err);
}

JNIEXPORT jbyteArray JNICALL Java_dev_eddy_Native_engineStatsJson(JNIEnv *env, jclass cls, jlong h) {
    (void)cls;
    eddy_error *err = NULL;
    char *json = NULL;
    eddy_status st = fn.eddy_engine_stats_json(HANDLE(eddy_engine, h), &json, &err);
    if (check(env, st, err)) return NULL;
    jbyteArray out = utf8_bytes(env, json, strlen(json));
    fn.eddy_string_free(json);
    return out;
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_engineClose(JNIEnv *env, jclass cls, jlong h) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_engine_close(HANDLE(eddy_engine, h), &err);
    check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_engineFree(JNIEnv *env, jclass cls, jlong h) {
    (void)env;
    (void)cls;
    fn.eddy_engine_free(HANDLE(eddy_engine, h));
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_engineStreamSchema(JNIEnv *env, jclass cls, jlong h,
                                                              jbyteArray stream, jlong schema) {
    (void)cls;
    int ok;
    char *s = c_string(env, stream, &ok);
    if (!ok) return;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_engine_stream_schema(HANDLE(eddy_engine, h), s,
                                                  HANDLE(struct ArrowSchema, schema), &err);
    free(s);
    check(env, st, err);
}

/* ---- input ---------------------------------------------------------------------- */

JNIEXPORT jlong JNICALL Java_dev_eddy_Native_inputOpen(JNIEnv *env, jclass cls, jlong engine, jbyteArray stream) {
    (void)cls;
    int ok;
    char *s = c_string(env, stream, &ok);
    if (!ok) return 0;
    eddy_input *in = NULL;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_open(HANDLE(eddy_engine, engine), s, &in, &err);
    free(s);
    if (check(env, st, err)) return 0;
    return (jlong)(intptr_t)in;
}

JNIEXPORT jint JNICALL Java_dev_eddy_Native_inputNumColumns(JNIEnv *env, jclass cls, jlong h) {
    (void)env;
    (void)cls;
    return (jint)fn.eddy_input_num_columns(HANDLE(eddy_input, h));
}

JNIEXPORT jint JNICALL Java_dev_eddy_Native_inputColumnType(JNIEnv *env, jclass cls, jlong h, jint col) {
    (void)env;
    (void)cls;
    return (jint)fn.eddy_input_column_type(HANDLE(eddy_input, h), (uint32_t)col);
}

JNIEXPORT jint JNICALL Java_dev_eddy_Native_inputColumnIndex(JNIEnv *env, jclass cls, jlong h, jbyteArray name) {
    (void)cls;
    int ok;
    char *s = c_string(env, name, &ok);
    if (!ok) return -1;
    uint32_t idx = 0;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_column_index(HANDLE(eddy_input, h), s, &idx, &err);
    free(s);
    if (check(env, st, err)) return -1;
    return (jint)idx;
}

/* The per-row calls: one eddy call each, nothing allocated. */

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputBeginRow(JNIEnv *env, jclass cls, jlong h) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_begin_row(HANDLE(eddy_input, h), &err);
    if (st != EDDY_OK) check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputAbortRow(JNIEnv *env, jclass cls, jlong h) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_abort_row(HANDLE(eddy_input, h), &err);
    if (st != EDDY_OK) check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputWatermark(JNIEnv *env, jclass cls, jlong h, jlong ts) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_watermark(HANDLE(eddy_input, h), (int64_t)ts, &err);
    if (st != EDDY_OK) check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputEndRow(JNIEnv *env, jclass cls, jlong h) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_end_row(HANDLE(eddy_input, h), &err);
    if (st != EDDY_OK) check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputSetNull(JNIEnv *env, jclass cls, jlong h, jint col) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_set_null(HANDLE(eddy_input, h), (uint32_t)col, &err);
    if (st != EDDY_OK) check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputSetBool(JNIEnv *env, jclass cls, jlong h, jint col, jboolean v) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_set_bool(HANDLE(eddy_input, h), (uint32_t)col, v == JNI_TRUE, &err);
    if (st != EDDY_OK) check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputSetI32(JNIEnv *env, jclass cls, jlong h, jint col, jint v) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_set_i32(HANDLE(eddy_input, h), (uint32_t)col, (int32_t)v, &err);
    if (st != EDDY_OK) check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputSetI64(JNIEnv *env, jclass cls, jlong h, jint col, jlong v) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_set_i64(HANDLE(eddy_input, h), (uint32_t)col, (int64_t)v, &err);
    if (st != EDDY_OK) check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputSetF32(JNIEnv *env, jclass cls, jlong h, jint col, jfloat v) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_set_f32(HANDLE(eddy_input, h), (uint32_t)col, (float)v, &err);
    if (st != EDDY_OK) check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputSetF64(JNIEnv *env, jclass cls, jlong h, jint col, jdouble v) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_set_f64(HANDLE(eddy_input, h), (uint32_t)col, (double)v, &err);
    if (st != EDDY_OK) check(env, st, err);
}

/* UTF-16 (Java) to UTF-8; an unpaired surrogate becomes '?', as in
 * String.getBytes(UTF_8). `out` holds at least 3 bytes per UTF-16 unit. */
static size_t utf16_to_utf8(const jchar *in, jsize n, char *out) {
    size_t o = 0;
    for (jsize i = 0; i < n; i++) {
        uint32_t c = in[i];
        if (c < 0x80) {
            out[o++] = (char)c;
        } else if (c < 0x800) {
            out[o++] = (char)(0xC0 | (c >> 6));
            out[o++] = (char)(0x80 | (c & 0x3F));
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            if (c <= 0xDBFF && i + 1 < n && in[i + 1] >= 0xDC00 && in[i + 1] <= 0xDFFF) {
                uint32_t cp = 0x10000 + ((c - 0xD800) << 10) + (in[i + 1] - 0xDC00);
                i++;
                out[o++] = (char)(0xF0 | (cp >> 18));
                out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[o++] = (char)(0x80 | (cp & 0x3F));
            } else {
                out[o++] = '?';
            }
        } else {
            out[o++] = (char)(0xE0 | (c >> 12));
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    return o;
}

#define STACK_CHARS 256

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputSetString(JNIEnv *env, jclass cls, jlong h, jint col, jstring s) {
    (void)cls;
    jsize n = (*env)->GetStringLength(env, s);
    jchar stack_in[STACK_CHARS];
    char stack_out[3 * STACK_CHARS];
    jchar *in = stack_in;
    char *out = stack_out;
    if (n > STACK_CHARS) {
        in = (jchar *)malloc((size_t)n * sizeof *in);
        out = (char *)malloc((size_t)n * 3);
        if (in == NULL || out == NULL) {
            free(in);
            free(out);
            throw_class(env, "java/lang/OutOfMemoryError", "eddy: native allocation failed");
            return;
        }
    }
    (*env)->GetStringRegion(env, s, 0, n, in);
    size_t len = utf16_to_utf8(in, n, out);
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_set_str(HANDLE(eddy_input, h), (uint32_t)col, out, len, &err);
    if (in != stack_in) {
        free(in);
        free(out);
    }
    if (st != EDDY_OK) check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputSetUtf8(JNIEnv *env, jclass cls, jlong h, jint col,
                                                        jbyteArray bytes, jint off, jint len) {
    (void)cls;
    /* Java checked off/len against the array. set_str only copies the bytes:
     * short enough for a critical section. */
    jbyte *p = (jbyte *)(*env)->GetPrimitiveArrayCritical(env, bytes, NULL);
    if (p == NULL) return;
    eddy_error *err = NULL;
    eddy_status st =
        fn.eddy_input_set_str(HANDLE(eddy_input, h), (uint32_t)col, (const char *)p + off, (size_t)len, &err);
    (*env)->ReleasePrimitiveArrayCritical(env, bytes, p, JNI_ABORT);
    if (st != EDDY_OK) check(env, st, err);
}

/* Tags of a row encoded by Input.append (dev.eddy.Input.TAG_*): each value is
 * u32 column, u8 tag, then the payload in native byte order. */
enum { TAG_NULL = 0, TAG_BOOL = 1, TAG_I32 = 2, TAG_I64 = 3, TAG_F32 = 4, TAG_F64 = 5, TAG_STR = 6 };

/* One whole row in one JNI call: begin_row, a setter per value, end_row. Any
 * failure discards the row (abort_row) and throws. */
JNIEXPORT void JNICALL Java_dev_eddy_Native_inputAppendRow(JNIEnv *env, jclass cls, jlong h, jobject buffer,
                                                          jint len) {
    (void)cls;
    const unsigned char *p = (const unsigned char *)(*env)->GetDirectBufferAddress(env, buffer);
    if (p == NULL) {
        throw_eddy(env, EDDY_ERR_INTERNAL, "eddy Java binding: row buffer is not direct");
        return;
    }
    const unsigned char *end = p + len;
    eddy_input *in = HANDLE(eddy_input, h);
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_begin_row(in, &err);
    if (st != EDDY_OK) {
        check(env, st, err);
        return;
    }
    while (st == EDDY_OK && p < end) {
        uint32_t col;
        memcpy(&col, p, sizeof col);
        unsigned char tag = p[4];
        p += 5;
        switch (tag) {
            case TAG_NULL:
                st = fn.eddy_input_set_null(in, col, &err);
                break;
            case TAG_BOOL:
                st = fn.eddy_input_set_bool(in, col, *p != 0, &err);
                p += 1;
                break;
            case TAG_I32: {
                int32_t v;
                memcpy(&v, p, sizeof v);
                p += sizeof v;
                st = fn.eddy_input_set_i32(in, col, v, &err);
                break;
            }
            case TAG_I64: {
                int64_t v;
                memcpy(&v, p, sizeof v);
                p += sizeof v;
                st = fn.eddy_input_set_i64(in, col, v, &err);
                break;
            }
            case TAG_F32: {
                float v;
                memcpy(&v, p, sizeof v);
                p += sizeof v;
                st = fn.eddy_input_set_f32(in, col, v, &err);
                break;
            }
            case TAG_F64: {
                double v;
                memcpy(&v, p, sizeof v);
                p += sizeof v;
                st = fn.eddy_input_set_f64(in, col, v, &err);
                break;
            }
            case TAG_STR: {
                uint32_t n;
                memcpy(&n, p, sizeof n);
                p += sizeof n;
                st = fn.eddy_input_set_str(in, col, (const char *)p, n, &err);
                p += n;
                break;
            }
            default:
                fn.eddy_input_abort_row(in, NULL);
                throw_eddy(env, EDDY_ERR_INTERNAL, "eddy Java binding: corrupt encoded row");
                return;
        }
    }
    if (st == EDDY_OK) st = fn.eddy_input_end_row(in, &err);
    if (st != EDDY_OK) {
        fn.eddy_input_abort_row(in, NULL); /* no-op if end_row already closed it */
        check(env, st, err);
    }
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputPushArrow(JNIEnv *env, jclass cls, jlong h, jlong array,
                                                          jlong schema) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_push_arrow(HANDLE(eddy_input, h), HANDLE(struct ArrowArray, array),
                                              HANDLE(const struct ArrowSchema, schema), &err);
    check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputClose(JNIEnv *env, jclass cls, jlong h) {
    (void)cls;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_input_close(HANDLE(eddy_input, h), &err);
    check(env, st, err);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_inputFree(JNIEnv *env, jclass cls, jlong h) {
    (void)env;
    (void)cls;
    fn.eddy_input_free(HANDLE(eddy_input, h));
}

/* ---- subscription ------------------------------------------------------------------ */

JNIEXPORT jlong JNICALL Java_dev_eddy_Native_subscribe(JNIEnv *env, jclass cls, jlong engine, jbyteArray stream) {
    (void)cls;
    int ok;
    char *s = c_string(env, stream, &ok);
    if (!ok) return 0;
    eddy_subscription *sub = NULL;
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_subscribe(HANDLE(eddy_engine, engine), s, &sub, &err);
    free(s);
    if (check(env, st, err)) return 0;
    return (jlong)(intptr_t)sub;
}

JNIEXPORT jint JNICALL Java_dev_eddy_Native_subscriptionNumColumns(JNIEnv *env, jclass cls, jlong h) {
    (void)env;
    (void)cls;
    return (jint)fn.eddy_subscription_num_columns(HANDLE(eddy_subscription, h));
}

/* Returns false on EDDY_ERR_TIMEOUT; throws on anything else but OK. */
JNIEXPORT jboolean JNICALL Java_dev_eddy_Native_subscriptionNext(JNIEnv *env, jclass cls, jlong h, jint timeout,
                                                                jlong array, jlong schema) {
    (void)cls;
    struct ArrowArray *a = HANDLE(struct ArrowArray, array);
    struct ArrowSchema *s = HANDLE(struct ArrowSchema, schema);
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_subscription_next(HANDLE(eddy_subscription, h), (int32_t)timeout, a, s, &err);
    if (st == EDDY_ERR_TIMEOUT) {
        fn.eddy_error_free(err);
        return JNI_FALSE;
    }
    if (check(env, st, err)) return JNI_FALSE;
    return finish_export(env, a, s) ? JNI_TRUE : JNI_FALSE;
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_batchExport(JNIEnv *env, jclass cls, jlong batch, jlong array,
                                                       jlong schema) {
    (void)cls;
    struct ArrowArray *a = HANDLE(struct ArrowArray, array);
    struct ArrowSchema *s = HANDLE(struct ArrowSchema, schema);
    eddy_error *err = NULL;
    eddy_status st = fn.eddy_batch_export_arrow(HANDLE(const eddy_batch, batch), a, s, &err);
    if (check(env, st, err)) return;
    finish_export(env, a, s);
}

/* Test hook: the same rewrite every result batch goes through. */
JNIEXPORT void JNICALL Java_dev_eddy_Native_normalizeBatch(JNIEnv *env, jclass cls, jlong array, jlong schema) {
    (void)cls;
    finish_export(env, HANDLE(struct ArrowArray, array), HANDLE(struct ArrowSchema, schema));
}

/* The callback's user data: a global reference to the Java dispatcher. */
typedef struct {
    jobject dispatcher;
} callback_data;

static JNIEnv *current_env(int *attached) {
    JNIEnv *env = NULL;
    *attached = 0;
    jint r = (*jvm)->GetEnv(jvm, (void **)&env, JNI_VERSION_1_8);
    if (r == JNI_EDETACHED) {
        if ((*jvm)->AttachCurrentThreadAsDaemon(jvm, (void **)&env, NULL) != JNI_OK) return NULL;
        *attached = 1;
    } else if (r != JNI_OK) {
        return NULL;
    }
    return env;
}

/* Runs inside eddy_engine_poll, on the Java thread that called Engine.poll
 * (docs/c-api.md): the dispatcher catches everything the user's callback
 * throws, so no exception is left pending here unless the JVM itself failed
 * (out of memory), and then poll reports it when it returns. */
static void on_batch(void *user_data, const eddy_batch *batch) {
    callback_data *cd = (callback_data *)user_data;
    int attached;
    JNIEnv *env = current_env(&attached);
    if (env == NULL) return;
    if (!(*env)->ExceptionCheck(env))
        (*env)->CallVoidMethod(env, cd->dispatcher, deliver_method, (jlong)(intptr_t)batch);
    if (attached) (*jvm)->DetachCurrentThread(jvm);
}

/* Runs when the subscription is freed or its callback replaced: on whatever
 * thread does that, a Java one in practice, though a thread eddy owns is
 * handled too. */
static void free_callback(void *user_data) {
    callback_data *cd = (callback_data *)user_data;
    int attached;
    JNIEnv *env = current_env(&attached);
    if (env != NULL) {
        (*env)->DeleteGlobalRef(env, cd->dispatcher);
        if (attached) (*jvm)->DetachCurrentThread(jvm);
    }
    free(cd);
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_subscriptionSetCallback(JNIEnv *env, jclass cls, jlong h,
                                                                   jobject dispatcher) {
    (void)cls;
    eddy_error *err = NULL;
    if (dispatcher == NULL) {
        eddy_status st = fn.eddy_subscription_set_callback(HANDLE(eddy_subscription, h), NULL, NULL, NULL, &err);
        check(env, st, err);
        return;
    }
    callback_data *cd = (callback_data *)malloc(sizeof *cd);
    if (cd == NULL) {
        throw_class(env, "java/lang/OutOfMemoryError", "eddy: native allocation failed");
        return;
    }
    cd->dispatcher = (*env)->NewGlobalRef(env, dispatcher);
    if (cd->dispatcher == NULL) {
        free(cd);
        return;
    }
    eddy_status st =
        fn.eddy_subscription_set_callback(HANDLE(eddy_subscription, h), on_batch, cd, free_callback, &err);
    if (st != EDDY_OK) { /* eddy did not take the user data */
        (*env)->DeleteGlobalRef(env, cd->dispatcher);
        free(cd);
        check(env, st, err);
    }
}

JNIEXPORT void JNICALL Java_dev_eddy_Native_subscriptionFree(JNIEnv *env, jclass cls, jlong h) {
    (void)env;
    (void)cls;
    fn.eddy_subscription_free(HANDLE(eddy_subscription, h));
}
