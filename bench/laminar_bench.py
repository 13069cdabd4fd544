#!/usr/bin/env python3
"""LaminarDB peer for eddy's benchmark suite (WORKLOADS.md).

Runs one workload on LaminarDB (pip package `laminardb`, pinned to 0.17.0 by
bench/run.sh) and prints one JSON object, like bench/eddy_bench does:

    python bench/laminar_bench.py -w W1 -n 10000000

The rows are the same formulas as eddy's driver, generated with numpy and
turned into pyarrow record batches before the clock starts. Time = first
`writer.insert` -> last output batch received by a consumer thread blocked in
`subscribe_stream("out").next_timeout()`.

The expected answers are computed here with numpy from the formulas, not by
LaminarDB; a run whose answer differs is reported with status "mismatch"
(the peer's figures are then not comparable, and the report says so).

LaminarDB quirks handled here (0.17.0):
  * A source with `WATERMARK FOR ts AS ts - INTERVAL '1' SECOND` drops, as
    late, rows of a batch that spans more event time than the delay. Batches
    on such sources are therefore 1,000 rows (999 ms of event time); the
    others use 8,192 rows like eddy's Arrow path.
  * `writer.watermark(t)` overtakes rows still queued, which then all count
    as late (0 rows out). The last windows (W2) are closed instead with one
    row far in the future, which the expected answer does not include (its
    own window never closes). The interval join (W5) needs no closer: a far
    row there made the join emit nothing at 100k rows and more, while
    without it every pair comes out.
  * With the default LaminarConfig(buffer_size=65536), inserting faster
    than the pipeline drains leaves the tail of the input unprocessed for
    many seconds (W2 at 2M rows: 27 s instead of 1.5 s; the rows come
    eventually). buffer_size = 2**24 avoids that at 2M rows, so it is used.
    Beyond ~2M rows W2 still stalls (ingestion stops for ~20 s at a time,
    or for good at 2,047,000 rows), with either buffer size.
    `--any-batch` runs W2 with 8,192-row batches instead, which is fast but
    drops most rows as late (a wrong answer, reported as such).
  * Found by the checks: W3's OVER window forgets its history every
    2,097,152 rows (256 batches of 8,192): the ~66 rows after rows 2^21,
    2*2^21, ... get max/avg over a window that restarted, so W3 is right at
    1M rows and wrong at 10M. W2 at 10M stops ingesting at 2,047,000 rows
    (inserts then block for good; once the process died with SIGSEGV); the
    consumer's STALL_S timeout ends such a run and reports it.
  * There is no end-of-stream: the consumer stops when it has the expected
    number of rows, or when nothing came for IDLE_S after LaminarDB counted
    every inserted row as ingested (inserts return before that; the join
    ingests slowly), so a wrong count still ends, and is reported.
"""
import argparse
import json
import os
import resource
import sys
import threading
import time

try:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError as e:  # pragma: no cover
    sys.exit(f"laminar_bench.py: {e}; run it through bench/run.sh, which creates the venv "
             "(pip install laminardb==0.17.0 pyarrow numpy matplotlib)")
try:
    import laminardb
except ImportError:  # pragma: no cover
    sys.exit("laminar_bench.py: the laminardb package is missing (pip install laminardb==0.17.0)")

TS_BASE = 1_700_000_000_000
IDLE_S = 3.0          # no output for this long after the last insert: done
STALL_S = float(os.environ.get("LAMINAR_STALL_S", "120"))  # no output for this long: give up
WM_BATCH_ROWS = 1000  # batches on watermarked sources stay within the 1 s delay
VERBOSE = False
POLL_MS = int(os.environ.get("LAMINAR_POLL_MS", "200"))
BUFFER_SIZE = 1 << 24  # LaminarConfig buffer_size; see the docstring

TRADES = "trades (symbol VARCHAR, price DOUBLE, volume BIGINT, ts BIGINT{wm})"
QUOTES = "quotes (qsymbol VARCHAR, bid DOUBLE, size BIGINT, qts BIGINT{wm})"
WM_TS = ", WATERMARK FOR ts AS ts - INTERVAL '1' SECOND"
WM_QTS = ", WATERMARK FOR qts AS qts - INTERVAL '1' SECOND"

