"""ABI test: pyarrow <-> libeddy.so through ctypes and the Arrow C Data Interface.

A pyarrow RecordBatch is exported with ``_export_to_c`` into ctypes
ArrowArray/ArrowSchema structs, pushed with ``eddy_input_push_arrow``; the
results are read with ``eddy_subscription_next`` into ctypes structs and
imported back with ``pa.RecordBatch._import_from_c``. Nothing but the C ABI
is used: no Python binding.

The library: $EDDY_LIB, else the cmake build (build/cargo-target/release),
else cargo's own target/release.
"""

import ctypes
import json
import os
import pathlib
import subprocess
import sys

import pytest

try:
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # install it, as the test suite promises
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "pyarrow", "pytest"],
        capture_output=True,
        text=True,
    )
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        pytest.fail(
            "pyarrow is required for the ABI test and could not be installed with "
            f"`{sys.executable} -m pip install -q pyarrow pytest` (exit {proc.returncode}):\n"
            f"{proc.stdout}{proc.stderr}",
            pytrace=False,
        )

ROOT = pathlib.Path(__file__).resolve().parents[2]

# eddy_status values (frozen).
EDDY_OK = 0
EDDY_ERR_INVALID_ARGUMENT = 1
EDDY_ERR_SCHEMA = 3
EDDY_ERR_TIMEOUT = 6
EDDY_ERR_END_OF_STREAM = 8


def _find_library() -> pathlib.Path:
    env = os.environ.get("EDDY_LIB")
    if env:
        path = pathlib.Path(env)
        if not path.is_file():
            pytest.fail(f"EDDY_LIB={env} does not exist", pytrace=False)
        return path
    candidates = [
        ROOT / "build" / "cargo-target" / "release" / "libeddy.so",
        ROOT / "target" / "release" / "libeddy.so",
        ROOT / "build" / "cargo-target" / "debug" / "libeddy.so",
        ROOT / "target" / "debug" / "libeddy.so",
    ]
    for path in candidates:
        if path.is_file():
            return path
    pytest.fail(
        "libeddy.so not found: build it (cargo build --release, or scripts/test.sh) "
        "or set EDDY_LIB. Looked at: " + ", ".join(str(c) for c in candidates),
        pytrace=False,
    )


# --- Arrow C Data Interface structs ------------------------------------------


class ArrowSchema(ctypes.Structure):
    pass


ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p),
    ("name", ctypes.c_char_p),
    ("metadata", ctypes.c_char_p),
    ("flags", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowSchema))),
    ("dictionary", ctypes.POINTER(ArrowSchema)),
    ("release", ctypes.c_void_p),  # void (*)(struct ArrowSchema *)
    ("private_data", ctypes.c_void_p),
]


class ArrowArray(ctypes.Structure):
    pass


ArrowArray._fields_ = [
    ("length", ctypes.c_int64),
    ("null_count", ctypes.c_int64),
    ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowArray))),
    ("dictionary", ctypes.POINTER(ArrowArray)),
    ("release", ctypes.c_void_p),  # void (*)(struct ArrowArray *)
    ("private_data", ctypes.c_void_p),
]

_SCHEMA_RELEASE = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowSchema))
_ARRAY_RELEASE = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowArray))


def release_schema(s: ArrowSchema) -> None:
    if s.release:
        _SCHEMA_RELEASE(s.release)(ctypes.byref(s))


def release_array(a: ArrowArray) -> None:
    if a.release:
        _ARRAY_RELEASE(a.release)(ctypes.byref(a))


# --- the library ---------------------------------------------------------------

P = ctypes.c_void_p
PP = ctypes.POINTER(ctypes.c_void_p)


