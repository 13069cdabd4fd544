/*
 * Pushing Arrow data from C without an Arrow library: build a record batch
 * (a struct array) by hand following the Arrow C Data Interface, with a
 * release callback that frees it, hand it to eddy_input_push_arrow (which
 * takes ownership), and pull the results back with eddy_subscription_next.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eddy.h"

static int failed(eddy_status st, eddy_error *err, const char *what) {
    if (st == EDDY_OK) return 0;
    fprintf(stderr, "arrow_push: %s failed: %s: %s\n", what, eddy_status_name((int)st),
            eddy_error_message(err));
    eddy_error_free(err);
    return 1;
}

/* ---- a hand-made batch: (city STRING, temp DOUBLE, station INT) ------------ */

#define ROWS 6
static int releases; /* how many times the producer's release ran */

/* Everything the batch owns, in one allocation. */
typedef struct {
    struct ArrowArray columns[3];
    struct ArrowArray *children[3];
    const void *struct_buffers[1];
    const void *city_buffers[3];
    const void *temp_buffers[2];
    const void *station_buffers[2];
    int32_t city_offsets[ROWS + 1];
    char city_chars[64];
    double temp[ROWS];
    int32_t station[ROWS];
    uint8_t station_validity[1];
} batch_storage;

/* Children are released by the parent: their own release does nothing. */
static void release_child(struct ArrowArray *array) { array->release = NULL; }

static void release_batch(struct ArrowArray *array) {
    batch_storage *st = (batch_storage *)array->private_data;
    for (int i = 0; i < 3; i++)
        if (st->columns[i].release != NULL) st->columns[i].release(&st->columns[i]);
    free(st);
    array->release = NULL;
    releases++;
}

static void init_column(struct ArrowArray *col, int64_t null_count, int64_t n_buffers, const void **buffers) {
    memset(col, 0, sizeof *col);
    col->length = ROWS;
    col->null_count = null_count;
    col->n_buffers = n_buffers;
    col->buffers = buffers;
    col->release = release_child;
}

static int make_batch(struct ArrowArray *out) {
    static const char *const cities[ROWS] = {"Oslo", "Cairo", "Lima", "Perth", "Quito", "Dakar"};
    static const double temps[ROWS] = {-3.5, 31.0, 19.5, 38.25, 14.0, 29.75};
    batch_storage *st = (batch_storage *)calloc(1, sizeof *st);
    if (st == NULL) return 0;

    /* city: utf8 = validity (none), int32 offsets, characters. */
    int32_t pos = 0;
    for (int i = 0; i < ROWS; i++) {
        size_t len = strlen(cities[i]);
        st->city_offsets[i] = pos;
        memcpy(st->city_chars + pos, cities[i], len);
        pos += (int32_t)len;
    }
    st->city_offsets[ROWS] = pos;
    st->city_buffers[0] = NULL;
    st->city_buffers[1] = st->city_offsets;
    st->city_buffers[2] = st->city_chars;
    init_column(&st->columns[0], 0, 3, st->city_buffers);

    /* temp: float64 = validity (none), values. */
    memcpy(st->temp, temps, sizeof temps);
    st->temp_buffers[0] = NULL;
    st->temp_buffers[1] = st->temp;
    init_column(&st->columns[1], 0, 2, st->temp_buffers);

    /* station: int32 with row 2 NULL (bit i set = row i valid). */
    for (int i = 0; i < ROWS; i++) st->station[i] = 100 + i;
    st->station_validity[0] = (uint8_t)(0x3f & ~(1u << 2));
    st->station_buffers[0] = st->station_validity;
    st->station_buffers[1] = st->station;
    init_column(&st->columns[2], 1, 2, st->station_buffers);

    for (int i = 0; i < 3; i++) st->children[i] = &st->columns[i];
    st->struct_buffers[0] = NULL;
    memset(out, 0, sizeof *out);
    out->length = ROWS;
    out->null_count = 0;
    out->n_buffers = 1;
    out->buffers = st->struct_buffers;
    out->n_children = 3;
    out->children = st->children;
    out->release = release_batch;
    out->private_data = st;
    return 1;
}

/* The schema lives in static storage: eddy only borrows it. */
static void release_static_schema(struct ArrowSchema *schema) { schema->release = NULL; }

static struct ArrowSchema city_field = {"u", "city", NULL, ARROW_FLAG_NULLABLE, 0, NULL, NULL,
                                        release_static_schema, NULL};
static struct ArrowSchema temp_field = {"g", "temp", NULL, ARROW_FLAG_NULLABLE, 0, NULL, NULL,
                                        release_static_schema, NULL};
static struct ArrowSchema station_field = {"i", "station", NULL, ARROW_FLAG_NULLABLE, 0, NULL, NULL,
                                           release_static_schema, NULL};
