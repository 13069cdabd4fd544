"""Differential test: eddy's windowed stream JOINs and PATTERN queries give
the rows DuckDB computes with plain SQL over the same input.

JOIN: `FROM A WINDOW('time', n) AS a JOIN B WINDOW('time', m) AS b ON c`
over event-time streams outputs each pair (x of A, y of B) once iff c is
TRUE and ts_x > ts_y - n and ts_y > ts_x - m, whatever the order in which
the rows of the two streams arrive (each stream in time order, or out of
order within its watermark delay, so that no row is late). A side with
WINDOW('length', k) keeps its last k rows; a side with no window keeps
nothing: a pair is output when the later-arriving row of the two arrives
and finds the earlier one in its side's window. Those results depend on the
arrival order across the streams, so those tests push each stream's rows in
a known interleaving (and flush between pushes on different streams, so
that the engine's worker thread sees them in that order too).

PATTERN: `EVERY e1=S[c1] -> e2=S[c2] WITHIN d`: every row x satisfying c1
starts a partial match, completed by the first later row y (arrival order)
satisfying c2 given x, if ts_y - ts_x <= d; one output row per completion.
Without EVERY one partial exists at a time and at most one row is output.

Needs duckdb (pip install duckdb); scripts/test.sh installs it in the venv.
"""
import random
import re
from collections import Counter

import pytest

pa = pytest.importorskip("pyarrow")
try:
    import duckdb
except ImportError:  # pragma: no cover - the test script installs it
    pytest.fail("duckdb is not installed: pip install duckdb (scripts/test.sh does)")

import eddy

BASE = 1_700_000_000_000
KEYS = ["k0", "k1", "k2", "k3", "k4", "k5"]
SCHEMA = pa.schema([("k", pa.string()), ("v", pa.float64()), ("g", pa.int64()),
                    ("id", pa.int64()), ("ts", pa.int64())])
COLUMNS = "(k STRING, v DOUBLE, g BIGINT, id BIGINT, ts BIGINT)"
CHUNKS = [1, 3, 17, 100, 700]


@pytest.fixture(params=["thread", "caller"])
def worker(request):
    """Every comparison runs with the engine's worker thread and with
    worker=caller (the pushing thread runs the queries)."""
    return request.param


# ---------------------------------------------------------------------------
# helpers

def rand_row(rnd, i, ts, null_rate=0.02):
    return {
        "k": None if rnd.random() < null_rate else rnd.choice(KEYS),
        "v": None if rnd.random() < null_rate / 2 else round(rnd.uniform(-50.0, 150.0), 3),
        "g": rnd.randint(0, 3),
        "id": i,
        "ts": ts,
    }


def jittered_stream(seed, n, step, jitter):
    """n rows, `step` ms apart on average, each jittered by up to +-jitter ms:
    out of order, but never more than 2 * jitter - step behind the largest
    time seen before it."""
    rnd = random.Random(seed)
    return [rand_row(rnd, i, BASE + i * step + rnd.randint(-jitter, jitter)) for i in range(n)]


def push_chunk(inp, rows, rnd):
    """Pushes rows (all of one stream) as single appends and Arrow batches of
    random sizes."""
    i = 0
    while i < len(rows):
        size = rnd.choice(CHUNKS)
        chunk = rows[i:i + size]
        if len(chunk) == 1:
            inp.append(chunk[0])
        else:
            inp.push(pa.RecordBatch.from_pylist(chunk, schema=SCHEMA))
        i += size


def push_schedule(e, inputs, schedule, rnd, ordered):
    """Pushes a list of (stream name, rows). With `ordered`, waits until each
    run is processed before pushing the next one to another stream, so that
    the engine sees the runs of different streams in exactly this order."""
    prev = None
    for name, rows in schedule:
        if ordered and prev is not None and prev != name:
            e.flush()
        push_chunk(inputs[name], rows, rnd)
        prev = name


