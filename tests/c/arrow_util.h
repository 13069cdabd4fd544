/*
 * Hand-made Arrow C Data Interface arrays for eddy's C tests, and readers
 * that walk exported arrays buffer by buffer. No Arrow library is used: the
 * point is to check the ABI as a C host sees it.
 *
 * Builders return arrays by value whose release callbacks free everything
 * they own (a struct array releases its children too) and bump an optional
 * counter, so a test can tell that a consumer released an array exactly once.
 */
#ifndef EDDY_ARROW_UTIL_H
#define EDDY_ARROW_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eddy.h"

typedef struct au_private {
    const void *buffers[3];
    void *owned[3];
    struct ArrowArray **children;
    int64_t n_children;
    int *release_count;
} au_private;

static inline void au_release_array(struct ArrowArray *a) {
    au_private *p = (au_private *)a->private_data;
    for (int64_t i = 0; i < p->n_children; i++) {
        struct ArrowArray *c = p->children[i];
        if (c->release != NULL) c->release(c);
        free(c);
    }
    free(p->children);
    for (int i = 0; i < 3; i++) free(p->owned[i]);
    if (p->release_count != NULL) (*p->release_count)++;
    free(p);
    a->release = NULL;
    a->private_data = NULL;
}

static inline void *au_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) abort();
    return p;
}

/* An array over buffers it takes ownership of (each may be NULL). */
static inline struct ArrowArray au_array(int64_t length, int64_t null_count, int n_buffers,
                                         void *b0, void *b1, void *b2, int *release_count) {
    struct ArrowArray a;
    au_private *p = (au_private *)au_xcalloc(1, sizeof *p);
    p->owned[0] = b0;
    p->owned[1] = b1;
    p->owned[2] = b2;
    p->buffers[0] = b0;
    p->buffers[1] = b1;
    p->buffers[2] = b2;
    p->release_count = release_count;
    memset(&a, 0, sizeof a);
    a.length = length;
    a.null_count = null_count;
    a.offset = 0;
    a.n_buffers = n_buffers;
    a.n_children = 0;
    a.buffers = p->buffers;
    a.children = NULL;
    a.dictionary = NULL;
    a.release = au_release_array;
    a.private_data = p;
    return a;
}

/* Validity bitmap from `valid` (NULL: all valid, no bitmap). */
static inline uint8_t *au_bitmap(const bool *valid, int64_t n, int64_t *null_count) {
    *null_count = 0;
    if (valid == NULL) return NULL;
    uint8_t *bits = (uint8_t *)au_xcalloc((size_t)(n + 7) / 8, 1);
    for (int64_t i = 0; i < n; i++) {
        if (valid[i])
            bits[i / 8] |= (uint8_t)(1u << (i % 8));
        else
            (*null_count)++;
    }
    return bits;
}

/* A fixed-width column of `n` values of `width` bytes. */
static inline struct ArrowArray au_fixed(const void *values, size_t width, const bool *valid,
                                         int64_t n, int *release_count) {
    int64_t nulls;
    uint8_t *bits = au_bitmap(valid, n, &nulls);
    void *data = au_xcalloc((size_t)n, width);
    if (n > 0) memcpy(data, values, (size_t)n * width);
    return au_array(n, nulls, 2, bits, data, NULL, release_count);
}

static inline struct ArrowArray au_bool(const bool *values, const bool *valid, int64_t n,
                                        int *release_count) {
    int64_t nulls;
    uint8_t *bits = au_bitmap(valid, n, &nulls);
    uint8_t *data = (uint8_t *)au_xcalloc((size_t)(n + 7) / 8, 1);
    for (int64_t i = 0; i < n; i++)
        if (values[i]) data[i / 8] |= (uint8_t)(1u << (i % 8));
    return au_array(n, nulls, 2, bits, data, NULL, release_count);
}

/* A utf8 column; a NULL entry in `values` is a null. */
static inline struct ArrowArray au_utf8(const char *const *values, int64_t n, int *release_count) {
    bool *valid = (bool *)au_xcalloc((size_t)n, sizeof(bool));
    bool any_null = false;
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        valid[i] = values[i] != NULL;
        any_null |= !valid[i];
        if (values[i]) total += strlen(values[i]);
    }
    int64_t nulls;
    uint8_t *bits = au_bitmap(any_null ? valid : NULL, n, &nulls);
    free(valid);
    int32_t *offsets = (int32_t *)au_xcalloc((size_t)n + 1, sizeof(int32_t));
    char *data = (char *)au_xcalloc(total, 1);
    size_t pos = 0;
    for (int64_t i = 0; i < n; i++) {
        offsets[i] = (int32_t)pos;
        if (values[i]) {
            size_t len = strlen(values[i]);
            memcpy(data + pos, values[i], len);
            pos += len;
        }
    }
    offsets[n] = (int32_t)pos;
    return au_array(n, nulls, 3, bits, offsets, data, release_count);
}

