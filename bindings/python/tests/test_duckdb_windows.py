"""Differential test: eddy's tumbling, sliding and session aggregates over
random event-time data (several keys, rows out of order within the watermark
delay), and its length windows' per-event aggregates, equal what DuckDB
computes over the same rows with plain SQL.

Needs duckdb (pip install duckdb); scripts/test.sh installs it in the venv.
"""
import math
import random

import pytest

pa = pytest.importorskip("pyarrow")
try:
    import duckdb
except ImportError:  # pragma: no cover - the test script installs it
    pytest.fail("duckdb is not installed: pip install duckdb (scripts/test.sh does)")

import eddy

N = 6000
KEYS = ["k0", "k1", "k2", "k3", "k4"]
DELAY = 500  # watermark delay, ms
GAP = 120  # session gap, ms


def make_rows(seed):
    rnd = random.Random(seed)
    rows = []
    for i in range(N):
        # 10 ms apart on average, jittered by up to +-200 ms: out of order,
        # but never more than DELAY behind the largest time seen.
        ts = 1_700_000_000_000 + i * 10 + rnd.randint(-200, 200)
        rows.append({
            "k": rnd.choice(KEYS),
            "v": round(rnd.uniform(-50.0, 150.0), 3),
            "n": rnd.randint(0, 20),
            "ts": ts,
        })
    return rows


SCHEMA = pa.schema([("k", pa.string()), ("v", pa.float64()), ("n", pa.int64()), ("ts", pa.int64())])

AGGS = "COUNT(*) AS c, SUM(v) AS s, AVG(v) AS a, MIN(v) AS lo, MAX(v) AS hi, SUM(n) AS sn, " \
       "COUNT(DISTINCT n) AS dn, STDDEV_POP(v) AS sd"


def feed(inp, rows, rnd):
    """Pushes `rows` in batches of random sizes, plus single rows: results
    must not depend on how rows are grouped into batches."""
    i = 0
    while i < len(rows):
        size = rnd.choice([1, 3, 17, 100, 700])
        chunk = rows[i:i + size]
        if size == 1:
            inp.append(chunk[0])
        else:
            inp.push(pa.RecordBatch.from_pylist(chunk, schema=SCHEMA))
        i += size


@pytest.fixture(params=["thread", "caller"])
def worker(request):
    """Every comparison runs with the engine's worker thread and with
    worker=caller (the pushing thread runs the queries)."""
    return request.param


def run_eddy(rows, window, group_extra, worker):
    with eddy.Engine({"worker": worker}) as e:
        e.execute(
            "CREATE STREAM E (k STRING, v DOUBLE, n BIGINT, ts BIGINT) "
            f"WITH (event_time = 'ts', watermark_delay = {DELAY});"
            f"INSERT INTO Out SELECT k, window_start, window_end, {AGGS} FROM E "
            f"WINDOW({window}) GROUP BY k, window_start{group_extra}"
        )
        sub = e.subscribe("Out")
        inp = e.input("E")
        feed(inp, rows, random.Random(7))
        inp.close()
        e.flush()
        stats = e.stats()
        assert stats["streams"][0]["late"] == 0, "the data is within the delay"
        table = sub.read_all()
    out = []
    for r in table.to_pylist():
        out.append((r["k"], ms(r["window_start"]), ms(r["window_end"]), r["c"], r["s"], r["a"], r["lo"],
                    r["hi"], r["sn"], r["dn"], r["sd"]))
    return sorted(out, key=lambda x: x[:3])


def ms(t):
    if isinstance(t, int):
        return t
    import datetime as dt
    return int((t.replace(tzinfo=dt.timezone.utc) - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc))
               .total_seconds() * 1000)


def run_duckdb(rows, sql):
    con = duckdb.connect()
    con.register("t", pa.Table.from_pylist(rows, schema=SCHEMA))
    res = con.execute(sql).fetchall()
    return sorted([tuple(r) for r in res], key=lambda x: x[:3])


DUCK_AGGS = "count(*), sum(v), avg(v), min(v), max(v), sum(n), count(DISTINCT n), stddev_pop(v)"


def assert_same(got, want):
    assert len(got) == len(want), f"{len(got)} groups from eddy, {len(want)} from DuckDB"
    for g, w in zip(got, want):
        assert g[:4] == tuple(w[:4]), (g, w)
        for a, b in zip(g[4:], w[4:]):
            if isinstance(b, float) or isinstance(a, float):
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (g, w)
            else:
                assert a == b, (g, w)