def random_runs(streams, rnd, sizes=CHUNKS):
    """Interleaves the rows of several streams (each kept in its own order)
    in runs of random sizes; a stream is picked with a probability
    proportional to the rows it has left."""
    pos = {name: 0 for name in streams}
    out = []
    while True:
        left = {name: len(rows) - pos[name] for name, rows in streams.items()}
        total = sum(left.values())
        if total == 0:
            return out
        pick = rnd.randrange(total)
        for name, n in left.items():
            if pick < n:
                break
            pick -= n
        size = rnd.choice(sizes)
        run = streams[name][pos[name]:pos[name] + size]
        out.append((name, run))
        pos[name] += len(run)


def norm(row):
    return tuple(round(x, 6) if isinstance(x, float) else x for x in row)


def sort_key(row):
    return tuple((x is None, x if x is not None else 0) for x in row)


def multiset(rows):
    return sorted((norm(r) for r in rows), key=sort_key)


def assert_same_rows(got, want, what):
    got, want = multiset(got), multiset(want)
    if got == want:
        return
    g, w = Counter(got), Counter(want)
    extra = sorted((g - w).elements(), key=sort_key)
    missing = sorted((w - g).elements(), key=sort_key)
    raise AssertionError(
        f"{what}\neddy: {len(got)} rows, DuckDB: {len(want)} rows\n"
        f"only in eddy ({len(extra)}): {extra[:10]}\n"
        f"only in DuckDB ({len(missing)}): {missing[:10]}")


def run_eddy(worker, ddl, query, schedule, ordered, columns, seed):
    """Runs `query` over the pushed schedule; returns the output rows as
    tuples in `columns` order (and checks that this is the output's order)."""
    with eddy.Engine({"worker": worker}) as e:
        e.execute(ddl + query)
        sub = e.subscribe("Out")
        names = sorted({name for name, _ in schedule})
        inputs = {name: e.input(name) for name in names}
        push_schedule(e, inputs, schedule, random.Random(seed), ordered)
        for inp in inputs.values():
            inp.close()
        e.flush()
        stats = e.stats()
        for s in stats["streams"]:
            assert s["late"] == 0, f"stream {s['name']}: the data is never late"
            assert s["dropped"] == 0 and s["rejected"] == 0, s
        for q in stats["queries"]:
            assert q["errors"] == 0, q
        e.close()
        table = sub.read_all()
    assert [c.lower() for c in table.column_names] == columns, table.column_names
    return [tuple(r[c] for c in table.column_names) for r in table.to_pylist()]


def run_duckdb(tables, sql):
    con = duckdb.connect()
    for name, rows in tables.items():
        con.register(name, pa.Table.from_pylist(rows, schema=SCHEMA))
    return [tuple(r) for r in con.execute(sql).fetchall()]


# ---------------------------------------------------------------------------
# JOIN over event-time windows: order independent

A_DELAY, A_STEP, A_JITTER, N_A = 300, 10, 100, 3000
B_DELAY, B_STEP, B_JITTER, N_B = 250, 12, 90, 2500

JOIN_DDL = (f"CREATE STREAM A {COLUMNS} WITH (event_time = 'ts', watermark_delay = {A_DELAY});"
            f"CREATE STREAM B {COLUMNS} WITH (event_time = 'ts', watermark_delay = {B_DELAY});")
JOIN_COLUMNS = ["aid", "bid", "k", "av", "bv", "d", "ats", "bts"]
JOIN_SELECT = ("a.id AS aid, b.id AS bid, a.k AS k, a.v AS av, b.v AS bv, a.v - b.v AS d, "
               "a.ts AS ats, b.ts AS bts")
DUCK_JOIN_SELECT = "a.id, b.id, a.k, a.v, b.v, a.v - b.v, a.ts, b.ts"

# id: (A's window ms, B's window ms, join keyword, ON, WHERE)
JOIN_CASES = {
    "equi": (200, 200, "JOIN", "a.k = b.k", None),
    "inner_asymmetric": (300, 100, "INNER JOIN", "a.k = b.k", None),
    "extra_condition": (250, 150, "JOIN", "a.k = b.k AND a.v > b.v", None),
    "where": (200, 300, "JOIN", "a.k = b.k", "a.v + b.v > 100.0 AND b.g <> 2"),
    "two_keys": (400, 250, "INNER JOIN", "a.k = b.k AND a.g = b.g", None),
    "theta": (60, 40, "JOIN", "a.g < b.g AND a.v > b.v + 100.0", None),
}


