/*
 * Errors: every fallible call returns an eddy_status and, when given an
 * eddy_error **, an error object with a message that says what went wrong
 * (for SQL, where: "line L:C"). This program makes a few mistakes on purpose
 * and prints what eddy says; it fails if any status is not the expected one.
 */
#include <stdio.h>
#include <string.h>

#include "eddy.h"

static int unexpected;

/* Prints the outcome of a call that should fail with `want`; frees the error. */
static void expect(const char *what, eddy_status want, eddy_status got, eddy_error *err,
                   const char *must_contain) {
    const char *msg = eddy_error_message(err);
    int ok = got == want && err != NULL && eddy_error_status(err) == (int)want &&
             (must_contain == NULL || strstr(msg, must_contain) != NULL);
    printf("%-44s -> %-26s %s\n", what, eddy_status_name((int)got), msg);
    if (!ok) {
        fprintf(stderr, "  unexpected: wanted %s%s%s\n", eddy_status_name((int)want),
                must_contain ? " with a message containing " : "", must_contain ? must_contain : "");
        unexpected++;
    }
    eddy_error_free(err);
}

int main(void) {
    eddy_engine *engine = NULL;
    eddy_input *input = NULL;
    eddy_subscription *sub = NULL;
    eddy_error *err = NULL;
    eddy_status st;

    /* Options are checked: an unknown key is named. */
    st = eddy_engine_open("queue_capacty=64", &engine, &err);
    expect("open with a misspelt option", EDDY_ERR_INVALID_ARGUMENT, st, err, "queue_capacty");
    err = NULL;
    st = eddy_engine_open("overflow=sometimes", &engine, &err);
    expect("open with a bad option value", EDDY_ERR_INVALID_ARGUMENT, st, err, "sometimes");
    err = NULL;

    st = eddy_engine_open(NULL, &engine, &err);
    if (st != EDDY_OK) {
        fprintf(stderr, "eddy_engine_open: %s\n", eddy_error_message(err));
        eddy_error_free(err);
        return 1;
    }

    /* SQL errors carry line:column. */
    st = eddy_engine_execute(engine, "CREATE STREAM orders (id INT, amount DOUBLE", &err);
    expect("CREATE STREAM missing ')'", EDDY_ERR_SQL, st, err, "line 1:");
    err = NULL;
    st = eddy_engine_execute(engine, "CREATE STREAM orders (id INT,\n  amount MONEY)", &err);
    expect("CREATE STREAM with an unknown type", EDDY_ERR_SQL, st, err, "line 2:");
    err = NULL;

    st = eddy_engine_execute(engine, "CREATE STREAM orders (id INT, amount DOUBLE, note STRING)", &err);
    if (st != EDDY_OK) {
        expect("CREATE STREAM orders", EDDY_OK, st, err, NULL);
        goto done;
    }
    st = eddy_engine_execute(engine, "INSERT INTO big SELECT id, amonut FROM orders", &err);
    expect("SELECT of a misspelt column", EDDY_ERR_SQL, st, err, "amonut");
    err = NULL;
    st = eddy_engine_execute(engine, "INSERT INTO big SELECT id FROM ordres", &err);
    expect("SELECT FROM an unknown stream", EDDY_ERR_NOT_FOUND, st, err, "ordres");
    err = NULL;
    st = eddy_engine_execute(engine, "INSERT INTO big SELECT id FROM orders WHERE note", &err);
    expect("WHERE on a STRING", EDDY_ERR_SCHEMA, st, err, "BOOL");
    err = NULL;
    /* All or nothing: the good first statement is not applied either. */
    st = eddy_engine_execute(engine, "CREATE STREAM refunds (id INT); INSERT INTO x SELECT nope FROM refunds",
                             &err);
    expect("two statements, the second bad", EDDY_ERR_SQL, st, err, "nope");
    err = NULL;
    st = eddy_input_open(engine, "refunds", &input, &err);
    expect("open an input on the stream never created", EDDY_ERR_NOT_FOUND, st, err, "refunds");
    err = NULL;
    st = eddy_subscribe(engine, "nowhere", &sub, &err);
    expect("subscribe to an unknown stream", EDDY_ERR_NOT_FOUND, st, err, "nowhere");
    err = NULL;

    /* Row appender: setters must match the column type. */
    st = eddy_input_open(engine, "orders", &input, &err);
    if (st != EDDY_OK) {
        expect("open input", EDDY_OK, st, err, NULL);
        goto done;
    }
    st = eddy_input_set_i32(input, 0, 1, &err);
    expect("set a value before begin_row", EDDY_ERR_INVALID_ARGUMENT, st, err, "begin_row");
    err = NULL;
    st = eddy_input_begin_row(input, &err);
    if (st != EDDY_OK) {
        expect("begin_row", EDDY_OK, st, err, NULL);
        goto done;
    }
    st = eddy_input_set_i64(input, 0, 1, &err);
    expect("set_i64 on an INT column", EDDY_ERR_SCHEMA, st, err, "set_i32");
    err = NULL;
    st = eddy_input_set_f64(input, 7, 1.0, &err);
    expect("set a column that does not exist", EDDY_ERR_INVALID_ARGUMENT, st, err, "out of range");
    err = NULL;
    st = eddy_input_set_str(input, 2, "\xc3\x28", 2, &err);
    expect("set_str with invalid UTF-8", EDDY_ERR_INVALID_ARGUMENT, st, err, "UTF-8");
    err = NULL;
    st = eddy_input_end_row(input, &err);
    if (st != EDDY_OK) {
        expect("end_row", EDDY_OK, st, err, NULL);
        goto done;
    }

    /* After close, the engine refuses work. */
    st = eddy_engine_close(engine, &err);
    if (st != EDDY_OK) {
        expect("close", EDDY_OK, st, err, NULL);
        goto done;
    }
    st = eddy_engine_execute(engine, "CREATE STREAM late (a INT)", &err);
    expect("execute after close", EDDY_ERR_CLOSED, st, err, NULL);
    err = NULL;
    st = eddy_input_begin_row(input, &err);
    expect("push after close", EDDY_ERR_CLOSED, st, err, NULL);
    err = NULL;

    /* err may be NULL when the message is not wanted. */
    st = eddy_engine_execute(engine, "CREATE STREAM late (a INT)", NULL);
    printf("%-44s -> %s\n", "execute after close, err == NULL", eddy_status_name((int)st));
    if (st != EDDY_ERR_CLOSED) unexpected++;

done:
    eddy_subscription_free(sub);
    eddy_input_free(input);
    eddy_engine_free(engine);
    if (unexpected) {
        fprintf(stderr, "errors: %d unexpected outcomes\n", unexpected);
        return 1;
    }
    printf("every error was the expected one\n");
    return 0;
}
