"""Tests of the eddy Python binding (run with EDDY_LIB set or a repo build)."""

import datetime as dt
import subprocess
import sys
import threading

import pytest

pa = pytest.importorskip("pyarrow")

try:
    import pandas as pd
except ImportError:  # install it, as the brief promises
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pandas"], check=False)
    import importlib

    importlib.invalidate_caches()
    try:
        import pandas as pd
    except ImportError:
        pd = None

import eddy

ALL_TYPES = "CREATE STREAM S (i INT, l BIGINT, d DOUBLE, f FLOAT, b BOOL, s STRING, t TIMESTAMP)"
SCHEMA = pa.schema([
    ("i", pa.int32()), ("l", pa.int64()), ("d", pa.float64()), ("f", pa.float32()),
    ("b", pa.bool_()), ("s", pa.string()), ("t", pa.timestamp("ms")),
])


@pytest.fixture
def eng():
    with eddy.Engine() as e:
        yield e


def make_batch():
    return pa.record_batch([
        pa.array([1, None, -3, 2147483647], pa.int32()),
        pa.array([10, 20, None, -(2**63)], pa.int64()),
        pa.array([0.5, 1.5, 2.5, None], pa.float64()),
        pa.array([1.25, None, -0.5, 3.0], pa.float32()),
        pa.array([True, False, None, True], pa.bool_()),
        pa.array(["a", "", None, "h\u00e9llo \u2713"], pa.string()),
        pa.array([0, 1700000000123, None, -1], pa.timestamp("ms")),
    ], schema=SCHEMA)


def test_version_and_status_names():
    assert eddy.library_version().count(".") == 2
    assert eddy.status_name(2) == "EDDY_ERR_SQL"


def test_sql_error(eng):
    with pytest.raises(eddy.SqlError) as info:
        eng.execute("SELEC x FROM nowhere")
    e = info.value
    assert "line 1:" in str(e) and e.message.startswith("line 1:1:")
    assert e.status == 2 and e.status_name == "EDDY_ERR_SQL"
    assert isinstance(e, eddy.Error)


def test_every_status_maps_to_a_class():
    from eddy._errors import error_for
    expected = {
        1: eddy.InvalidArgumentError, 2: eddy.SqlError, 3: eddy.SchemaError,
        4: eddy.NotFoundError, 5: eddy.FullError, 6: eddy.EddyTimeout, 7: eddy.ClosedError,
        8: eddy.EndOfStream, 9: eddy.EddyIOError, 10: eddy.CorruptError,
        11: eddy.InternalError, 12: eddy.PanicError,
    }
    for status, cls in expected.items():
        e = error_for(status, "m")
        assert type(e) is cls and e.status == status
        assert e.status_name == eddy.status_name(status)
    assert eddy.TimeoutError_ is eddy.EddyTimeout
    assert isinstance(error_for(6, "m"), TimeoutError)
    assert type(error_for(99, "m")) is eddy.Error


def test_errors_raised(eng):
    with pytest.raises(eddy.InvalidArgumentError, match="unknown option 'bogus'"):
        eddy.Engine({"bogus": 1})
    with pytest.raises(eddy.NotFoundError):
        eng.input("Nope")
    with pytest.raises(eddy.InvalidArgumentError, match="clock=manual"):
        eng.advance_time(5)
    eng.execute("CREATE STREAM S (x INT)")
    with eng.input("S") as inp:
        with pytest.raises(eddy.NotFoundError):
            inp.append({"nope": 1})
        with pytest.raises(eddy.SchemaError, match="set_str"):
            inp.append(("text",))
        with pytest.raises(eddy.SchemaError):
            inp.append((2**40,))  # does not fit INT
        with pytest.raises(eddy.InvalidArgumentError):
            inp.append((1, 2))  # too many values
        with pytest.raises(eddy.SchemaError):
            inp.push(pa.record_batch({"x": pa.array([1], pa.int64())}))
        inp.append((5,))  # still usable after the failures
    eng.close()
    eng.close()  # idempotent
    with pytest.raises(eddy.ClosedError):
        eng.execute("CREATE STREAM T (x INT)")


def test_manual_clock():
    with eddy.Engine({"clock": "manual"}) as e:
        e.advance_time(1000)
        e.advance_time(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))