# LaminarDB SQL for the same work. W1, W2 are WORKLOADS.md's; W3..W5 are the
# closest LaminarDB spelling we found (an OVER window, MATCH_RECOGNIZE, an
# interval join); whether it gets them right is checked like any answer.
WORKLOADS = {
    "W1": dict(
        sources=["CREATE SOURCE " + TRADES.format(wm="")],
        query="CREATE STREAM out AS SELECT symbol, price, volume FROM trades WHERE price > 100.0",
        watermarked=False, closer=False),
    "W2": dict(
        sources=["CREATE SOURCE " + TRADES.format(wm=WM_TS)],
        query="CREATE STREAM out AS SELECT symbol, COUNT(*) AS n, SUM(volume) AS vol, "
              "AVG(price) AS avg_price, MIN(price) AS lo, MAX(price) AS hi FROM trades "
              "GROUP BY symbol, tumble(ts, INTERVAL '1' SECOND) EMIT ON WINDOW CLOSE",
        watermarked=True, closer=True),
    "W3": dict(
        sources=["CREATE SOURCE " + TRADES.format(wm="")],
        query="CREATE STREAM out AS SELECT symbol, "
              "AVG(price) OVER (ORDER BY ts ROWS BETWEEN 99 PRECEDING AND CURRENT ROW) AS avg100, "
              "MAX(price) OVER (ORDER BY ts ROWS BETWEEN 99 PRECEDING AND CURRENT ROW) AS max100 "
              "FROM trades",
        watermarked=False, closer=False),
    "W4": dict(
        sources=["CREATE SOURCE " + TRADES.format(wm=WM_TS)],
        query="CREATE STREAM out AS SELECT * FROM trades MATCH_RECOGNIZE ("
              "PARTITION BY symbol ORDER BY ts MEASURES A.price AS p1, B.price AS p2 "
              "ONE ROW PER MATCH AFTER MATCH SKIP PAST LAST ROW PATTERN (A C* B) "
              "WITHIN INTERVAL '1' SECOND "
              "DEFINE A AS A.price > 148.0, B AS B.price < A.price - 80.0)",
        watermarked=True, closer=True),
    "W5": dict(
        sources=["CREATE SOURCE " + TRADES.format(wm=WM_TS), "CREATE SOURCE " + QUOTES.format(wm=WM_QTS)],
        query="CREATE STREAM out AS SELECT t.symbol, t.price, q.bid FROM trades t JOIN quotes q "
              "ON t.symbol = q.qsymbol AND q.qts BETWEEN t.ts - 99 AND t.ts + 99",
        watermarked=True, closer=False, idle_s=20.0),
}


# ---- data --------------------------------------------------------------------

def columns(n, shift=0):
    """The formulas of WORKLOADS.md over i = 0..n-1 (shifted by `shift` for
    Quotes; ts is never shifted), as numpy arrays."""
    i = np.arange(n, dtype=np.int64)
    j = i + shift
    sym = (j * 37) % 100
    cents = 5000 + (j * 7919) % 10000
    price = 50.0 + ((j * 7919) % 10000) / 100.0  # the same double as C's
    volume = 1 + (j * 104729) % 1000
    ts = TS_BASE + i
    return sym, cents, price, volume, ts


def symbol_array(sym):
    """utf8 "S000".."S099" built from buffers (no Python strings)."""
    n = len(sym)
    data = np.empty((n, 4), dtype=np.uint8)
    data[:, 0] = ord("S")
    data[:, 1] = ord("0") + sym // 100
    data[:, 2] = ord("0") + (sym // 10) % 10
    data[:, 3] = ord("0") + sym % 10
    offsets = np.arange(0, 4 * n + 1, 4, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data.reshape(-1)))


def table(n, quotes=False):
    sym, _, price, volume, ts = columns(n, 1 if quotes else 0)
    names = ["qsymbol", "bid", "size", "qts"] if quotes else ["symbol", "price", "volume", "ts"]
    return pa.table([symbol_array(sym), pa.array(price), pa.array(volume), pa.array(ts)], names=names)


# ---- expected answers (numpy, from the formulas) -------------------------------