/* A field of the wrong type, for the rejected push. */
static struct ArrowSchema station_as_bigint = {"l", "station", NULL, ARROW_FLAG_NULLABLE, 0, NULL, NULL,
                                               release_static_schema, NULL};

int main(void) {
    struct ArrowSchema *fields[3] = {&city_field, &temp_field, &station_field};
    struct ArrowSchema schema = {"+s", "", NULL, 0, 3, fields, NULL, release_static_schema, NULL};
    eddy_engine *engine = NULL;
    eddy_input *input = NULL;
    eddy_subscription *hot = NULL;
    eddy_error *err = NULL;
    struct ArrowArray batch;
    int status = 1;
    int64_t rows = 0;

    if (failed(eddy_engine_open(NULL, &engine, &err), err, "eddy_engine_open")) goto done;
    if (failed(eddy_engine_execute(engine,
                                   "CREATE STREAM weather (city STRING, temp DOUBLE, station INT);"
                                   "INSERT INTO hot SELECT city, temp, station FROM weather WHERE temp > 25",
                                   &err),
               err, "eddy_engine_execute"))
        goto done;
    if (failed(eddy_subscribe(engine, "hot", &hot, &err), err, "eddy_subscribe")) goto done;
    if (failed(eddy_input_open(engine, "weather", &input, &err), err, "eddy_input_open")) goto done;

    if (!make_batch(&batch)) goto done;
    printf("pushing a hand-built Arrow batch of %d rows\n", ROWS);
    if (failed(eddy_input_push_arrow(input, &batch, &schema, &err), err, "eddy_input_push_arrow")) goto done;
    /* The batch was moved into eddy: our struct is now released-looking. */
    printf("  after the push batch.release is %s\n", batch.release == NULL ? "NULL (moved)" : "still set!");
    if (batch.release != NULL) goto done;

    if (failed(eddy_engine_flush(engine, 5000, &err), err, "eddy_engine_flush")) goto done;
    printf("rows with temp > 25:\n");
    for (;;) {
        struct ArrowArray out;
        struct ArrowSchema out_schema;
        eddy_status st = eddy_subscription_next(hot, 0, &out, &out_schema, &err);
        if (st == EDDY_ERR_TIMEOUT) {
            eddy_error_free(err);
            err = NULL;
            break;
        }
        if (failed(st, err, "eddy_subscription_next")) goto done;
        const struct ArrowArray *city = out.children[0], *temp = out.children[1], *station = out.children[2];
        for (int64_t r = 0; r < out.length; r++) {
            int64_t c = city->offset + out.offset + r, t = temp->offset + out.offset + r,
                    s = station->offset + out.offset + r;
            const int32_t *off = (const int32_t *)city->buffers[1];
            const uint8_t *valid = (const uint8_t *)station->buffers[0];
            int station_null = valid != NULL && station->null_count != 0 && !((valid[s / 8] >> (s % 8)) & 1);
            printf("  %-6.*s %6.2f  station %s%d\n", (int)(off[c + 1] - off[c]),
                   (const char *)city->buffers[2] + off[c], ((const double *)temp->buffers[1])[t],
                   station_null ? "NULL" : "", station_null ? 0 : ((const int32_t *)station->buffers[1])[s]);
        }
        rows += out.length;
        out.release(&out);
        out_schema.release(&out_schema);
    }
    if (rows != 3) { /* Cairo, Perth, Dakar */
        fprintf(stderr, "arrow_push: expected 3 rows, got %lld\n", (long long)rows);
        goto done;
    }

    /* A batch whose 'station' column is BIGINT for an INT stream column is
     * rejected, yet still moved and released by eddy. */
    if (!make_batch(&batch)) goto done;
    fields[2] = &station_as_bigint;
    {
        eddy_status st = eddy_input_push_arrow(input, &batch, &schema, &err);
        printf("pushing a batch with a BIGINT 'station': %s: %s\n", eddy_status_name((int)st),
               eddy_error_message(err));
        eddy_error_free(err);
        err = NULL;
        if (st != EDDY_ERR_SCHEMA || batch.release != NULL) goto done;
    }

    if (failed(eddy_engine_close(engine, &err), err, "eddy_engine_close")) goto done;
    eddy_subscription_free(hot);
    hot = NULL;
    eddy_input_free(input);
    input = NULL;
    eddy_engine_free(engine);
    engine = NULL;
    printf("the producer's release callback ran %d times for 2 batches\n", releases);
    if (releases != 2) goto done;
    status = 0;

done:
    eddy_subscription_free(hot);
    eddy_input_free(input);
    eddy_engine_free(engine);
    return status;
}