def join_streams(seed):
    return (jittered_stream(seed, N_A, A_STEP, A_JITTER),
            jittered_stream(seed + 1000, N_B, B_STEP, B_JITTER))


def time_join(worker, case, a_rows, b_rows, schedule, seed):
    n, m, kw, on, where = JOIN_CASES[case]
    where_sql = f" WHERE {where}" if where else ""
    query = (f"INSERT INTO Out SELECT {JOIN_SELECT} "
             f"FROM A WINDOW('time', INTERVAL '{n}' MILLISECOND) AS a "
             f"{kw} B WINDOW('time', INTERVAL '{m}' MILLISECOND) AS b ON {on}{where_sql}")
    got = run_eddy(worker, JOIN_DDL, query, schedule, False, JOIN_COLUMNS, seed)
    want = run_duckdb({"A": a_rows, "B": b_rows}, f"""
        SELECT {DUCK_JOIN_SELECT} FROM A a JOIN B b
        ON ({on}) AND a.ts > b.ts - {n} AND b.ts > a.ts - {m}{where_sql}""")
    assert want, "the data makes pairs"
    assert_same_rows(got, want, query)


@pytest.mark.parametrize("case", list(JOIN_CASES))
def test_time_join_matches_duckdb(case, worker):
    """Both streams out of order within their delays, pushed in random runs
    of random sizes interleaved across the streams."""
    seed = 11 + list(JOIN_CASES).index(case)
    a_rows, b_rows = join_streams(seed)
    schedule = random_runs({"A": a_rows, "B": b_rows}, random.Random(seed))
    time_join(worker, case, a_rows, b_rows, schedule, seed)


@pytest.mark.parametrize("order", ["a_first", "b_first", "alternate_rows"])
@pytest.mark.parametrize("case", ["inner_asymmetric", "extra_condition"])
def test_time_join_is_arrival_order_independent(case, order, worker):
    """The same pairs when all of one stream arrives before the other, or
    the two alternate row by row."""
    seed = 31
    a_rows, b_rows = join_streams(seed)
    if order == "a_first":
        schedule = [("A", a_rows), ("B", b_rows)]
    elif order == "b_first":
        schedule = [("B", b_rows), ("A", a_rows)]
    else:
        schedule = random_runs({"A": a_rows, "B": b_rows}, random.Random(seed), sizes=[1])
    time_join(worker, case, a_rows, b_rows, schedule, seed)


# ---------------------------------------------------------------------------
# JOIN with length windows and with no window: arrival-order dependent

def sequenced(schedule):
    """Rows of a schedule with their global arrival position and, per row,
    the number of rows of each stream that arrived before it."""
    seen = Counter()
    out = {}
    seq = 0
    for name, rows in schedule:
        for r in rows:
            r = dict(r)
            r["seq"] = seq
            r["idx"] = seen[name]
            r["a_before"] = seen["A"]
            r["b_before"] = seen["B"]
            out.setdefault(name, []).append(r)
            seen[name] += 1
            seq += 1
    return out


SEQ_SCHEMA = pa.schema(list(SCHEMA) + [("seq", pa.int64()), ("idx", pa.int64()),
                                      ("a_before", pa.int64()), ("b_before", pa.int64())])


def ordered_streams(seed, n_a, n_b, order, null_rate=0.02):
    """Rows of A and B and the order they are pushed in; times increase with
    the arrival order across both streams."""
    rnd = random.Random(seed)
    if order == "a_first":
        sides = ["A"] * n_a + ["B"] * n_b
    elif order == "b_first":
        sides = ["B"] * n_b + ["A"] * n_a
    else:  # a random interleaving, row by row
        sides = ["A"] * n_a + ["B"] * n_b
        rnd.shuffle(sides)
    rows = {"A": [], "B": []}
    schedule = []
    for seq, side in enumerate(sides):
        row = rand_row(rnd, len(rows[side]), BASE + seq * 10, null_rate)
        rows[side].append(row)
        if schedule and schedule[-1][0] == side:
            schedule[-1][1].append(row)
        else:
            schedule.append((side, [row]))
    return rows, schedule


def window_sql(k):
    return "" if k is None else f" WINDOW('length', {k})"