class Eddy:
    """Thin ctypes declarations of the functions this test uses."""

    def __init__(self, path: pathlib.Path):
        lib = ctypes.CDLL(str(path))
        sigs = {
            "eddy_version_string": (ctypes.c_char_p, []),
            "eddy_status_name": (ctypes.c_char_p, [ctypes.c_int]),
            "eddy_error_status": (ctypes.c_int, [P]),
            "eddy_error_message": (ctypes.c_char_p, [P]),
            "eddy_error_free": (None, [P]),
            "eddy_string_free": (None, [P]),
            "eddy_engine_open": (ctypes.c_int, [ctypes.c_char_p, PP, PP]),
            "eddy_engine_execute": (ctypes.c_int, [P, ctypes.c_char_p, PP]),
            "eddy_engine_flush": (ctypes.c_int, [P, ctypes.c_int32, PP]),
            "eddy_engine_stats_json": (ctypes.c_int, [P, PP, PP]),
            "eddy_engine_close": (ctypes.c_int, [P, PP]),
            "eddy_engine_free": (None, [P]),
            "eddy_input_open": (ctypes.c_int, [P, ctypes.c_char_p, PP, PP]),
            "eddy_input_push_arrow": (
                ctypes.c_int,
                [P, ctypes.POINTER(ArrowArray), ctypes.POINTER(ArrowSchema), PP],
            ),
            "eddy_input_free": (None, [P]),
            "eddy_subscribe": (ctypes.c_int, [P, ctypes.c_char_p, PP, PP]),
            "eddy_subscription_next": (
                ctypes.c_int,
                [P, ctypes.c_int32, ctypes.POINTER(ArrowArray), ctypes.POINTER(ArrowSchema), PP],
            ),
            "eddy_subscription_free": (None, [P]),
        }
        for name, (restype, argtypes) in sigs.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        self.lib = lib

    def call(self, name, *args, expect=EDDY_OK):
        """Calls `name(*args, &err)`; returns (status, message)."""
        err = ctypes.c_void_p()
        status = getattr(self.lib, name)(*args, ctypes.byref(err))
        message = ""
        if err.value:
            assert self.lib.eddy_error_status(err) == status
            message = self.lib.eddy_error_message(err).decode()
            self.lib.eddy_error_free(err)
        else:
            assert status == EDDY_OK, f"{name} failed without an error object"
        if expect is not None:
            assert status == expect, (
                f"{name}: {self.lib.eddy_status_name(status).decode()} ({message}), "
                f"expected {self.lib.eddy_status_name(expect).decode()}"
            )
        return status, message

    def stats(self, engine) -> str:
        out = ctypes.c_void_p()
        self.call("eddy_engine_stats_json", engine, ctypes.byref(out))
        text = ctypes.string_at(out.value).decode()
        self.lib.eddy_string_free(out)
        return text


@pytest.fixture(scope="module")
def eddy():
    return Eddy(_find_library())


@pytest.fixture
def engine(eddy):
    handle = ctypes.c_void_p()
    eddy.call("eddy_engine_open", None, ctypes.byref(handle))
    yield handle
    eddy.lib.eddy_engine_free(handle)


# --- helpers -------------------------------------------------------------------

SCHEMA_SQL = (
    b"CREATE STREAM S (i INT, l BIGINT, d DOUBLE, f FLOAT, b BOOL, s STRING, t TIMESTAMP);"
    b"INSERT INTO Out SELECT i, l, d, f, b, s, t FROM S WHERE d > 1.0"
)

ARROW_SCHEMA = pa.schema(
    [
        ("i", pa.int32()),
        ("l", pa.int64()),
        ("d", pa.float64()),
        ("f", pa.float32()),
        ("b", pa.bool_()),
        ("s", pa.string()),
        ("t", pa.timestamp("ms")),
    ]
)


def make_batch() -> pa.RecordBatch:
    return pa.record_batch(
        [
            pa.array([1, None, -3, 2147483647, -2147483648, 6], pa.int32()),
            pa.array([10, 20, None, 2**62, -(2**63), 0], pa.int64()),
            pa.array([0.5, 1.5, 2.5, None, 1e300, -7.25], pa.float64()),
            pa.array([1.25, None, -0.5, 3.0, 0.0, 1e30], pa.float32()),
            pa.array([True, False, None, True, False, True], pa.bool_()),
            pa.array(["a", "", None, "h\u00e9llo \u2713", "x" * 100, "z"], pa.string()),
            pa.array([0, 1700000000123, None, -1, 86400000, 5], pa.timestamp("ms")),
        ],
        schema=ARROW_SCHEMA,
    )


