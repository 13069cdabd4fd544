/* The smallest useful program against an installed eddy: open, declare a
 * stream, push a row, read it back, close. Exits 0 on success. */
#include <stdio.h>

#include "eddy.h"

static int check(eddy_status st, eddy_error *err, const char *what) {
    if (st == EDDY_OK) return 1;
    fprintf(stderr, "consumer: %s: %s: %s\n", what, eddy_status_name((int)st), eddy_error_message(err));
    eddy_error_free(err);
    return 0;
}

int main(void) {
    eddy_engine *e = NULL;
    eddy_input *in = NULL;
    eddy_subscription *sub = NULL;
    eddy_error *err = NULL;
    struct ArrowArray batch;
    struct ArrowSchema schema;
    int ok = 0;

    if (eddy_version_number() != EDDY_VERSION_MAJOR * 1000000u + EDDY_VERSION_MINOR * 1000u + EDDY_VERSION_PATCH) {
        fprintf(stderr, "consumer: header %d.%d.%d, library %s\n", EDDY_VERSION_MAJOR, EDDY_VERSION_MINOR,
                EDDY_VERSION_PATCH, eddy_version_string());
        return 1;
    }
    if (check(eddy_engine_open(NULL, &e, &err), err, "open") &&
        check(eddy_engine_execute(e, "CREATE STREAM S (a INT)", &err), err, "execute") &&
        check(eddy_subscribe(e, "S", &sub, &err), err, "subscribe") &&
        check(eddy_input_open(e, "S", &in, &err), err, "input_open") &&
        check(eddy_input_begin_row(in, &err), err, "begin_row") &&
        check(eddy_input_set_i32(in, 0, 42, &err), err, "set_i32") &&
        check(eddy_input_end_row(in, &err), err, "end_row") &&
        check(eddy_subscription_next(sub, 5000, &batch, &schema, &err), err, "next")) {
        ok = batch.length == 1 && ((const int *)batch.children[0]->buffers[1])[batch.children[0]->offset] == 42;
        batch.release(&batch);
        schema.release(&schema);
        ok = ok && check(eddy_engine_close(e, &err), err, "close");
    }
    eddy_input_free(in);
    eddy_subscription_free(sub);
    eddy_engine_free(e);
    printf("consumer against eddy %s: %s\n", eddy_version_string(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