def earlier_in_window(earlier, later, k, before_col):
    """DuckDB: `earlier` arrived before `later` and is among the last k rows
    of its stream when `later` arrives (never, for a side with no window)."""
    if k is None:
        return "FALSE"
    return f"({earlier}.seq < {later}.seq AND {earlier}.idx >= {later}.{before_col} - {k})"


# id: (A's length or None, B's length or None, order, NULL keys)
LENGTH_CASES = {
    "a_first": (50, 20, "a_first", False),
    "b_first": (50, 20, "b_first", False),
    "a_first_b_unwindowed": (37, None, "a_first", False),
    "interleaved": (30, 7, "random", False),
    "interleaved_b_unwindowed": (40, None, "random", False),
    "a_unwindowed_b_length_1": (None, 1, "random", False),
    "a_first_null_keys": (50, 20, "a_first", True),
    "b_first_null_keys": (50, 20, "b_first", True),
    "interleaved_null_keys": (30, 7, "random", True),
    "a_unwindowed_b_length_1_null_keys": (None, 1, "random", True),
}


@pytest.mark.parametrize("timed", [True, False], ids=["event_time", "processing_time"])
@pytest.mark.parametrize("case", list(LENGTH_CASES))
def test_length_join_matches_duckdb(case, timed, worker):
    """A pair comes out when the later-arriving row arrives and the earlier
    one is among the last k rows of its stream then. With A pushed first,
    each B row sees the last k rows of A. `FROM A AS a JOIN B
    WINDOW('length', 1) AS b`: each A row joins the latest B row if its key
    equals; B rows join nothing (A's rows are never kept). A row whose key
    is NULL joins nothing but is one of the last k rows all the same."""
    ka, kb, order, null_keys = LENGTH_CASES[case]
    seed = 51 + list(LENGTH_CASES).index(case)
    n_a, n_b = (2000, 1500) if order != "random" else (1800, 1800)
    rows, schedule = ordered_streams(seed, n_a, n_b, order, 0.03 if null_keys else 0.0)
    if null_keys and order != "random":
        # Among the last k rows of the stream pushed first, for certain.
        rows[schedule[0][0]][-3]["k"] = None
    with_time = " WITH (event_time = 'ts')" if timed else ""
    ddl = f"CREATE STREAM A {COLUMNS}{with_time}; CREATE STREAM B {COLUMNS}{with_time};"
    query = (f"INSERT INTO Out SELECT {JOIN_SELECT} "
             f"FROM A{window_sql(ka)} AS a JOIN B{window_sql(kb)} AS b ON a.k = b.k")
    got = run_eddy(worker, ddl, query, schedule, True, JOIN_COLUMNS, seed)

    seq = sequenced(schedule)
    con = duckdb.connect()
    for name in ("A", "B"):
        con.register(name, pa.Table.from_pylist(seq[name], schema=SEQ_SCHEMA))
    sql = f"""
        SELECT {DUCK_JOIN_SELECT} FROM A a JOIN B b ON a.k = b.k
        AND ({earlier_in_window('a', 'b', ka, 'a_before')}
             OR {earlier_in_window('b', 'a', kb, 'b_before')})"""
    want = [tuple(r) for r in con.execute(sql).fetchall()]
    assert want, "the data makes pairs"
    assert_same_rows(got, want, query)


# ---------------------------------------------------------------------------
# PATTERN

PAT_N = 4000
PAT_DDL = f"CREATE STREAM S {COLUMNS} WITH (event_time = 'ts');"
PAT_DDL_PT = f"CREATE STREAM S {COLUMNS};"


def pattern_stream(seed, n=PAT_N, max_step=25, null_rate=0.02):
    """Rows in time order (equal times happen), `id` = arrival position."""
    rnd = random.Random(seed)
    ts = BASE
    rows = []
    for i in range(n):
        ts += rnd.randint(0, max_step)
        rows.append(rand_row(rnd, i, ts, null_rate))
    return rows


def pat_schedule(rows, seed):
    rnd = random.Random(seed)
    out, i = [], 0
    while i < len(rows):
        size = rnd.choice(CHUNKS)
        out.append(("S", rows[i:i + size]))
        i += size
    return out


