/* Versions and status names. */
#include "eddy_test.h"

#include <stdio.h>

int main(void) {
    /* Header macros, library number and string agree. */
    CHECK_INT(EDDY_VERSION_MAJOR, 0);
    CHECK_INT(EDDY_VERSION_MINOR, 1);
    CHECK_INT(EDDY_VERSION_PATCH, 0);
    CHECK_UINT(eddy_version_number(),
               EDDY_VERSION_MAJOR * 1000000u + EDDY_VERSION_MINOR * 1000u + EDDY_VERSION_PATCH);
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", EDDY_VERSION_MAJOR, EDDY_VERSION_MINOR,
             EDDY_VERSION_PATCH);
    CHECK_STR(eddy_version_string(), expected);
    /* Static: the same pointer every time. */
    CHECK(eddy_version_string() == eddy_version_string());

    /* All 13 statuses, frozen values 0..12. */
    static const char *const names[] = {
        "EDDY_OK",          "EDDY_ERR_INVALID_ARGUMENT", "EDDY_ERR_SQL",
        "EDDY_ERR_SCHEMA",  "EDDY_ERR_NOT_FOUND",        "EDDY_ERR_FULL",
        "EDDY_ERR_TIMEOUT", "EDDY_ERR_CLOSED",           "EDDY_ERR_END_OF_STREAM",
        "EDDY_ERR_IO",      "EDDY_ERR_CORRUPT",          "EDDY_ERR_INTERNAL",
        "EDDY_ERR_PANIC",
    };
    static const eddy_status values[] = {
        EDDY_OK,          EDDY_ERR_INVALID_ARGUMENT, EDDY_ERR_SQL,
        EDDY_ERR_SCHEMA,  EDDY_ERR_NOT_FOUND,        EDDY_ERR_FULL,
        EDDY_ERR_TIMEOUT, EDDY_ERR_CLOSED,           EDDY_ERR_END_OF_STREAM,
        EDDY_ERR_IO,      EDDY_ERR_CORRUPT,          EDDY_ERR_INTERNAL,
        EDDY_ERR_PANIC,
    };
    CHECK_INT(sizeof names / sizeof names[0], 13);
    for (int i = 0; i < 13; i++) {
        CHECK_INT(values[i], i);
        CHECK_STR(eddy_status_name(i), names[i]);
        CHECK_STR(eddy_status_name((int)values[i]), names[i]);
    }
    /* Unknown values. */
    CHECK_STR(eddy_status_name(13), "EDDY_UNKNOWN_STATUS");
    CHECK_STR(eddy_status_name(-1), "EDDY_UNKNOWN_STATUS");
    CHECK_STR(eddy_status_name(1000), "EDDY_UNKNOWN_STATUS");
    CHECK_STR(eddy_status_name(INT32_MIN), "EDDY_UNKNOWN_STATUS");

    /* Type enum values are part of the ABI too. */
    CHECK_INT(EDDY_TYPE_INVALID, 0);
    CHECK_INT(EDDY_TYPE_BOOL, 1);
    CHECK_INT(EDDY_TYPE_INT, 2);
    CHECK_INT(EDDY_TYPE_BIGINT, 3);
    CHECK_INT(EDDY_TYPE_FLOAT, 4);
    CHECK_INT(EDDY_TYPE_DOUBLE, 5);
    CHECK_INT(EDDY_TYPE_STRING, 6);
    CHECK_INT(EDDY_TYPE_TIMESTAMP, 7);

    /* Error accessors on NULL. */
    CHECK_INT(eddy_error_status(NULL), EDDY_ERR_INVALID_ARGUMENT);
    CHECK_STR(eddy_error_message(NULL), "");

    /* An error object carries its status and a message. */
    eddy_engine *e = NULL;
    eddy_error *err = NULL;
    CHECK_INT(eddy_engine_open("no_such_option=1", &e, &err), EDDY_ERR_INVALID_ARGUMENT);
    CHECK(e == NULL);
    REQUIRE(err != NULL);
    CHECK_INT(eddy_error_status(err), EDDY_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(eddy_error_message(err), "no_such_option");
    /* The message pointer is stable until the error is freed. */
    CHECK(eddy_error_message(err) == eddy_error_message(err));
    eddy_error_free(err);

    return et_finish("test_version");
}