/* A struct array (a record batch) taking ownership of `children`. */
static inline struct ArrowArray au_struct(int64_t length, struct ArrowArray *children,
                                          int64_t n_children, int *release_count) {
    struct ArrowArray a = au_array(length, 0, 1, NULL, NULL, NULL, release_count);
    au_private *p = (au_private *)a.private_data;
    p->n_children = n_children;
    p->children = (struct ArrowArray **)au_xcalloc((size_t)n_children, sizeof(struct ArrowArray *));
    for (int64_t i = 0; i < n_children; i++) {
        p->children[i] = (struct ArrowArray *)au_xcalloc(1, sizeof(struct ArrowArray));
        *p->children[i] = children[i];
        children[i].release = NULL; /* moved */
    }
    a.n_children = n_children;
    a.children = p->children;
    return a;
}

/* ---- schemas ------------------------------------------------------------ */

typedef struct au_schema_private {
    struct ArrowSchema **children;
    int64_t n_children;
} au_schema_private;

static inline void au_release_schema(struct ArrowSchema *s) {
    au_schema_private *p = (au_schema_private *)s->private_data;
    if (p != NULL) {
        for (int64_t i = 0; i < p->n_children; i++) {
            if (p->children[i]->release != NULL) p->children[i]->release(p->children[i]);
            free(p->children[i]);
        }
        free(p->children);
        free(p);
    }
    s->release = NULL;
    s->private_data = NULL;
}

/* Field named `name` (a string literal: not copied) of Arrow format `format`. */
static inline struct ArrowSchema au_field(const char *format, const char *name) {
    struct ArrowSchema s;
    memset(&s, 0, sizeof s);
    s.format = format;
    s.name = name;
    s.metadata = NULL;
    s.flags = ARROW_FLAG_NULLABLE;
    s.release = au_release_schema;
    return s;
}

/* "+s" schema taking ownership of `fields`. */
static inline struct ArrowSchema au_struct_schema(struct ArrowSchema *fields, int64_t n) {
    struct ArrowSchema s = au_field("+s", "");
    s.flags = 0;
    au_schema_private *p = (au_schema_private *)au_xcalloc(1, sizeof *p);
    p->n_children = n;
    p->children = (struct ArrowSchema **)au_xcalloc((size_t)n, sizeof(struct ArrowSchema *));
    for (int64_t i = 0; i < n; i++) {
        p->children[i] = (struct ArrowSchema *)au_xcalloc(1, sizeof(struct ArrowSchema));
        *p->children[i] = fields[i];
        fields[i].release = NULL;
    }
    s.n_children = n;
    s.children = p->children;
    s.private_data = p;
    return s;
}

/* ---- readers for exported arrays ---------------------------------------- */

/* Index of the child named `name` in a struct schema, or -1. */
static inline int64_t au_child_index(const struct ArrowSchema *s, const char *name) {
    for (int64_t i = 0; i < s->n_children; i++)
        if (s->children[i]->name != NULL && strcmp(s->children[i]->name, name) == 0) return i;
    return -1;
}

static inline bool au_bit(const void *bits, int64_t i) {
    return (((const uint8_t *)bits)[i >> 3] >> (i & 7)) & 1;
}

/* Row `row` of column `a`, a child of a struct array whose own offset is
 * `parent_offset`: the physical index into a's buffers. */
static inline int64_t au_index(const struct ArrowArray *a, int64_t parent_offset, int64_t row) {
    return a->offset + parent_offset + row;
}

static inline bool au_is_null(const struct ArrowArray *a, int64_t parent_offset, int64_t row) {
    if (a->null_count == 0 || a->buffers[0] == NULL) return false;
    return !au_bit(a->buffers[0], au_index(a, parent_offset, row));
}

static inline int32_t au_i32(const struct ArrowArray *a, int64_t po, int64_t row) {
    return ((const int32_t *)a->buffers[1])[au_index(a, po, row)];
}
static inline int64_t au_i64(const struct ArrowArray *a, int64_t po, int64_t row) {
    return ((const int64_t *)a->buffers[1])[au_index(a, po, row)];
}
static inline float au_f32(const struct ArrowArray *a, int64_t po, int64_t row) {
    return ((const float *)a->buffers[1])[au_index(a, po, row)];
}
static inline double au_f64(const struct ArrowArray *a, int64_t po, int64_t row) {
    return ((const double *)a->buffers[1])[au_index(a, po, row)];
}
static inline bool au_boolv(const struct ArrowArray *a, int64_t po, int64_t row) {
    return au_bit(a->buffers[1], au_index(a, po, row));
}
/* utf8: pointer to the bytes and their count. */
static inline const char *au_str(const struct ArrowArray *a, int64_t po, int64_t row, size_t *len) {
    const int32_t *off = (const int32_t *)a->buffers[1];
    int64_t i = au_index(a, po, row);
    *len = (size_t)(off[i + 1] - off[i]);
    return (const char *)a->buffers[2] + off[i];
}

#endif /* EDDY_ARROW_UTIL_H */
