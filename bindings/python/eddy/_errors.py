"""Exceptions: one class per eddy_status."""

import builtins


class Error(Exception):
    """An error reported by libeddy. ``status`` is the eddy_status value,
    ``status_name`` its enumerator name (e.g. ``"EDDY_ERR_SQL"``)."""

    status = -1
    status_name = "EDDY_UNKNOWN_STATUS"

    def __init__(self, message="", status=None, status_name=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if status_name is not None:
            self.status_name = status_name

    def __str__(self):
        return f"{self.message} [{self.status_name}]"


def _cls(name, status, status_name, *bases, doc=""):
    return type(name, (Error,) + bases, {
        "status": status, "status_name": status_name, "__doc__": doc,
        "__module__": "eddy"})


InvalidArgumentError = _cls("InvalidArgumentError", 1, "EDDY_ERR_INVALID_ARGUMENT", ValueError,
                            doc="Bad argument or misuse of a handle.")
SqlError = _cls("SqlError", 2, "EDDY_ERR_SQL",
                doc="SQL syntax or semantic error; the message starts with 'line L:C:'.")
SchemaError = _cls("SchemaError", 3, "EDDY_ERR_SCHEMA", TypeError,
                   doc="Type mismatch between values and the stream's columns.")
NotFoundError = _cls("NotFoundError", 4, "EDDY_ERR_NOT_FOUND", LookupError,
                     doc="Unknown stream or column.")
FullError = _cls("FullError", 5, "EDDY_ERR_FULL",
                 doc="The input queue stayed full for push_timeout_ms; nothing was ingested.")
EddyTimeout = _cls("EddyTimeout", 6, "EDDY_ERR_TIMEOUT", builtins.TimeoutError,
                   doc="flush (or next) did not complete in time.")
TimeoutError_ = EddyTimeout
ClosedError = _cls("ClosedError", 7, "EDDY_ERR_CLOSED",
                   doc="The engine or the input is closed.")
EndOfStream = _cls("EndOfStream", 8, "EDDY_ERR_END_OF_STREAM",
                   doc="The engine closed and every result of the subscription was read.")
EddyIOError = _cls("EddyIOError", 9, "EDDY_ERR_IO", doc="Operating-system failure.")
CorruptError = _cls("CorruptError", 10, "EDDY_ERR_CORRUPT", doc="Corrupt persisted state.")
InternalError = _cls("InternalError", 11, "EDDY_ERR_INTERNAL", doc="A bug in eddy.")
PanicError = _cls("PanicError", 12, "EDDY_ERR_PANIC",
                  doc="A bug caught at the boundary; the handle is no longer usable.")

_BY_STATUS = {c.status: c for c in (
    InvalidArgumentError, SqlError, SchemaError, NotFoundError, FullError, EddyTimeout,
    ClosedError, EndOfStream, EddyIOError, CorruptError, InternalError, PanicError)}


def error_for(status, message, status_name=None):
    cls = _BY_STATUS.get(status, Error)
    return cls(message, status, status_name or cls.status_name)
