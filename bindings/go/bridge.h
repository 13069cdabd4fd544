/*
 * C helpers of the Go binding, over the public C API (eddy.h) only:
 *  - callback trampolines: eddy calls C function pointers with a void *
 *    user data; these pass it on, as a cgo.Handle, to exported Go functions;
 *  - a whole row in one cgo crossing instead of one per column;
 *  - a count of imported result batches, and a cheap schema comparison.
 */
#ifndef EDDY_GO_BRIDGE_H
#define EDDY_GO_BRIDGE_H

#include <stdint.h>
#include <stdlib.h>

#include "eddy.h"

/* One value of a row for eddy_go_append_row. type is an eddy_type;
 * EDDY_TYPE_INVALID (0) leaves the column unset, i.e. NULL. */
typedef struct eddy_go_value {
    int64_t i;    /* BOOL (0/1), INT, BIGINT, TIMESTAMP; STRING: offset in strs */
    double f;     /* FLOAT, DOUBLE */
    uint64_t len; /* STRING: length in bytes */
    int32_t type;
    int32_t reserved;
} eddy_go_value;

/* Per-handle scratch in C memory, so hot calls pass no Go pointer. */
typedef struct eddy_go_slot {
    eddy_error *err;
    uint32_t bad_col;
} eddy_go_slot;

/* begin_row, one setter per value, end_row. If a setter fails the row is
 * aborted and *bad_col names the column. */
int eddy_go_append_row(eddy_input *in, const eddy_go_value *vals, uint32_t n,
                       const char *strs, uint32_t *bad_col, eddy_error **err);

/* Installs the Go trampolines as the subscription's callback, with the
 * cgo.Handle h as user data. */
int eddy_go_set_callback(eddy_subscription *sub, uintptr_t h, eddy_error **err);

/* Replaces the release callback of an imported array by one that counts,
 * so tests can check every batch handed to Go is released exactly once. */
void eddy_go_track(struct ArrowArray *arr);
int64_t eddy_go_live_batches(void);

/* Writes a byte string identifying the schema (formats, names, flags,
 * metadata, recursively) into buf and returns its length; nothing is
 * written past cap, so a result above cap asks for a larger buffer. */
size_t eddy_go_schema_sig(const struct ArrowSchema *s, char *buf, size_t cap);

#endif
