"""Python binding of eddy, an embeddable streaming SQL engine (ctypes over libeddy.so).

    import eddy
    with eddy.Engine() as eng:
        eng.execute("CREATE STREAM S (x BIGINT); INSERT INTO Out SELECT x FROM S WHERE x > 1")
        sub = eng.subscribe("Out")
        with eng.input("S") as inp:
            inp.append_many([(1,), (2,), (3,)])
        eng.flush()
        print(sub.read_all())
"""

from . import _lib
from ._core import Engine, Input, Subscription
from ._errors import (
    ClosedError,
    CorruptError,
    EddyIOError,
    EddyTimeout,
    EndOfStream,
    Error,
    FullError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PanicError,
    SchemaError,
    SqlError,
    TimeoutError_,
)

__version__ = "0.1.0"
library_path = _lib.path


def library_version():
    """Version string of the loaded libeddy ("MAJOR.MINOR.PATCH")."""
    return _lib.lib.eddy_version_string().decode()


def status_name(status):
    """The enumerator name of an eddy_status value."""
    return _lib.lib.eddy_status_name(int(status)).decode()


__all__ = [
    "Engine", "Input", "Subscription", "Error", "InvalidArgumentError", "SqlError",
    "SchemaError", "NotFoundError", "FullError", "EddyTimeout", "TimeoutError_",
    "ClosedError", "EndOfStream", "EddyIOError", "CorruptError", "InternalError",
    "PanicError", "library_version", "status_name", "library_path",
]