def export(batch: pa.RecordBatch):
    arr, sch = ArrowArray(), ArrowSchema()
    batch._export_to_c(ctypes.addressof(arr), ctypes.addressof(sch))
    assert arr.release and sch.release
    return arr, sch


def push(eddy, inp, batch, expect=EDDY_OK):
    arr, sch = export(batch)
    status, message = eddy.call(
        "eddy_input_push_arrow", inp, ctypes.byref(arr), ctypes.byref(sch), expect=expect
    )
    # Moved, even on error: eddy released it and left release NULL.
    assert arr.release is None
    release_schema(sch)  # only borrowed
    return status, message


def read_all(eddy, sub, final_status=EDDY_ERR_TIMEOUT, timeout_ms=0):
    batches = []
    while True:
        arr, sch = ArrowArray(), ArrowSchema()
        status, _ = eddy.call(
            "eddy_subscription_next", sub, timeout_ms, ctypes.byref(arr), ctypes.byref(sch), expect=None
        )
        if status != EDDY_OK:
            assert status == final_status
            assert arr.release is None and sch.release is None
            return batches
        batches.append(pa.RecordBatch._import_from_c(ctypes.addressof(arr), ctypes.addressof(sch)))
        # pyarrow took ownership of both.
        assert arr.release is None and sch.release is None


def to_table(batches) -> pa.Table:
    """The result batches as one table (an empty one with the stream's schema)."""
    return pa.Table.from_batches(batches, schema=None if batches else ARROW_SCHEMA)


def open_handles(eddy, engine):
    eddy.call("eddy_engine_execute", engine, SCHEMA_SQL)
    inp, raw, out = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    eddy.call("eddy_input_open", engine, b"S", ctypes.byref(inp))
    eddy.call("eddy_subscribe", engine, b"S", ctypes.byref(raw))
    eddy.call("eddy_subscribe", engine, b"Out", ctypes.byref(out))
    return inp, raw, out


def free_handles(eddy, inp, *subs):
    eddy.lib.eddy_input_free(inp)
    for s in subs:
        eddy.lib.eddy_subscription_free(s)


# --- tests ---------------------------------------------------------------------


def test_version(eddy):
    assert eddy.lib.eddy_version_string().decode().count(".") == 2
    assert eddy.lib.eddy_status_name(EDDY_ERR_SCHEMA) == b"EDDY_ERR_SCHEMA"


def test_roundtrip(eddy, engine):
    inp, raw, out = open_handles(eddy, engine)
    batch = make_batch()
    push(eddy, inp, batch)
    eddy.call("eddy_engine_flush", engine, 10000)

    got = to_table(read_all(eddy, raw))
    expected = pa.Table.from_batches([batch])
    assert got.schema.names == expected.schema.names
    assert got.schema.types == expected.schema.types
    assert got.equals(expected), f"\n{got.to_pylist()}\n!=\n{expected.to_pylist()}"

    got_out = to_table(read_all(eddy, out))
    expected_out = expected.filter(pc.greater(expected["d"], 1.0))
    assert got_out.num_rows == 3  # d = 1.5, 2.5, 1e300 (NULL d is dropped)
    assert got_out.schema.types == expected_out.schema.types
    assert got_out.equals(expected_out), f"\n{got_out.to_pylist()}\n!=\n{expected_out.to_pylist()}"

    free_handles(eddy, inp, raw, out)
    eddy.call("eddy_engine_close", engine)


def test_columns_by_name_and_large_string(eddy, engine):
    """Columns match by name in any order; large_string is accepted for STRING."""
    inp, raw, out = open_handles(eddy, engine)
    batch = make_batch()
    reordered = pa.record_batch(
        [batch.column(name) for name in reversed(ARROW_SCHEMA.names)],
        names=list(reversed(ARROW_SCHEMA.names)),
    )
    idx = reordered.schema.get_field_index("s")
    large = reordered.set_column(idx, "s", reordered.column("s").cast(pa.large_string()))
    push(eddy, inp, reordered)
    push(eddy, inp, large)
    eddy.call("eddy_engine_flush", engine, 10000)
    got = to_table(read_all(eddy, raw))
    expected = pa.Table.from_batches([batch, batch])
    assert got.equals(expected)
    free_handles(eddy, inp, raw, out)


