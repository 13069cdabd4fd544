"""Engine, Input and Subscription over the eddy C API."""

import ctypes
import datetime as _dt
import json
import numbers
import threading

from . import _lib
from ._errors import ClosedError, EddyTimeout, EndOfStream, Error, SchemaError, error_for

_c = _lib.lib

OK, ERR_SCHEMA, ERR_TIMEOUT, ERR_CLOSED, ERR_END_OF_STREAM = 0, 3, 6, 7, 8

_I32 = (-(2**31), 2**31 - 1)
_I64 = (-(2**63), 2**63 - 1)
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _pa():
    import pyarrow  # imported lazily: only needed for Arrow paths
    return pyarrow


def _call(fn, *args):
    """Calls fn(*args, &err); returns the status on OK, raises eddy.Error otherwise."""
    err = ctypes.c_void_p()
    status = fn(*args, ctypes.byref(err))
    if status == OK:
        return status
    raise _take_error(status, err)


def _call_status(fn, *args):
    """Calls fn(*args, &err); returns (status, exception-or-None)."""
    err = ctypes.c_void_p()
    status = fn(*args, ctypes.byref(err))
    if status == OK:
        return status, None
    return status, _take_error(status, err)


def _take_error(status, err):
    if err.value:
        message = (_c.eddy_error_message(err) or b"").decode("utf-8", "replace")
        _c.eddy_error_free(err)
    else:
        message = ""
    name = (_c.eddy_status_name(status) or b"").decode()
    return error_for(status, message, name)


def _ms(timeout):
    """Seconds (None: forever) -> int32 milliseconds (-1: forever)."""
    if timeout is None:
        return -1
    if timeout < 0:
        return -1
    return min(int(round(timeout * 1000)), 2**31 - 1)


def _options_string(options):
    if options is None:
        return None
    if isinstance(options, str):
        return options.encode()
    if isinstance(options, dict):
        parts = []
        for k, v in options.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            parts.append(f"{k}={v}")
        return ";".join(parts).encode()
    raise TypeError("options must be a str, a dict or None")


def _import_batch(arr, sch):
    return _pa().RecordBatch._import_from_c(ctypes.addressof(arr), ctypes.addressof(sch))


def _to_ms(value):
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        delta = value - _EPOCH
        return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(value, _dt.date):
        return (value - _dt.date(1970, 1, 1)).days * 86400000
    raise TypeError(value)