def expected(w, n):
    """(rows, checksum, checks dict) per workload."""
    sym, cents, price, volume, ts = columns(n)
    if w == "W1":
        m = price > 100.0
        return int(m.sum()), int(volume[m].sum()), {"sum(price cents)": int(cents[m].sum())}
    if w == "W2":
        key = (ts // 1000 - TS_BASE // 1000) * 100 + sym
        nkeys = int(key.max()) + 1
        cnt = np.bincount(key, minlength=nkeys)
        present = cnt > 0
        lo = np.full(nkeys, np.iinfo(np.int64).max)
        hi = np.zeros(nkeys, dtype=np.int64)
        np.minimum.at(lo, key, cents)
        np.maximum.at(hi, key, cents)
        csum = np.bincount(key, weights=cents, minlength=nkeys)
        avg = csum[present] / cnt[present] / 100.0
        return int(present.sum()), int(volume.sum()), {
            "sum(n)": int(cnt.sum()), "sum(lo cents)": int(lo[present].sum()),
            "sum(hi cents)": int(hi[present].sum()), "sum(avg_price)": float(avg.sum())}
    if w == "W3":
        # Row k aggregates rows max(0, k-99)..k. Prices are > 0, so padding
        # with 99 zeros does not change a max.
        padded = np.concatenate([np.zeros(99, dtype=np.int64), cents])
        mx = np.lib.stride_tricks.sliding_window_view(padded, 100).max(axis=1)
        cs = np.concatenate([[0], np.cumsum(cents)])
        k = np.arange(n)
        lo_k = np.maximum(0, k - 99)
        avg = (cs[k + 1] - cs[lo_k]) / (k + 1 - lo_k) / 100.0
        return n, int(mx.sum()), {"sum(avg100)": float(avg.sum())}
    if w == "W4":
        # First later row of the same symbol with price < e1.price - 80,
        # within 1 s (1000 rows); same symbols recur every 100 rows, but the
        # scan checks every candidate offset anyway.
        starts = np.nonzero(price > 148.0)[0]
        done = np.zeros(len(starts), dtype=bool)
        p2 = np.zeros(len(starts), dtype=np.int64)
        for d in range(1, 1001):
            j = starts + d
            ok = ~done & (j < n)
            jj = np.where(ok, j, 0)
            hit = ok & (sym[jj] == sym[starts]) & (price[jj] < price[starts] - 80.0)
            p2[hit] = cents[jj][hit]
            done |= hit
        return int(done.sum()), int(p2[done].sum()), {"sum(p1 cents)": int(cents[starts][done].sum())}
    if w == "W5":
        qsym, qcents, _, _, _ = columns(n, 1)
        rows = chk = bid = 0
        for d in range(-99, 100):  # quote j = i + d, |ts difference| < 100 ms
            i0, i1 = max(0, -d), min(n, n - d)
            hit = sym[i0:i1] == qsym[i0 + d:i1 + d]
            rows += int(hit.sum())
            chk += int(cents[i0:i1][hit].sum())
            bid += int(qcents[i0 + d:i1 + d][hit].sum())
        return rows, chk, {"sum(bid cents)": bid}
    raise ValueError(w)


# ---- reading results ------------------------------------------------------------

def cents_sum(col):
    return int(pc.sum(pc.round(pc.multiply(col, 100.0))).as_py() or 0)


class Consumer(threading.Thread):
    def __init__(self, conn, sub, w, want_rows):
        super().__init__(daemon=True)
        self.conn, self.sub, self.w, self.want_rows = conn, sub, w, want_rows
        self.inserted = 0         # rows inserted, set with producer_done
        self.ingested_at = None   # when LaminarDB had ingested them all
        self.idle_s = IDLE_S
        self.last_report = 0.0
        self.rows = 0
        self.checksum = 0
        self.checks = {}
        self.columns = None
        self.first = self.last = None
        self.producer_done = None  # set by the producer: time of the last insert
        self.error = None

    def add(self, key, v):
        self.checks[key] = self.checks.get(key, 0) + v

    def tally(self, t):
        self.columns = t.column_names
        w = self.w
        if w == "W1":
            self.checksum += int(pc.sum(t["volume"]).as_py() or 0)
            self.add("sum(price cents)", cents_sum(t["price"]))
        elif w == "W2":
            self.checksum += int(pc.sum(t["vol"]).as_py() or 0)
            self.add("sum(n)", int(pc.sum(t["n"]).as_py() or 0))
            self.add("sum(lo cents)", cents_sum(t["lo"]))
            self.add("sum(hi cents)", cents_sum(t["hi"]))
            self.add("sum(avg_price)", float(pc.sum(t["avg_price"]).as_py() or 0.0))
        elif w == "W3":
            self.checksum += cents_sum(t["max100"])
            self.add("sum(avg100)", float(pc.sum(t["avg100"]).as_py() or 0.0))
        elif w == "W4":
            if "p2" not in t.column_names:
                return  # not a pattern result at all; reported as unsupported
            self.checksum += cents_sum(t["p2"])
            self.add("sum(p1 cents)", cents_sum(t["p1"]))
        elif w == "W5":
            self.checksum += cents_sum(t["price"])
            self.add("sum(bid cents)", cents_sum(t["bid"]))

    def run(self):
        start = time.perf_counter()
        try:
            while self.rows < self.want_rows:
                try:
                    b = self.sub.next_timeout(POLL_MS)
                except Exception as e:  # 0.17 raises on a timeout instead of returning None
                    if "timeout" not in str(e).lower():
                        raise
                    b = None
                now = time.perf_counter()
                if VERBOSE and now - self.last_report > 2.0:
                    self.last_report = now
                    m = self.conn.metrics()
                    print(f"[{now - start:7.1f}s] rows {self.rows}/{self.want_rows} ingested "
                          f"{m.total_events_ingested} emitted {m.total_events_emitted} "
                          f"dropped {m.total_events_dropped}", file=sys.stderr, flush=True)
                if b is None:
                    if self.producer_done is not None and self.ingested_at is None:
                        # Inserts return before LaminarDB ingests the rows:
                        # wait until it counted them all (or stalls).
                        m = self.conn.metrics()
                        if m.total_events_ingested >= self.inserted:
                            self.ingested_at = now
                    quiet_since = max(self.last or start, self.ingested_at or 0.0)
                    if self.ingested_at is not None and now - quiet_since > self.idle_s:
                        return
                    if now - quiet_since > STALL_S:
                        self.error = f"no output and no progress for {STALL_S:.0f} s"
                        return
                    continue
                t = b.to_arrow()
                if t.num_rows == 0:
                    continue
                if self.first is None:
                    self.first = now
                self.last = now
                self.rows += t.num_rows
                self.tally(t)
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}"


