/*
 * Pull mode: results are read with eddy_subscription_next, which exports
 * each result batch through the Arrow C Data Interface (a struct array and
 * its schema). This example reads the exported buffers directly; a host
 * with an Arrow library would import them instead.
 *
 * It also shows the end of a stream: after eddy_engine_close, next returns
 * the rows still queued and then EDDY_ERR_END_OF_STREAM.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "eddy.h"

static int failed(eddy_status st, eddy_error *err, const char *what) {
    if (st == EDDY_OK) return 0;
    fprintf(stderr, "pull: %s failed: %s: %s\n", what, eddy_status_name((int)st), eddy_error_message(err));
    eddy_error_free(err);
    return 1;
}

static int is_valid(const struct ArrowArray *col, int64_t i) {
    const uint8_t *bits = (const uint8_t *)col->buffers[0];
    if (bits == NULL || col->null_count == 0) return 1;
    return (bits[i / 8] >> (i % 8)) & 1;
}

/* Prints the rows of an exported batch of (symbol STRING, price DOUBLE,
 * qty BIGINT); returns the number of rows. */
static int64_t print_batch(const struct ArrowArray *batch, const struct ArrowSchema *schema) {
    const struct ArrowArray *sym = batch->children[0], *price = batch->children[1], *qty = batch->children[2];
    printf("  batch of %lld rows, columns %s:%s %s:%s %s:%s\n", (long long)batch->length,
           schema->children[0]->name, schema->children[0]->format, schema->children[1]->name,
           schema->children[1]->format, schema->children[2]->name, schema->children[2]->format);
    for (int64_t r = 0; r < batch->length; r++) {
        int64_t i = batch->offset + r;
        const int32_t *offsets = (const int32_t *)sym->buffers[1];
        const char *chars = (const char *)sym->buffers[2];
        int64_t s = sym->offset + i, p = price->offset + i, q = qty->offset + i;
        printf("    %-6.*s", (int)(offsets[s + 1] - offsets[s]), chars + offsets[s]);
        printf(" %8.2f", ((const double *)price->buffers[1])[p]);
        if (is_valid(qty, q))
            printf(" %6lld\n", (long long)((const int64_t *)qty->buffers[1])[q]);
        else
            printf("   NULL\n");
    }
    return batch->length;
}

int main(void) {
    static const struct {
        const char *sym;
        double price;
        int64_t qty; /* < 0: NULL */
    } trades[] = {
        {"ACME", 101.5, 10}, {"INIT", 9.25, 500}, {"ACME", 102.0, -1}, {"BOLT", 55.0, 20},
        {"ACME", 99.75, 7},  {"INIT", 9.5, 1000}, {"BOLT", 56.5, -1},  {"ACME", 100.0, 3},
    };
    const int n = (int)(sizeof trades / sizeof trades[0]);
    const int64_t expected = 4; /* the ACME trades */

    eddy_engine *engine = NULL;
    eddy_input *input = NULL;
    eddy_subscription *sub = NULL;
    eddy_error *err = NULL;
    int64_t rows = 0;
    int status = 1;

    if (failed(eddy_engine_open("queue_capacity=1024", &engine, &err), err, "eddy_engine_open")) goto done;
    if (failed(eddy_engine_execute(engine,
                                   "CREATE STREAM trades (symbol STRING, price DOUBLE, qty BIGINT);"
                                   "INSERT INTO acme SELECT symbol, price, qty FROM trades WHERE symbol = 'ACME'",
                                   &err),
               err, "eddy_engine_execute"))
        goto done;
    if (failed(eddy_subscribe(engine, "acme", &sub, &err), err, "eddy_subscribe")) goto done;
    if (failed(eddy_input_open(engine, "trades", &input, &err), err, "eddy_input_open")) goto done;

    printf("pushing %d trades, subscribed to the ACME ones\n", n);
    for (int i = 0; i < n; i++) {
        if (failed(eddy_input_begin_row(input, &err), err, "begin_row") ||
            failed(eddy_input_set_str(input, 0, trades[i].sym, strlen(trades[i].sym), &err), err, "set_str") ||
            failed(eddy_input_set_f64(input, 1, trades[i].price, &err), err, "set_f64") ||
            failed(trades[i].qty < 0 ? eddy_input_set_null(input, 2, &err)
                                     : eddy_input_set_i64(input, 2, trades[i].qty, &err),
                   err, "set qty") ||
            failed(eddy_input_end_row(input, &err), err, "end_row"))
            goto done;
    }

    /* Read while the engine runs: wait up to 1 s per batch. */
    printf("reading with eddy_subscription_next:\n");
    while (rows < expected) {
        struct ArrowArray batch;
        struct ArrowSchema schema;
        eddy_status st = eddy_subscription_next(sub, 1000, &batch, &schema, &err);
        if (failed(st, err, "eddy_subscription_next")) goto done;
        rows += print_batch(&batch, &schema);
        batch.release(&batch); /* the caller owns both exports */
        schema.release(&schema);
    }

    /* Nothing more now: a zero timeout says so at once. */
    {
        struct ArrowArray batch;
        struct ArrowSchema schema;
        eddy_status st = eddy_subscription_next(sub, 0, &batch, &schema, &err);
        printf("next(timeout 0) with nothing queued: %s\n", eddy_status_name((int)st));
        eddy_error_free(err);
        err = NULL;
        if (st != EDDY_ERR_TIMEOUT) goto done;
    }

    /* Push one more ACME trade and close: close drains it, then the stream ends. */
    if (failed(eddy_input_begin_row(input, &err), err, "begin_row") ||
        failed(eddy_input_set_str(input, 0, "ACME", 4, &err), err, "set_str") ||
        failed(eddy_input_set_f64(input, 1, 98.0, &err), err, "set_f64") ||
        failed(eddy_input_end_row(input, &err), err, "end_row"))
        goto done;
    if (failed(eddy_engine_close(engine, &err), err, "eddy_engine_close")) goto done;
    printf("after eddy_engine_close:\n");
    for (;;) {
        struct ArrowArray batch;
        struct ArrowSchema schema;
        eddy_status st = eddy_subscription_next(sub, 1000, &batch, &schema, &err);
        if (st == EDDY_ERR_END_OF_STREAM) {
            printf("  %s: %s\n", eddy_status_name((int)st), eddy_error_message(err));
            eddy_error_free(err);
            err = NULL;
            break;
        }
        if (failed(st, err, "eddy_subscription_next")) goto done;
        rows += print_batch(&batch, &schema);
        batch.release(&batch);
        schema.release(&schema);
    }
    if (rows != expected + 1) {
        fprintf(stderr, "pull: expected %lld rows, got %lld\n", (long long)expected + 1, (long long)rows);
        goto done;
    }
    printf("done: %lld rows\n", (long long)rows);
    status = 0;

done:
    eddy_subscription_free(sub);
    eddy_input_free(input);
    eddy_engine_free(engine);
    return status;
}
