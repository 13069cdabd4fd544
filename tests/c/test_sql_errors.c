/*
 * SQL errors: statuses, positions in messages, unknown streams, and
 * all-or-nothing multi-statement execute.
 */
#include "eddy_test.h"

/* The stream exists iff an input can be opened on it. */
static bool stream_exists(eddy_engine *e, const char *name) {
    eddy_input *in = NULL;
    eddy_error *err = NULL;
    eddy_status st = eddy_input_open(e, name, &in, &err);
    if (st == EDDY_OK) {
        eddy_input_free(in);
        return true;
    }
    CHECK_INT(st, EDDY_ERR_NOT_FOUND);
    eddy_error_free(err);
    return false;
}

int main(void) {
    eddy_engine *e = et_open(NULL);

    /* Syntax errors: EDDY_ERR_SQL, with "line 1:" (line:column). */
    EXPECT_ERR(EDDY_ERR_SQL, "line 1:", eddy_engine_execute(e, "SELEC 1", ERR));
    EXPECT_ERR(EDDY_ERR_SQL, "line 1:", eddy_engine_execute(e, "CREATE STREAM S (a INT", ERR));
    EXPECT_ERR(EDDY_ERR_SQL, "line 1:", eddy_engine_execute(e, "CREATE STREAM S (a INT,)", ERR));
    EXPECT_ERR(EDDY_ERR_SQL, "line 1:", eddy_engine_execute(e, "CREATE STREAM (a INT)", ERR));
    /* An unknown column type. */
    EXPECT_ERR(EDDY_ERR_SQL, "line 1:", eddy_engine_execute(e, "CREATE STREAM S (a FANCYTYPE)", ERR));
    /* A later line is reported as such. */
    EXPECT_ERR(EDDY_ERR_SQL, "line 2:", eddy_engine_execute(e, "CREATE STREAM S (a INT);\nCREATE STREAM T (b INT", ERR));
    CHECK(!stream_exists(e, "S"));

    ET_EXEC(e, "CREATE STREAM S (a INT, b DOUBLE, s STRING)");
    CHECK(stream_exists(e, "S"));
    CHECK(stream_exists(e, "s")); /* names are case-insensitive */

    /* Duplicates. */
    EXPECT_ERR(EDDY_ERR_SQL, "already exists", eddy_engine_execute(e, "CREATE STREAM S (x INT)", ERR));
    EXPECT_ERR(EDDY_ERR_SQL, "line 1:", eddy_engine_execute(e, "CREATE STREAM D (x INT, X DOUBLE)", ERR));
    CHECK(!stream_exists(e, "D"));

    /* Unknown streams: from SQL and from the handle functions. */
    EXPECT_ERR(EDDY_ERR_NOT_FOUND, "Nope", eddy_engine_execute(e, "INSERT INTO Out SELECT a FROM Nope", ERR));
    eddy_input *in = NULL;
    eddy_subscription *sub = NULL;
    EXPECT_ERR(EDDY_ERR_NOT_FOUND, "Nope", eddy_input_open(e, "Nope", &in, ERR));
    EXPECT_ERR(EDDY_ERR_NOT_FOUND, "Nope", eddy_subscribe(e, "Nope", &sub, ERR));
    CHECK(in == NULL && sub == NULL);
    CHECK(!stream_exists(e, "Out"));

    /* Unknown column, with its position. */
    EXPECT_ERR(EDDY_ERR_SQL, "line 1:", eddy_engine_execute(e, "INSERT INTO Out SELECT nope FROM S", ERR));
    CHECK(!stream_exists(e, "Out"));
    /* WHERE must be BOOL. */
    EXPECT_ERR(EDDY_ERR_SCHEMA, "line 1:", eddy_engine_execute(e, "INSERT INTO Out SELECT a FROM S WHERE a + 1", ERR));
    /* A query cannot write its own input. */
    EXPECT_ERR(EDDY_ERR_SQL, "line 1:", eddy_engine_execute(e, "INSERT INTO S SELECT a, b, s FROM S", ERR));

    /* All or nothing: the first statement's stream must not exist after the
     * second fails, whatever the failure. */
    const char *failing[] = {
        "CREATE STREAM A1 (x INT); CREATE STREAM B1 (y BADTYPE)",
        "CREATE STREAM A1 (x INT); INSERT INTO O1 SELECT nope FROM A1",
        "CREATE STREAM A1 (x INT); INSERT INTO O1 SELECT x FROM A1; INSERT INTO O2 SELECT x FROM Missing",
        "CREATE STREAM A1 (x INT); CREATE STREAM A1 (x INT)",
        "CREATE STREAM A1 (x INT); INSERT INTO O1 SELECT x FROM A1; SELEC",
    };
    for (size_t i = 0; i < sizeof failing / sizeof failing[0]; i++) {
        eddy_status st = eddy_engine_execute(e, failing[i], ERR);
        CHECK(st != EDDY_OK);
        CHECK(et_err != NULL);
        printf("  [%s] %s\n", eddy_status_name((int)st), eddy_error_message(et_err));
        eddy_error_free(et_err);
        CHECK(!stream_exists(e, "A1"));
        CHECK(!stream_exists(e, "O1"));
        CHECK(!stream_exists(e, "O2"));
    }

    /* A cycle through existing queries is refused and changes nothing. */
    ET_EXEC(e, "INSERT INTO Mid SELECT a, b, s FROM S WHERE a > 0");
    EXPECT_ERR(EDDY_ERR_SQL, "cycle", eddy_engine_execute(e, "CREATE STREAM Z (q INT); INSERT INTO S SELECT a, b, s FROM Mid", ERR));
    CHECK(!stream_exists(e, "Z"));

    /* Insert into an existing stream of another shape. */
    ET_EXEC(e, "CREATE STREAM Narrow (a INT)");
    EXPECT_ERR(EDDY_ERR_SCHEMA, "line 1:", eddy_engine_execute(e, "INSERT INTO Narrow SELECT a, b FROM S", ERR));
    EXPECT_ERR(EDDY_ERR_SCHEMA, "line 1:", eddy_engine_execute(e, "INSERT INTO Narrow SELECT s FROM S", ERR));

    /* A good multi-statement call applies everything. */
    ET_EXEC(e, "CREATE STREAM A2 (x INT);\n CREATE STREAM B2 (y STRING);\n INSERT INTO O3 SELECT x FROM A2 WHERE x > 1");
    CHECK(stream_exists(e, "A2"));
    CHECK(stream_exists(e, "B2"));
    CHECK(stream_exists(e, "O3"));

    /* Nothing but whitespace or an empty statement list. */
    eddy_status st = eddy_engine_execute(e, "  ", ERR);
    printf("  empty SQL: %s %s\n", eddy_status_name((int)st), et_err ? eddy_error_message(et_err) : "");
    eddy_error_free(et_err);

    /* Invalid UTF-8 in the SQL text. */
    EXPECT_ERR(EDDY_ERR_INVALID_ARGUMENT, "UTF-8", eddy_engine_execute(e, "CREATE STREAM \xff (a INT)", ERR));

    /* After close, execute is refused. */
    REQUIRE_OK(eddy_engine_close(e, ERR));
    EXPECT_ERR(EDDY_ERR_CLOSED, NULL, eddy_engine_execute(e, "CREATE STREAM Late (a INT)", ERR));
    eddy_engine_free(e);
    return et_finish("test_sql_errors");
}