# ---- a run ---------------------------------------------------------------------

def peak_rss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run(w, n, batch_rows, buffer_size, any_batch=False):
    spec = WORKLOADS[w]
    out = {"engine": "laminardb", "version": getattr(laminardb, "__version__", "?"), "workload": w,
           "path": "arrow", "n": n, "sql": spec["query"], "loadavg_1m": os.getloadavg()[0]}
    rows_per_batch = min(batch_rows, WM_BATCH_ROWS) if spec["watermarked"] and not any_batch else batch_rows
    out["batch_rows"] = rows_per_batch
    if any_batch and spec["watermarked"] and batch_rows > WM_BATCH_ROWS:
        out["variant"] = f"{batch_rows}-row batches, beyond the 1 s watermark delay"
    out["buffer_size"] = buffer_size

    want_rows, want_sum, want_checks = expected(w, n)
    out.update(expected_rows=want_rows, expected_checksum=want_sum, expected_checks=want_checks)

    conn = laminardb.open(":memory:", config=laminardb.LaminarConfig(buffer_size=buffer_size))
    try:
        for s in spec["sources"]:
            conn.execute(s)
        conn.execute(spec["query"])
        conn.start()
        sub = conn.subscribe_stream("out")
    except Exception as e:
        out.update(status="unsupported", ok=None, error=f"{type(e).__name__}: {e}")
        return out

    trades = table(n).to_batches(max_chunksize=rows_per_batch)
    quotes = table(n, quotes=True).to_batches(max_chunksize=rows_per_batch) if w == "W5" else None
    writers = [conn.writer("trades")] + ([conn.writer("quotes")] if quotes else [])
    closer = None
    if spec["closer"]:
        # One row far in the future moves the watermark past every window of
        # the data (see the module docstring for why not writer.watermark).
        far = TS_BASE + n + 100_000
        closer = [pa.table({"symbol": ["S000"], "price": [100.0], "volume": pa.array([0], pa.int64()),
                            "ts": pa.array([far], pa.int64())}).to_batches()[0]]
        if quotes:
            # A symbol no trade has, so the two closers do not join.
            closer.append(pa.table({"qsymbol": ["Q999"], "bid": [100.0], "size": pa.array([0], pa.int64()),
                                    "qts": pa.array([far], pa.int64())}).to_batches()[0])

    cons = Consumer(conn, sub, w, want_rows)
    # The interval join (W5) emits its rows in one burst some 9 s after the
    # input on this machine (an internal timer?): wait longer for it.
    cons.idle_s = spec.get("idle_s", IDLE_S)
    cons.start()
    rss_start = peak_rss_kib()
    inserted = sum(b.num_rows for b in trades) + (sum(b.num_rows for b in quotes) if quotes else 0) \
        + (sum(b.num_rows for b in closer) if closer else 0)
    produced = {}

    # The inserts run on their own thread: LaminarDB's insert can block for
    # good (W2 beyond ~2M rows: ingestion stops, and with it every insert),
    # and then the consumer's stall timeout must still end the run.
    def produce():
        try:
            for k in range(len(trades)):
                writers[0].insert(trades[k])
                if quotes:
                    writers[1].insert(quotes[k])
            if closer:
                for wr, b in zip(writers, closer):
                    wr.insert(b)
            for wr in writers:
                wr.flush()
        except Exception as e:
            produced["error"] = f"insert: {type(e).__name__}: {e}"
        produced["t"] = time.perf_counter()
        cons.inserted = inserted
        cons.producer_done = produced["t"]

    producer = threading.Thread(target=produce, daemon=True)
    t0 = time.perf_counter()
    producer.start()
    cons.join()
    if cons.error or "t" not in produced:
        m = conn.metrics()
        out.update(status="error", ok=False, out_rows=cons.rows,
                   metrics={"ingested": m.total_events_ingested, "emitted": m.total_events_emitted,
                            "dropped": m.total_events_dropped},
                   error=f"{cons.error or 'consumer ended first'}; LaminarDB ingested {m.total_events_ingested:,} "
                         f"of {inserted:,} rows, emitted {m.total_events_emitted:,}, "
                         + ("the inserts were still blocked" if "t" not in produced else "all inserts returned"))
        return out
    producer.join()
    if "error" in produced:
        out.update(status="error", ok=False, error=produced["error"])
        return out
    t_pushed = produced["t"]

    events = n * (2 if quotes else 1)
    secs = ((cons.last or t_pushed) - t0)
    out.update(events=events, seconds=secs, events_per_sec=events / secs, push_seconds=t_pushed - t0,
               first_output_seconds=(cons.first - t0) if cons.first else None,
               out_rows=cons.rows, checksum=cons.checksum, checks=cons.checks, output_columns=cons.columns,
               rss_at_start_kib=rss_start, peak_rss_kib=peak_rss_kib())
    try:
        m = conn.metrics()
        out["metrics"] = {"ingested": m.total_events_ingested, "emitted": m.total_events_emitted,
                          "dropped": m.total_events_dropped}
    except Exception:
        pass

    problems = []
    if w == "W4" and cons.columns is not None and "p2" not in cons.columns:
        out.update(status="unsupported", ok=None,
                   error=f"MATCH_RECOGNIZE accepted but not applied: the stream passes input rows through "
                         f"(columns {cons.columns}, {cons.rows} rows of {n})")
        return out
    if cons.rows != want_rows:
        problems.append(f"rows {cons.rows} != expected {want_rows}")
    if cons.checksum != want_sum:
        problems.append(f"checksum {cons.checksum} != expected {want_sum}")
    for k, v in want_checks.items():
        g = cons.checks.get(k)
        if isinstance(v, float):
            if g is None or abs(g - v) > 1e-9 * max(1.0, abs(v)):
                problems.append(f"{k} {g} != expected {v}")
        elif g != v:
            problems.append(f"{k} {g} != expected {v}")
    out["ok"] = not problems
    out["status"] = "ok" if not problems else "mismatch"
    if problems:
        out["mismatch"] = "; ".join(problems)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-w", "--workload", required=True, choices=sorted(WORKLOADS))
    ap.add_argument("-n", type=int, default=10_000_000)
    ap.add_argument("--batch-rows", type=int, default=8192,
                    help="rows per inserted batch (watermarked sources use at most 1000)")
    ap.add_argument("--buffer-size", type=int, default=BUFFER_SIZE,
                    help="LaminarConfig(buffer_size=...) (default %(default)s)")
    ap.add_argument("--any-batch", action="store_true",
                    help="use --batch-rows even on watermarked sources (LaminarDB then drops rows as late)")
    ap.add_argument("-v", "--verbose", action="store_true", help="progress on stderr every 2 s")
    a = ap.parse_args()
    global VERBOSE
    VERBOSE = a.verbose
    r = run(a.workload, a.n, a.batch_rows, a.buffer_size, a.any_batch)
    print(json.dumps(r), flush=True)
    # The engine's threads may outlive main; do not wait for them.
    os._exit(0)


if __name__ == "__main__":
    main()