def duck_cond(cond, own, aliases):
    """A pattern condition as DuckDB SQL: unqualified columns are `own`'s
    (the conditions here qualify every earlier element's column)."""
    out = re.sub(r"(?<![\w.])(k|v|g|id|ts)\b", lambda m: f"{own}.{m.group(1)}", cond)
    for alias, table in aliases.items():
        out = re.sub(rf"\b{alias}\.", f"{table}.", out)
    return out


def first_match(prev, cond, within, earlier):
    """DuckDB: each partial of table `prev` (columns id1..idJ, prev_id: the
    row after which the next element is looked for) with `next_id`, the
    first later row y of S satisfying `cond` (over y and the rows x1..xJ of
    the earlier elements) within `within` ms of e1's time, or NULL."""
    bound = f" AND y.ts - x1.ts <= {within}" if within is not None else ""
    tables = ", ".join(f"S x{j}" for j in range(1, earlier + 1))
    links = " AND ".join(f"x{j}.id = p.id{j}" for j in range(1, earlier + 1))
    return f"""
        SELECT p.*, (SELECT min(y.id) FROM S y, {tables}
                     WHERE {links} AND y.id > p.prev_id AND ({cond}){bound}) AS next_id
        FROM {prev} p"""


PAT_COLUMNS2 = ["id2", "k", "v1", "v2", "id1"]
PAT_SELECT2 = "e2.id AS id2, e1.k AS k, e1.v AS v1, e2.v AS v2, e1.id AS id1"
PAT_COLUMNS3 = ["k", "v1", "v2", "v3", "id1", "id2", "id3"]
PAT_SELECT3 = ("e1.k AS k, e1.v AS v1, e2.v AS v2, e3.v AS v3, e1.id AS id1, e2.id AS id2, "
               "e3.id AS id3")


def pattern_oracle(rows, conds, within, every):
    """Completions per the spec, computed by DuckDB: e1 = every row
    satisfying c1 (or, without EVERY, the chain of single partials); each
    next element the first later row satisfying its condition within
    `within` ms of e1's time."""
    con = duckdb.connect()
    con.register("S", pa.Table.from_pylist(rows, schema=SCHEMA))
    c1 = duck_cond(conds[0], "x", {})
    con.execute(f"CREATE TABLE p1 AS SELECT id AS id1, ts AS ts1, id AS prev_id FROM S x WHERE {c1}")
    prev = "p1"
    for step, c in enumerate(conds[1:], start=2):
        aliases = {f"e{j}": f"x{j}" for j in range(1, step)}
        sql = first_match(prev, duck_cond(c, "y", aliases), within, step - 1)
        con.execute(f"CREATE TABLE p{step} AS SELECT * EXCLUDE (prev_id, next_id), "
                    f"next_id AS id{step}, next_id AS prev_id FROM ({sql})")
        prev = f"p{step}"
    last = len(conds)
    done = con.execute(f"SELECT * FROM p{last} WHERE id{last} IS NOT NULL").fetchall()
    cols = [d[0] for d in con.description]
    done = [dict(zip(cols, r)) for r in done]
    if not every:
        # One partial at a time: the first e1 row starts it; if it expires
        # (a later row is more than `within` past it) without completing,
        # the first e1 row after that starts the next one.
        allp = [dict(zip([d[0] for d in con.description], r))
                for r in con.execute(f"SELECT * FROM p{last} ORDER BY id1").fetchall()]
        starts = [r[0] for r in con.execute("SELECT id1 FROM p1 ORDER BY id1").fetchall()]
        by_id = {r["id1"]: r for r in allp}
        ts = {r["id"]: r["ts"] for r in rows}
        chosen = []
        cur = starts[0] if starts else None
        while cur is not None:
            if by_id[cur][f"id{last}"] is not None:
                chosen.append(by_id[cur])
                break
            if within is None:
                break
            later = [s for s in starts if ts[s] > ts[cur] + within]
            cur = later[0] if later else None
        done = chosen
    return done


def within_sql(within):
    if within is None:
        return ""
    if within % 1000 == 0:
        return f" WITHIN INTERVAL '{within // 1000}' SECOND"
    return f" WITHIN INTERVAL '{within}' MILLISECOND"


