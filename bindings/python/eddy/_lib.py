"""Locating libeddy.so and declaring its C functions with ctypes."""

import ctypes
import ctypes.util
import os
import pathlib

_HERE = pathlib.Path(__file__).resolve().parent


def _candidates():
    env = os.environ.get("EDDY_LIB")
    if env:
        # An explicit choice: only that one.
        return [("EDDY_LIB", pathlib.Path(env))]
    out = [("bundled", _HERE / "libeddy.so")]
    # Repo build locations: <repo>/bindings/python/eddy/_lib.py
    parents = _HERE.parents
    if len(parents) >= 3 and (parents[2] / "include" / "eddy.h").is_file():
        root = parents[2]
        for sub in (
            "build/cargo-target/release",
            "target/release",
            "build/cargo-target/debug",
            "target/debug",
        ):
            out.append(("repo build", root / sub / "libeddy.so"))
    return out


def _load():
    tried = []
    for origin, path in _candidates():
        if path.is_file():
            try:
                return ctypes.CDLL(str(path)), str(path)
            except OSError as e:
                tried.append(f"{path} ({origin}): {e}")
                continue
        tried.append(f"{path} ({origin}): not found")
        if origin == "EDDY_LIB":
            break
    if not os.environ.get("EDDY_LIB"):
        name = ctypes.util.find_library("eddy")
        if name:
            try:
                return ctypes.CDLL(name), name
            except OSError as e:
                tried.append(f"{name} (find_library): {e}")
        else:
            tried.append("ctypes.util.find_library('eddy'): nothing")
    raise ImportError(
        "eddy: cannot load libeddy.so. Set EDDY_LIB to its path, or build it "
        "(cargo build --release). Tried:\n  " + "\n  ".join(tried)
    )


lib, path = _load()


# --- Arrow C Data Interface ----------------------------------------------------


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
    ("release", ctypes.c_void_p),
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
    ("release", ctypes.c_void_p),
    ("private_data", ctypes.c_void_p),
]

_SCHEMA_RELEASE = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowSchema))
_ARRAY_RELEASE = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowArray))


def release_schema(s):
    if s.release:
        _SCHEMA_RELEASE(s.release)(ctypes.byref(s))


def release_array(a):
    if a.release:
        _ARRAY_RELEASE(a.release)(ctypes.byref(a))


# --- functions -------------------------------------------------------------------

P = ctypes.c_void_p
PP = ctypes.POINTER(ctypes.c_void_p)
I = ctypes.c_int
U32 = ctypes.c_uint32
SZ = ctypes.c_size_t
BATCH_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)

_SIGS = {
    "eddy_version_number": (ctypes.c_uint32, []),
    "eddy_version_string": (ctypes.c_char_p, []),
    "eddy_status_name": (ctypes.c_char_p, [I]),
    "eddy_error_status": (I, [P]),
    "eddy_error_message": (ctypes.c_char_p, [P]),
    "eddy_error_free": (None, [P]),
    "eddy_string_free": (None, [P]),
    "eddy_batch_export_arrow": (
        I, [P, ctypes.POINTER(ArrowArray), ctypes.POINTER(ArrowSchema), PP]),
    "eddy_engine_open": (I, [ctypes.c_char_p, PP, PP]),
    "eddy_engine_execute": (I, [P, ctypes.c_char_p, PP]),
    "eddy_engine_flush": (I, [P, ctypes.c_int32, PP]),
    "eddy_engine_poll": (I, [P, ctypes.c_int32, ctypes.POINTER(SZ), PP]),
    "eddy_engine_advance_time": (I, [P, ctypes.c_int64, PP]),
    "eddy_engine_stats_json": (I, [P, PP, PP]),
    "eddy_engine_close": (I, [P, PP]),
    "eddy_engine_free": (None, [P]),
    "eddy_input_open": (I, [P, ctypes.c_char_p, PP, PP]),
    "eddy_input_num_columns": (U32, [P]),
    "eddy_input_column_type": (ctypes.c_int, [P, U32]),
    "eddy_input_abort_row": (I, [P, PP]),
    "eddy_input_column_index": (I, [P, ctypes.c_char_p, ctypes.POINTER(U32), PP]),
    "eddy_input_begin_row": (I, [P, PP]),
    "eddy_input_set_null": (I, [P, U32, PP]),
    "eddy_input_set_bool": (I, [P, U32, ctypes.c_bool, PP]),
    "eddy_input_set_i32": (I, [P, U32, ctypes.c_int32, PP]),
    "eddy_input_set_i64": (I, [P, U32, ctypes.c_int64, PP]),
    "eddy_input_set_f32": (I, [P, U32, ctypes.c_float, PP]),
    "eddy_input_set_f64": (I, [P, U32, ctypes.c_double, PP]),
    "eddy_input_set_str": (I, [P, U32, ctypes.c_char_p, SZ, PP]),
    "eddy_input_end_row": (I, [P, PP]),
    "eddy_input_push_arrow": (
        I, [P, ctypes.POINTER(ArrowArray), ctypes.POINTER(ArrowSchema), PP]),
    "eddy_input_close": (I, [P, PP]),
    "eddy_input_watermark": (I, [P, ctypes.c_int64, PP]),
    "eddy_input_free": (None, [P]),
    "eddy_subscribe": (I, [P, ctypes.c_char_p, PP, PP]),
    "eddy_subscription_next": (
        I, [P, ctypes.c_int32, ctypes.POINTER(ArrowArray), ctypes.POINTER(ArrowSchema), PP]),
    "eddy_engine_stream_schema": (I, [P, ctypes.c_char_p, ctypes.POINTER(ArrowSchema), PP]),
    "eddy_subscription_set_callback": (I, [P, BATCH_CALLBACK, P, P, PP]),
    "eddy_subscription_num_columns": (U32, [P]),
    "eddy_subscription_free": (None, [P]),
}

for _name, (_res, _args) in _SIGS.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args