def test_rows_tuple_and_dict(eng):
    eng.execute(ALL_TYPES + "; INSERT INTO Out SELECT i, s FROM S WHERE d > 1.0")
    raw, out = eng.subscribe("S"), eng.subscribe("Out")
    with eng.input("S") as inp:
        inp.append((1, 2, 3.5, 4.5, True, "h\u00e9", 5))
        inp.append({"S": None, "i": 7, "d": 2, "t": dt.datetime(2024, 1, 2, 3, 4, 5, 6000)})
        inp.append([None, None, 0.5])
        assert inp.append_many([(None, -1, 9.0, None, False, "")]) == 1
    eng.flush(timeout=10)
    rows = raw.read_all().to_pylist()
    assert rows == [
        {"i": 1, "l": 2, "d": 3.5, "f": 4.5, "b": True, "s": "h\u00e9",
         "t": dt.datetime(1970, 1, 1, 0, 0, 0, 5000)},
        {"i": 7, "l": None, "d": 2.0, "f": None, "b": None, "s": None,
         "t": dt.datetime(2024, 1, 2, 3, 4, 5, 6000)},
        {"i": None, "l": None, "d": 0.5, "f": None, "b": None, "s": None, "t": None},
        {"i": None, "l": -1, "d": 9.0, "f": None, "b": False, "s": "", "t": None},
    ]
    assert out.read_all().to_pylist() == [
        {"i": 1, "s": "h\u00e9"}, {"i": 7, "s": None}, {"i": None, "s": ""}]
    assert raw.read_all().num_rows == 0  # nothing more now
    assert raw.next(timeout=0) is None


def test_arrow_push_roundtrip(eng):
    eng.execute(ALL_TYPES)
    sub = eng.subscribe("S")
    batch = make_batch()
    with eng.input("S") as inp:
        assert inp.push(batch) == 4
        assert inp.push(pa.Table.from_batches([batch, batch])) == 8
        assert inp.push({"i": pa.array([9], pa.int32()), "s": ["z"], "l": [1], "d": [1.0],
                         "f": pa.array([1.0], pa.float32()), "b": [True],
                         "t": pa.array([3], pa.timestamp("ms"))}) == 1
    eng.flush()
    got = sub.read_all()
    expected = pa.Table.from_batches([batch] * 3)
    assert got.slice(0, 12).equals(expected)
    assert got.schema == SCHEMA
    assert got.slice(12).to_pylist() == [{"i": 9, "l": 1, "d": 1.0, "f": 1.0, "b": True,
                                          "s": "z", "t": dt.datetime(1970, 1, 1, 0, 0, 0, 3000)}]


@pytest.mark.skipif(pd is None, reason="pandas not installable")
def test_pandas_push(eng):
    eng.execute("CREATE STREAM P (sym STRING, price DOUBLE, qty BIGINT);"
                "INSERT INTO Big SELECT sym, price * qty AS notional FROM P WHERE qty > 1")
    sub = eng.subscribe("Big")
    df = pd.DataFrame({"sym": ["A", "B", None], "price": [1.5, 2.0, float("nan")],
                       "qty": [1, 3, 4]}, index=[10, 20, 30])
    with eng.input("P") as inp:
        try:
            pushed = inp.push(df)
        except ImportError as e:  # pandas installed mid-run, unusable by pyarrow here
            pytest.skip(f"pyarrow cannot use the pandas just installed: {e}")
        assert pushed == 3
        # An INT column needs the schema to get int32 from pandas' int64.
    eng.flush()
    assert sub.read_all().to_pylist() == [{"sym": "B", "notional": 6.0},
                                          {"sym": None, "notional": None}]
    eng.execute("CREATE STREAM Q (n INT)")
    sub_q = eng.subscribe("Q")
    with eng.input("Q") as inp:
        inp.push(pd.DataFrame({"n": [1, 2]}), schema=pa.schema([("n", pa.int32())]))
    eng.flush()
    assert sub_q.read_all().column("n").to_pylist() == [1, 2]


def test_callback_via_poll(eng):
    eng.execute("CREATE STREAM S (x BIGINT, s STRING)")
    sub = eng.subscribe("S")
    got = []
    sub.set_callback(lambda b: got.extend(b.to_pylist()))
    with eng.input("S") as inp:
        inp.append((1, "a"))
        inp.append((2, None))
    eng.flush()
    delivered = 0
    for _ in range(100):
        if len(got) == 2:
            break
        delivered += eng.poll(0.1)
    assert delivered >= 1
    assert eng.poll(0) == 0  # nothing pending
    assert got == [{"x": 1, "s": "a"}, {"x": 2, "s": None}]

    def boom(batch):
        raise ValueError(f"boom {batch.num_rows}")

    sub.set_callback(boom)
    with eng.input("S") as inp:
        inp.append((3, "c"))
    eng.flush()
    with pytest.raises(ValueError, match="boom 1"):
        for _ in range(50):
            eng.poll(0.1)
    sub.set_callback(None)  # back to pull mode
    with eng.input("S") as inp:
        inp.append((4, "d"))
    eng.flush()
    assert sub.read_all().to_pylist() == [{"x": 4, "s": "d"}]
    eng.close()
    with pytest.raises(eddy.ClosedError):
        eng.poll(0)