def run_pattern(worker, rows, pattern, conds, within, every, select, columns, seed, timed=True):
    query = f"INSERT INTO Out SELECT {select} FROM PATTERN ({pattern})" + within_sql(within)
    got = run_eddy(worker, PAT_DDL if timed else PAT_DDL_PT, query, pat_schedule(rows, seed), False,
                   columns, seed)
    by_id = {r["id"]: r for r in rows}
    want = []
    for m in pattern_oracle(rows, conds, within, every):
        rec = {}
        for j in range(1, len(conds) + 1):
            r = by_id[m[f"id{j}"]]
            rec[f"id{j}"] = r["id"]
            rec[f"v{j}"] = r["v"]
        rec["k"] = by_id[m["id1"]]["k"]
        want.append(tuple(rec[c] for c in columns))
    return query, got, want


# id: (e1 condition, e2 condition, WITHIN ms or None)
PAIR_CASES = {
    "spec": ("v > 90.0", "k = e1.k AND v < e1.v - 50.0", 1000),
    "rare_second": ("v > 90.0", "k = e1.k AND v < e1.v - 150.0", 1000),
    "short_within": ("v > 120.0 AND g <> 0", "k = e1.k AND g = e1.g AND v < 0.0", 200),
    # e1's own row satisfies e2's condition: e2 must be a later row.
    "not_itself": ("v > 90.0", "k = e1.k AND v > 80.0", 1000),
}


def pattern_text(conds, every, stream="S"):
    streams = stream if isinstance(stream, list) else [stream] * len(conds)
    parts = [f"e{i}={streams[i - 1]}[{c}]" for i, c in enumerate(conds, start=1)]
    return ("EVERY " if every else "") + " -> ".join(parts)


@pytest.mark.parametrize("case", list(PAIR_CASES))
def test_pattern_every_matches_duckdb(case, worker):
    c1, c2, within = PAIR_CASES[case]
    seed = 71 + list(PAIR_CASES).index(case)
    rows = pattern_stream(seed)
    conds = [c1, c2]
    query, got, want = run_pattern(worker, rows, pattern_text(conds, True), conds, within, True,
                                   PAT_SELECT2, PAT_COLUMNS2, seed)
    starts = sum(1 for r in pattern_oracle(rows, [c1], None, True))
    assert want and len(want) < starts, "the data has completed and dropped partials"
    assert_same_rows(got, want, query)


def test_pattern_within_is_inclusive(worker):
    """A completion exactly WITHIN after e1 counts; 1 ms later it does not."""
    rows = []
    t = BASE
    for i, (k, v, dt) in enumerate([("a", 100.0, 0), ("b", 100.0, 0), ("a", 10.0, 1000),
                                    ("b", 10.0, 1), ("c", 95.0, 10), ("c", 0.0, 1001)]):
        t += dt
        rows.append({"k": k, "v": v, "g": 0, "id": i, "ts": t})
    conds = ["v > 90.0", "k = e1.k AND v < e1.v - 50.0"]
    query, got, want = run_pattern(worker, rows, pattern_text(conds, True), conds, 1000, True,
                                   PAT_SELECT2, PAT_COLUMNS2, 1)
    assert multiset(want) == [(2, "a", 100.0, 10.0, 0)]
    assert_same_rows(got, want, query)


@pytest.mark.parametrize("timed", [True, False], ids=["event_time", "processing_time"])
def test_pattern_without_within_matches_duckdb(timed, worker):
    """No time limit: a partial waits for its completion for ever."""
    seed = 81
    rows = pattern_stream(seed, n=3000)
    conds = ["v > 140.0", "k = e1.k AND v < e1.v - 187.0"]
    query, got, want = run_pattern(worker, rows, pattern_text(conds, True), conds, None, True,
                                   PAT_SELECT2, PAT_COLUMNS2, seed, timed)
    assert want
    assert_same_rows(got, want, query)


