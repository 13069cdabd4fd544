#include <string.h>

#include "bridge.h"
#include "_cgo_export.h"

int eddy_go_append_row(eddy_input *in, const eddy_go_value *vals, uint32_t n,
                       const char *strs, uint32_t *bad_col, eddy_error **err) {
    int st = eddy_input_begin_row(in, err);
    if (st != EDDY_OK) return st;
    for (uint32_t c = 0; c < n; c++) {
        const eddy_go_value *v = &vals[c];
        switch (v->type) {
        case EDDY_TYPE_INVALID:
            continue;
        case EDDY_TYPE_BOOL:
            st = eddy_input_set_bool(in, c, v->i != 0, err);
            break;
        case EDDY_TYPE_INT:
            st = eddy_input_set_i32(in, c, (int32_t)v->i, err);
            break;
        case EDDY_TYPE_BIGINT:
        case EDDY_TYPE_TIMESTAMP:
            st = eddy_input_set_i64(in, c, v->i, err);
            break;
        case EDDY_TYPE_FLOAT:
            st = eddy_input_set_f32(in, c, (float)v->f, err);
            break;
        case EDDY_TYPE_DOUBLE:
            st = eddy_input_set_f64(in, c, v->f, err);
            break;
        case EDDY_TYPE_STRING:
            /* strs is NULL when every string of the row is empty. */
            st = eddy_input_set_str(in, c, v->len ? strs + v->i : NULL, (size_t)v->len, err);
            break;
        default:
            st = eddy_input_set_null(in, c, err);
            break;
        }
        if (st != EDDY_OK) {
            *bad_col = c;
            eddy_input_abort_row(in, NULL);
            return st;
        }
    }
    return eddy_input_end_row(in, err);
}

static void eddy_go_on_batch(void *user_data, const eddy_batch *batch) {
    struct ArrowArray arr;
    struct ArrowSchema sch;
    memset(&arr, 0, sizeof arr);
    memset(&sch, 0, sizeof sch);
    eddy_error *err = NULL;
    int st = eddy_batch_export_arrow(batch, &arr, &sch, &err);
    if (st == EDDY_OK) eddy_go_track(&arr);
    eddygoDeliver((uintptr_t)user_data, &arr, &sch, st, err);
    /* Go moves the array and releases the schema; this is for its error paths. */
    if (arr.release != NULL) arr.release(&arr);
    if (sch.release != NULL) sch.release(&sch);
}

static void eddy_go_free_user_data(void *user_data) {
    eddygoFreeCallback((uintptr_t)user_data);
}

int eddy_go_set_callback(eddy_subscription *sub, uintptr_t h, eddy_error **err) {
    return eddy_subscription_set_callback(sub, eddy_go_on_batch, (void *)h,
                                          eddy_go_free_user_data, err);
}

typedef struct eddy_go_tracked {
    void (*release)(struct ArrowArray *);
    void *private_data;
} eddy_go_tracked;

static int64_t eddy_go_live;

static void eddy_go_tracked_release(struct ArrowArray *arr) {
    eddy_go_tracked *t = (eddy_go_tracked *)arr->private_data;
    arr->release = t->release;
    arr->private_data = t->private_data;
    free(t);
    arr->release(arr);
    __atomic_fetch_sub(&eddy_go_live, 1, __ATOMIC_RELAXED);
}

void eddy_go_track(struct ArrowArray *arr) {
    if (arr->release == NULL) return;
    eddy_go_tracked *t = (eddy_go_tracked *)malloc(sizeof *t);
    if (t == NULL) return; /* untracked, still released by its producer */
    t->release = arr->release;
    t->private_data = arr->private_data;
    arr->release = eddy_go_tracked_release;
    arr->private_data = t;
    __atomic_fetch_add(&eddy_go_live, 1, __ATOMIC_RELAXED);
}

int64_t eddy_go_live_batches(void) {
    return __atomic_load_n(&eddy_go_live, __ATOMIC_RELAXED);
}

/* Byte length of C Data Interface metadata: an int32 count, then per pair
 * an int32 length and bytes for the key and for the value. */
static size_t metadata_len(const char *m) {
    int32_t n, len;
    size_t off = sizeof n;
    if (m == NULL) return 0;
    memcpy(&n, m, sizeof n);
    for (int32_t i = 0; i < 2 * n; i++) {
        memcpy(&len, m + off, sizeof len);
        off += sizeof len + (size_t)len;
    }
    return off;
}

static size_t sig_put(char *buf, size_t cap, size_t at, const void *p, size_t n) {
    if (at + n <= cap && n > 0) memcpy(buf + at, p, n);
    return at + n;
}

static size_t sig(const struct ArrowSchema *s, char *buf, size_t cap, size_t at) {
    const char *format = s->format ? s->format : "";
    const char *name = s->name ? s->name : "";
    int64_t head[4] = {s->flags, s->n_children, (int64_t)metadata_len(s->metadata),
                       s->dictionary != NULL};
    at = sig_put(buf, cap, at, format, strlen(format) + 1);
    at = sig_put(buf, cap, at, name, strlen(name) + 1);
    at = sig_put(buf, cap, at, head, sizeof head);
    at = sig_put(buf, cap, at, s->metadata, (size_t)head[2]);
    for (int64_t i = 0; i < s->n_children; i++) at = sig(s->children[i], buf, cap, at);
    if (s->dictionary != NULL) at = sig(s->dictionary, buf, cap, at);
    return at;
}

size_t eddy_go_schema_sig(const struct ArrowSchema *s, char *buf, size_t cap) {
    return sig(s, buf, cap, 0);
}