def test_rejected_batches(eddy, engine):
    inp, raw, out = open_handles(eddy, engine)
    batch = make_batch()

    wrong_type = batch.set_column(0, "i", batch.column("i").cast(pa.int64()))
    _, message = push(eddy, inp, wrong_type, expect=EDDY_ERR_SCHEMA)
    assert "'i'" in message

    missing = batch.drop_columns(["s"])
    _, message = push(eddy, inp, missing, expect=EDDY_ERR_SCHEMA)
    assert "'s'" in message

    extra = batch.append_column("extra", pa.array(range(batch.num_rows), pa.int64()))
    push(eddy, inp, extra, expect=EDDY_ERR_SCHEMA)

    wrong_ts_unit = batch.set_column(6, "t", batch.column("t").cast(pa.timestamp("us")))
    push(eddy, inp, wrong_ts_unit, expect=EDDY_ERR_SCHEMA)

    # Not a struct: a plain array exported on its own.
    arr, sch = ArrowArray(), ArrowSchema()
    pa.array([1, 2, 3], pa.int32())._export_to_c(ctypes.addressof(arr), ctypes.addressof(sch))
    eddy.call(
        "eddy_input_push_arrow", inp, ctypes.byref(arr), ctypes.byref(sch), expect=EDDY_ERR_INVALID_ARGUMENT
    )
    assert arr.release is None
    release_schema(sch)

    # Nothing was ingested.
    eddy.call("eddy_engine_flush", engine, 10000)
    assert read_all(eddy, raw) == []
    assert read_all(eddy, out) == []
    stats = eddy.stats(engine)
    assert '"name":"S","events_in":0' in stats, stats
    assert '"rejected":0' not in stats.split('"name":"S"')[1].split("}")[0], stats

    # The input still works.
    push(eddy, inp, batch)
    eddy.call("eddy_engine_flush", engine, 10000)
    assert to_table(read_all(eddy, raw)).equals(pa.Table.from_batches([batch]))
    free_handles(eddy, inp, raw, out)


def test_end_of_stream(eddy, engine):
    inp, raw, out = open_handles(eddy, engine)
    push(eddy, inp, make_batch())
    eddy.call("eddy_engine_close", engine)  # drains without a flush
    got = to_table(read_all(eddy, out, final_status=EDDY_ERR_END_OF_STREAM, timeout_ms=1000))
    assert got.num_rows == 3
    free_handles(eddy, inp, raw, out)


def test_stats_json(eddy, engine):
    """Stats are valid JSON, with per-stream and per-query counters."""
    eddy.call(
        "eddy_engine_execute",
        engine,
        b"CREATE STREAM S (i INT, s STRING);\n"
        b"INSERT INTO \"Out\" SELECT i, s FROM S WHERE s <> 'it''s \"quoted\"'",
    )
    inp = ctypes.c_void_p()
    eddy.call("eddy_input_open", engine, b"S", ctypes.byref(inp))
    batch = pa.record_batch(
        [pa.array([1, 2, 3], pa.int32()), pa.array(["a", "it's \"quoted\"", None])], names=["i", "s"]
    )
    push(eddy, inp, batch)
    eddy.call("eddy_engine_flush", engine, 10000)
    stats = json.loads(eddy.stats(engine))
    assert stats["closed"] is False
    streams = {s["name"]: s for s in stats["streams"]}
    assert streams["S"]["events_in"] == 3
    assert streams["Out"]["events_in"] == 1  # 'a' (NULL <> x is NULL: dropped)
    (query,) = stats["queries"]
    assert query["input"] == "S" and query["output"] == "Out"
    assert query["rows_in"] == 3 and query["rows_out"] == 1 and query["errors"] == 0
    assert "quoted" in query["sql"]
    eddy.lib.eddy_input_free(inp)
    eddy.call("eddy_engine_close", engine)
    assert json.loads(eddy.stats(engine))["closed"] is True