THREE_CASES = {
    "within": (["v > 100.0", "k = e1.k AND v < e1.v - 60.0", "k = e1.k AND v > e2.v + 80.0"], 1000),
    "mixed_keys": (["v > 110.0 AND k IS NOT NULL", "g = e1.g AND v < 0.0", "k = e1.k AND g <> e2.g AND v > e1.v - 10.0"], 1500),
    "no_within": (["v > 145.0", "k = e1.k AND v < -45.0", "k = e2.k AND v > e1.v"], None),
    # e2's row satisfies e3's condition: e3 must come after it.
    "not_itself": (["v > 100.0", "k = e1.k AND v < 0.0", "k = e1.k AND v < 20.0"], 1000),
}


@pytest.mark.parametrize("case", list(THREE_CASES))
def test_pattern_three_elements_matches_duckdb(case, worker):
    conds, within = THREE_CASES[case]
    seed = 91 + list(THREE_CASES).index(case)
    rows = pattern_stream(seed)
    query, got, want = run_pattern(worker, rows, pattern_text(conds, True), conds, within, True,
                                   PAT_SELECT3, PAT_COLUMNS3, seed)
    assert want, "the data completes three-element matches"
    assert_same_rows(got, want, query)


NO_EVERY_CASES = {
    # The first partials expire before a completion; a later one completes.
    "restarts": (["v > 90.0", "k = e1.k AND v < e1.v - 170.0"], 300, 101),
    "spec": (["v > 90.0", "k = e1.k AND v < e1.v - 50.0"], 1000, 102),
    "no_within": (["v > 140.0", "k = e1.k AND v < e1.v - 185.0"], None, 103),
}


@pytest.mark.parametrize("case", list(NO_EVERY_CASES))
def test_pattern_without_every_matches_once(case, worker):
    """Without EVERY: one partial at a time, at most one output row."""
    conds, within, seed = NO_EVERY_CASES[case]
    rows = pattern_stream(seed)
    query, got, want = run_pattern(worker, rows, pattern_text(conds, False), conds, within, False,
                                   PAT_SELECT2, PAT_COLUMNS2, seed)
    assert len(want) == 1
    if case == "restarts":
        first_start = pattern_oracle(rows, conds[:1], None, True)[0]["id1"]
        assert want[0][PAT_COLUMNS2.index("id1")] != first_start, "the data restarts the partial"
        every = pattern_oracle(rows, conds, within, True)
        assert min(m["id2"] for m in every) < want[0][0], \
            "EVERY would have completed a partial this pattern never started"
    assert_same_rows(got, want, query)


@pytest.mark.parametrize("within", [1000, None])
def test_pattern_two_streams_matches_duckdb(within, worker):
    """EVERY e1=A[...] -> e2=B[...]: e2 is the first B row pushed after the
    A row (row by row, in a known interleaving)."""
    seed = 121 if within else 122
    rows, schedule = ordered_streams(seed, 1800, 1800, "random")
    seq = sequenced(schedule)
    conds = ["v > 90.0", "k = e1.k AND v < e1.v - 50.0"] if within else \
        ["v > 140.0", "k = e1.k AND v < e1.v - 180.0"]
    ddl = (f"CREATE STREAM A {COLUMNS} WITH (event_time = 'ts');"
           f"CREATE STREAM B {COLUMNS} WITH (event_time = 'ts');")
    query = (f"INSERT INTO Out SELECT {PAT_SELECT2} FROM PATTERN "
             f"({pattern_text(conds, True, ['A', 'B'])})")
    query += within_sql(within)
    got = run_eddy(worker, ddl, query, schedule, True, PAT_COLUMNS2, seed)

    con = duckdb.connect()
    for name in ("A", "B"):
        con.register(name, pa.Table.from_pylist(seq[name], schema=SEQ_SCHEMA))
    c1 = duck_cond(conds[0], "x", {})
    c2 = duck_cond(conds[1], "y", {"e1": "x"})
    bound = f" AND y.ts - x.ts <= {within}" if within is not None else ""
    want = [tuple(r) for r in con.execute(f"""
        WITH m AS (
            SELECT x.seq AS xs, min(y.seq) AS ys FROM A x JOIN B y
            ON y.seq > x.seq AND ({c2}){bound} WHERE {c1} GROUP BY x.seq)
        SELECT y.id, x.k, x.v, y.v, x.id FROM m JOIN A x ON x.seq = m.xs JOIN B y ON y.seq = m.ys
        """).fetchall()]
    assert want
    assert_same_rows(got, want, query)