class _Owned:
    """A C handle owned by this object: a context manager that closes then
    frees it, and freed on garbage collection as a safety net."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.close()
        finally:
            self.free()
        return False

    def __del__(self):
        try:
            self.free()
        except Exception:
            pass


class Engine(_Owned):
    """An eddy engine. ``options`` is None, ``"key=value;key=value"`` or a dict."""

    def __init__(self, options=None):
        handle = ctypes.c_void_p()
        _call(_c.eddy_engine_open, _options_string(options), ctypes.byref(handle))
        self._h = handle
        self._lock = threading.Lock()
        self._callback_errors = []
        self._retired_callbacks = []
        self._closed = False

    # -- helpers
    def _handle(self):
        if self._h is None:
            raise ClosedError("the engine handle was freed", 7, "EDDY_ERR_CLOSED")
        return self._h

    # -- API
    @property
    def closed(self):
        return self._closed or self._h is None

    def execute(self, sql):
        """Runs one or more ';'-separated statements (all apply or none do)."""
        _call(_c.eddy_engine_execute, self._handle(), sql.encode())

    def flush(self, timeout=None):
        """Waits until every event pushed so far is processed and its results
        are ready. ``timeout`` in seconds (None waits); raises EddyTimeout."""
        _call(_c.eddy_engine_flush, self._handle(), _ms(timeout))

    def poll(self, timeout=0):
        """Runs pending subscription callbacks on this thread, waiting up to
        ``timeout`` seconds (None: forever) for at least one. Returns the
        number of batches delivered. Raises ClosedError once the engine is
        closed and everything was delivered, and re-raises the first exception
        a callback raised."""
        delivered = ctypes.c_size_t(0)
        status, exc = _call_status(_c.eddy_engine_poll, self._handle(), _ms(timeout),
                                   ctypes.byref(delivered))
        if self._callback_errors:
            first = self._callback_errors[0]
            self._callback_errors.clear()
            raise first
        if exc is not None:
            raise exc
        return delivered.value

    def advance_time(self, now_ms):
        """Moves the engine clock to ``now_ms`` (option clock=manual only)."""
        if isinstance(now_ms, _dt.datetime):
            now_ms = _to_ms(now_ms)
        _call(_c.eddy_engine_advance_time, self._handle(), int(now_ms))

    def stats(self):
        """Per-stream and per-query counters as a dict."""
        out = ctypes.c_void_p()
        _call(_c.eddy_engine_stats_json, self._handle(), ctypes.byref(out))
        try:
            text = ctypes.string_at(out.value).decode()
        finally:
            _c.eddy_string_free(out)
        return json.loads(text)

    def close(self):
        """Drains inputs, lets queries emit what they hold, ends every
        subscription. Idempotent. Results already produced stay readable."""
        if self._h is None or self._closed:
            return
        status, exc = _call_status(_c.eddy_engine_close, self._h)
        self._closed = True
        if exc is not None and status != ERR_CLOSED:
            raise exc

    def free(self):
        """Closes (if needed) and frees the handle."""
        h, self._h = self._h, None
        if h is not None:
            self._closed = True
            _c.eddy_engine_free(h)

    def input(self, stream):
        """Opens a producer (Input) on ``stream``."""
        return Input(self, stream)

    def subscribe(self, stream):
        """Subscribes to everything ``stream`` emits from now on."""
        return Subscription(self, stream)


# The typed setters, by name.
_SETTERS = {
    "bool": _c.eddy_input_set_bool,
    "i32": _c.eddy_input_set_i32,
    "i64": _c.eddy_input_set_i64,
    "f32": _c.eddy_input_set_f32,
    "f64": _c.eddy_input_set_f64,
}
# eddy_type (eddy.h) -> the setter for that column type.
_SETTER_OF_TYPE = {1: "bool", 2: "i32", 3: "i64", 4: "f32", 5: "f64", 6: "str", 7: "i64"}
# The setter a Python value calls when the column type does not take it, so
# that eddy's own EDDY_ERR_SCHEMA message names the column and its type.
_NATURAL = {"bool": "bool", "int": "i64", "float": "f64", "str": "str", "ts": "i64"}


class Input(_Owned):
    """A producer on one stream; use it from one thread at a time."""

    def __init__(self, engine, stream):
        self._engine = engine
        self._stream = stream
        self._h = None
        self._open()
        self._names = {}

    def _open(self):
        h = ctypes.c_void_p()
        _call(_c.eddy_input_open, self._engine._handle(), self._stream.encode(), ctypes.byref(h))
        self._h = h
        self.num_columns = _c.eddy_input_num_columns(h)
        self._setters = [_SETTER_OF_TYPE.get(_c.eddy_input_column_type(h, c))
                         for c in range(self.num_columns)]

    def _handle(self):
        if self._h is None:
            raise ClosedError("the input was freed", 7, "EDDY_ERR_CLOSED")
        return self._h

    @property
    def stream(self):
        return self._stream

    def column_index(self, name):
        key = name.lower()
        idx = self._names.get(key)
        if idx is None:
            out = ctypes.c_uint32()
            _call(_c.eddy_input_column_index, self._handle(), name.encode(), ctypes.byref(out))
            idx = self._names[key] = out.value
        return idx

    # -- rows
    def _prepare(self, row):
        """Row -> list of (col, kind, value) checked before a row is begun."""
        if isinstance(row, dict):
            items = [(self.column_index(str(k)), v) for k, v in row.items()]
        elif isinstance(row, (tuple, list)):
            if len(row) > self.num_columns:
                raise error_for(1, f"row has {len(row)} values; stream '{self._stream}' has "
                                   f"{self.num_columns} columns")
            items = list(enumerate(row))
        else:
            raise TypeError("a row is a tuple/list in column order or a dict by column name")
        out = []
        for col, v in items:
            if v is None:
                out.append((col, "null", None))
            elif isinstance(v, bool):
                out.append((col, "bool", v))
            elif isinstance(v, numbers.Integral):
                v = int(v)
                if not _I64[0] <= v <= _I64[1]:
                    raise OverflowError(f"column {col}: {v} does not fit in 64 bits")
                out.append((col, "int", v))
            elif isinstance(v, numbers.Real):
                out.append((col, "float", float(v)))
            elif isinstance(v, str):
                out.append((col, "str", v.encode("utf-8")))
            elif isinstance(v, (bytes, bytearray, memoryview)):
                out.append((col, "str", bytes(v)))
            elif isinstance(v, (_dt.datetime, _dt.date)):
                out.append((col, "ts", _to_ms(v)))
            else:
                raise TypeError(f"column {col}: unsupported value type {type(v).__name__}")
        return out

    def _set(self, h, col, kind, value):
        if kind == "null":
            _call(_c.eddy_input_set_null, h, col)
            return
        setter = self._setters[col] if 0 <= col < len(self._setters) else None
        if kind == "int" and setter in ("f32", "f64"):
            value = float(value)  # an int into a float column is lossless enough
        elif kind == "int" and setter == "i32":
            if not _I32[0] <= value <= _I32[1]:
                raise SchemaError(f"column {col}: {value} does not fit in INT", 3, "EDDY_ERR_SCHEMA")
        elif kind == "float" and setter == "f32":
            pass
        elif setter is None or _NATURAL[kind] != setter:
            setter = _NATURAL[kind]  # eddy refuses it with a message naming the column
        if setter == "str":
            _call(_c.eddy_input_set_str, h, col, value, len(value))
        else:
            _call(_SETTERS[setter], h, col, value)

    def append(self, row):
        """Appends one row: a tuple/list in column order or a dict by column
        name. None is NULL; unset columns are NULL. A row with a bad value is
        not ingested at all."""
        values = self._prepare(row)
        h = self._handle()
        _call(_c.eddy_input_begin_row, h)
        try:
            for col, kind, value in values:
                self._set(h, col, kind, value)
        except BaseException:
            _c.eddy_input_abort_row(h, None)
            raise
        _call(_c.eddy_input_end_row, h)

    def append_many(self, rows):
        n = 0
        for row in rows:
            self.append(row)
            n += 1
        return n

    # -- Arrow
    def push(self, data, schema=None):
        """Pushes Arrow data: a pyarrow.RecordBatch, Table or RecordBatchReader,
        a pandas.DataFrame, a dict of columns, a list of batches, or any object
        with ``__arrow_c_stream__``/``__arrow_c_array__``. ``schema`` (a
        pyarrow.Schema) is used to build/cast the data, e.g. to get int32 for an
        INT column. Returns the number of rows pushed."""
        pa = _pa()
        for batch in self._batches(pa, data, schema):
            self._push_batch(batch)
        return self._pushed

    def _batches(self, pa, data, schema):
        self._pushed = 0
        if isinstance(data, pa.RecordBatch):
            yield data.cast(schema) if schema is not None else data
        elif isinstance(data, pa.Table):
            if schema is not None:
                data = data.cast(schema)
            yield from data.to_batches()
        elif isinstance(data, pa.RecordBatchReader):
            for b in data:
                yield b.cast(schema) if schema is not None else b
        elif type(data).__module__.startswith("pandas") and type(data).__name__ == "DataFrame":
            yield from pa.Table.from_pandas(data, schema=schema, preserve_index=False).to_batches()
        elif isinstance(data, dict):
            yield pa.record_batch(data, schema=schema) if schema is not None else pa.record_batch(data)
        elif isinstance(data, (list, tuple)):
            for item in data:
                yield from self._batches(pa, item, schema)
        elif hasattr(data, "__arrow_c_stream__"):
            yield from self._batches(pa, pa.RecordBatchReader.from_stream(data), schema)
        elif hasattr(data, "__arrow_c_array__"):
            yield from self._batches(pa, pa.record_batch(data), schema)
        else:
            raise TypeError(f"cannot push a {type(data).__name__}")

    def _push_batch(self, batch):
        h = self._handle()
        arr, sch = _lib.ArrowArray(), _lib.ArrowSchema()
        batch._export_to_c(ctypes.addressof(arr), ctypes.addressof(sch))
        try:
            _call(_c.eddy_input_push_arrow, h, ctypes.byref(arr), ctypes.byref(sch))
        finally:
            _lib.release_array(arr)  # eddy moved it (release is NULL); defensive
            _lib.release_schema(sch)  # borrowed by eddy: ours to release
        self._pushed += batch.num_rows

    def watermark(self, ts):
        """Declares that no row with an earlier event time follows on this
        (event-time) stream: windows ending at or before ``ts`` fire. ``ts``
        is epoch milliseconds or a datetime."""
        ms = ts if isinstance(ts, int) else _to_ms(ts)
        _call(_c.eddy_input_watermark, self._handle(), ms)

    # -- lifecycle
    def close(self):
        """Ends this input: its stream sees end of input. Idempotent."""
        if self._h is None:
            return
        status, exc = _call_status(_c.eddy_input_close, self._h)
        if exc is not None and status != ERR_CLOSED:
            raise exc

    def free(self):
        h, self._h = self._h, None
        if h is not None:
            _c.eddy_input_free(h)


class Subscription(_Owned):
    """Everything a stream emits after subscribing. Pull batches with
    ``next``/iteration/``read_all``, or push them to a callback run by
    ``Engine.poll``."""

    def __init__(self, engine, stream):
        self._engine = engine
        self._stream = stream
        h = ctypes.c_void_p()
        _call(_c.eddy_subscribe, engine._handle(), stream.encode(), ctypes.byref(h))
        self._h = h
        self.num_columns = _c.eddy_subscription_num_columns(h)
        self._schema = None
        self._callback = None  # ctypes trampoline, kept alive
        self._ended = False

    def _handle(self):
        if self._h is None:
            raise ClosedError("the subscription was freed", 7, "EDDY_ERR_CLOSED")
        return self._h

    @property
    def stream(self):
        return self._stream

    @property
    def schema(self):
        """The stream's schema (a pyarrow.Schema), asked of the engine."""
        if self._schema is None:
            pa = _pa()
            sch = _lib.ArrowSchema()
            _call(_c.eddy_engine_stream_schema, self._engine._handle(), self._stream.encode(),
                  ctypes.byref(sch))
            # Moves the struct type out of `sch` (pyarrow releases it).
            struct = pa.DataType._import_from_c(ctypes.addressof(sch))
            self._schema = pa.schema(list(struct))
        return self._schema

    def next(self, timeout=None):
        """The next result batch as a pyarrow.RecordBatch; None when nothing
        came within ``timeout`` seconds (None waits forever). Raises
        EndOfStream once the engine closed and everything was read."""
        if self._ended:
            raise EndOfStream("end of stream", ERR_END_OF_STREAM, "EDDY_ERR_END_OF_STREAM")
        h = self._handle()
        arr, sch = _lib.ArrowArray(), _lib.ArrowSchema()
        status, exc = _call_status(_c.eddy_subscription_next, h, _ms(timeout),
                                   ctypes.byref(arr), ctypes.byref(sch))
        if status == OK:
            batch = _import_batch(arr, sch)
            if self._schema is None:
                self._schema = batch.schema
            return batch
        if status == ERR_TIMEOUT:
            return None
        if status == ERR_END_OF_STREAM:
            self._ended = True
        raise exc

    def __iter__(self):
        """Yields batches until end of stream (blocks until the engine closes)."""
        while True:
            try:
                batch = self.next(None)
            except EndOfStream:
                return
            if batch is not None:
                yield batch

    def read_all(self):
        """Everything available now, as a pyarrow.Table (does not wait)."""
        pa = _pa()
        batches = []
        while True:
            try:
                b = self.next(0)
            except EndOfStream:
                break
            if b is None:
                break
            batches.append(b)
        if batches:
            return pa.Table.from_batches(batches)
        return pa.Table.from_batches([], schema=self.schema)

    def set_callback(self, fn):
        """Delivers each result batch (a pyarrow.RecordBatch) to ``fn`` from
        inside Engine.poll. ``None`` removes the callback (back to pull mode).
        An exception raised by ``fn`` is re-raised by the poll that ran it."""
        h = self._handle()
        if fn is None:
            _call(_c.eddy_subscription_set_callback, h, _lib.BATCH_CALLBACK(), None, None)
            if self._callback is not None:
                self._engine._retired_callbacks.append(self._callback)
            self._callback = None
            return
        engine = self._engine
        sub = self

        def trampoline(_user_data, batch_ptr):
            try:
                arr, sch = _lib.ArrowArray(), _lib.ArrowSchema()
                _call(_c.eddy_batch_export_arrow, batch_ptr, ctypes.byref(arr), ctypes.byref(sch))
                batch = _import_batch(arr, sch)
                if sub._schema is None:
                    sub._schema = batch.schema
                fn(batch)
            except BaseException as e:  # never let it unwind into C
                engine._callback_errors.append(e)

        cb = _lib.BATCH_CALLBACK(trampoline)
        _call(_c.eddy_subscription_set_callback, h, cb, None, None)
        if self._callback is not None:
            self._engine._retired_callbacks.append(self._callback)
        self._callback = cb

    def __arrow_c_stream__(self, requested_schema=None):
        """Arrow PyCapsule stream of this subscription's batches, with the
        stream's schema; it yields batches until end of stream, so reading it
        to the end blocks until the engine closes."""
        pa = _pa()
        reader = pa.RecordBatchReader.from_batches(self.schema, iter(self))
        return reader.__arrow_c_stream__(requested_schema)

    def free(self):
        h, self._h = self._h, None
        if h is not None:
            _c.eddy_subscription_free(h)
        if self._callback is not None:
            # It may be running right now (freed from inside its callback):
            # keep the ctypes thunk alive as long as the engine object.
            self._engine._retired_callbacks.append(self._callback)
            self._callback = None

    def close(self):
        self.free()