def test_iteration_until_close(eng):
    eng.execute("CREATE STREAM S (x BIGINT)")
    sub = eng.subscribe("S")
    seen = []

    def consume():
        for batch in sub:
            seen.extend(batch.column("x").to_pylist())

    t = threading.Thread(target=consume)
    t.start()
    with eng.input("S") as inp:
        for i in range(100):
            inp.append((i,))
    eng.flush()
    eng.close()
    t.join(10)
    assert not t.is_alive()
    assert seen == list(range(100))
    with pytest.raises(eddy.EndOfStream):
        sub.next(0)


def test_arrow_c_stream_after_close(eng):
    eng.execute(ALL_TYPES)
    s1, s2, s3 = eng.subscribe("S"), eng.subscribe("S"), eng.subscribe("S")
    batch = make_batch()
    with eng.input("S") as inp:
        inp.push(batch)
        inp.push(batch)
    eng.close()
    expected = pa.Table.from_batches([batch, batch])
    assert pa.table(s1).equals(expected)
    reader = pa.RecordBatchReader.from_stream(s2)
    assert reader.schema == SCHEMA
    assert reader.read_all().equals(expected)
    assert pa.RecordBatchReader.from_stream(s3, schema=SCHEMA).read_all().num_rows == 8


def test_arrow_c_stream_empty(eng):
    eng.execute("CREATE STREAM S (x BIGINT)")
    sub = eng.subscribe("S")
    eng.close()
    assert pa.table(sub).num_rows == 0


def test_stats(eng):
    eng.execute("CREATE STREAM S (i INT, s STRING); INSERT INTO Out SELECT i, s FROM S WHERE i > 1")
    sub = eng.subscribe("Out")
    with eng.input("S") as inp:
        inp.append_many([(1, "a"), (2, "b"), (3, None)])
        with pytest.raises(eddy.SchemaError):
            inp.push(pa.record_batch({"i": pa.array([1], pa.int64()), "s": ["x"]}))
    eng.flush()
    st = eng.stats()
    assert st["closed"] is False
    streams = {s["name"]: s for s in st["streams"]}
    assert streams["S"]["events_in"] == 3
    assert streams["S"]["rejected"] == 1
    assert streams["Out"]["events_in"] == 2
    assert streams["Out"]["subscribers"] == 1
    (q,) = st["queries"]
    assert (q["input"], q["output"], q["rows_in"], q["rows_out"], q["errors"]) == ("S", "Out", 3, 2, 0)
    assert sub.read_all().num_rows == 2
    eng.close()
    assert eng.stats()["closed"] is True


def test_context_managers_and_free_order():
    e = eddy.Engine("overflow=block;push_timeout_ms=1000")
    e.execute("CREATE STREAM S (x BIGINT)")
    inp, sub = e.input("S"), e.subscribe("S")
    inp.append((1,))
    with e:
        pass
    assert e.closed
    with pytest.raises(eddy.ClosedError):
        e.stats()  # handle freed
    # Input and subscription outlive the engine.
    assert sub.read_all().column("x").to_pylist() == [1]
    with pytest.raises(eddy.ClosedError):
        inp.append((2,))
    with sub, inp:
        pass


def test_half_failed_row_is_discarded_and_setters_follow_column_types():
    with eddy.Engine() as eng:
        eng.execute("CREATE STREAM T (a INT, d DOUBLE, s STRING); INSERT INTO O SELECT * FROM T")
        sub = eng.subscribe("O")
        with eng.input("T") as inp:
            with pytest.raises(eddy.SchemaError, match="'s'"):
                inp.append((1, 2.5, 7))  # 7 is not a STRING: the whole row is dropped
            inp.append((3, 4, "x"))  # an int into a DOUBLE column is fine
            inp.append({"s": "y", "a": -2})
            eng.flush()
            t = sub.read_all()
        assert t.column("a").to_pylist() == [3, -2]
        assert t.column("d").to_pylist() == [4.0, None]
        assert t.column("s").to_pylist() == ["x", "y"]
        streams = {s["name"]: s for s in eng.stats()["streams"]}
        assert streams["T"]["events_in"] == 2


def test_schema_known_before_any_row_and_empty_stream_keeps_it():
    import pyarrow as pa

    with eddy.Engine() as eng:
        eng.execute("CREATE STREAM T (a INT, s STRING); INSERT INTO O SELECT a * 2 AS b, UPPER(s) AS u FROM T")
        sub = eng.subscribe("O")
        assert sub.schema.names == ["b", "u"]
        assert sub.schema.types == [pa.int32(), pa.string()]
        eng.close()
        t = pa.table(sub)  # through __arrow_c_stream__: nothing came, the schema stays
        assert t.num_rows == 0
        assert t.schema.names == ["b", "u"]