@pytest.mark.parametrize("seed", [1, 2])
def test_tumbling_matches_duckdb(seed, worker):
    rows = make_rows(seed)
    got = run_eddy(rows, "'tumbling', INTERVAL '1' SECOND", "", worker)
    want = run_duckdb(rows, f"""
        SELECT k, (ts // 1000) * 1000 AS ws, (ts // 1000) * 1000 + 1000 AS we, {DUCK_AGGS}
        FROM t GROUP BY k, ws""")
    assert_same(got, want)


@pytest.mark.parametrize("seed", [3])
def test_sliding_matches_duckdb(seed, worker):
    rows = make_rows(seed)
    got = run_eddy(rows, "'sliding', INTERVAL '1' SECOND, 250", ", window_end", worker)
    want = run_duckdb(rows, f"""
        SELECT k, s * 250 AS ws, s * 250 + 1000 AS we, {DUCK_AGGS}
        FROM t, range((ts - 1000) // 250 + 1, ts // 250 + 1) AS r(s)
        GROUP BY k, ws""")
    assert_same(got, want)


@pytest.mark.parametrize("seed", [4, 5])
def test_session_matches_duckdb(seed, worker):
    rows = make_rows(seed)
    got = run_eddy(rows, f"'session', {GAP}, k", ", window_end", worker)
    want = run_duckdb(rows, f"""
        WITH o AS (
            SELECT *, CASE WHEN ts - lag(ts) OVER (PARTITION BY k ORDER BY ts) < {GAP} THEN 0 ELSE 1 END AS b
            FROM t),
        s AS (
            SELECT *, sum(b) OVER (PARTITION BY k ORDER BY ts ROWS UNBOUNDED PRECEDING) AS sid FROM o)
        SELECT k, min(ts) AS ws, max(ts) + {GAP} AS we, {DUCK_AGGS}
        FROM s GROUP BY k, sid""")
    assert_same(got, want)


LENGTH_AGGS = "COUNT(*) AS c, SUM(v) AS s, AVG(v) AS a, MIN(v) AS lo, MAX(v) AS hi, SUM(n) AS sn, " \
              "STDDEV_POP(v) AS sd"
LENGTH_DUCK_AGGS = "count(*), sum(b.v), avg(b.v), min(b.v), max(b.v), sum(b.n), stddev_pop(b.v)"


@pytest.mark.parametrize("length,grouped", [(1, False), (100, False), (7, True), (250, True)])
def test_length_matches_duckdb(length, grouped, worker):
    """length(n) with aggregates: one row per arriving event, over the last
    n events (with GROUP BY, those of them in the event's group). DuckDB
    computes each event's row by joining it with the events at most n - 1
    before it. Batches of random sizes and single rows, so departures cross
    batch boundaries."""
    rnd = random.Random(length)
    rows = []
    for i in range(N):
        rows.append({
            "k": rnd.choice(KEYS),
            "v": round(rnd.uniform(-50.0, 150.0), 3),
            "n": rnd.randint(0, 20),
            "ts": i,
        })
    group = " GROUP BY k" if grouped else ""
    with eddy.Engine({"worker": worker}) as e:
        e.execute(
            "CREATE STREAM E (k STRING, v DOUBLE, n BIGINT, ts BIGINT);"
            f"INSERT INTO Out SELECT ts, k, {LENGTH_AGGS} FROM E WINDOW('length', {length}){group}"
        )
        sub = e.subscribe("Out")
        inp = e.input("E")
        feed(inp, rows, rnd)
        inp.close()
        e.flush()
        table = sub.read_all()
    got = [(r["ts"], r["k"], r["c"], r["s"], r["a"], r["lo"], r["hi"], r["sn"], r["sd"])
           for r in table.to_pylist()]
    assert [g[0] for g in got] == list(range(N)), "one row per event, in arrival order"
    same_key = " AND b.k = a.k" if grouped else ""
    want = run_duckdb(rows, f"""
        SELECT a.ts, a.k, {LENGTH_DUCK_AGGS}
        FROM t a JOIN t b ON b.ts > a.ts - {length} AND b.ts <= a.ts{same_key}
        GROUP BY a.ts, a.k ORDER BY a.ts""")
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[:3] == tuple(w[:3]), (g, w)
        for x, y in zip(g[3:], w[3:]):
            if isinstance(x, float) or isinstance(y, float):
                # A running sum over a sliding window carries the rounding of
                # every value that passed through it (compensated, so little).
                assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-7), (g, w)
            else:
                assert x == y, (g, w)
