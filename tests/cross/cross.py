"""The cross-language scenario in Python (see tests/cross/README.md): rows
alternate, 1000 at a time, between Input.append_many and Input.push
(pyarrow record batches); Big is read by iterating the subscription, PerSec
as a pyarrow table through its Arrow stream; the canonical text goes to
stdout. Exit status 1 with a message on stderr on failure.

    PYTHONPATH=bindings/python EDDY_LIB=.../libeddy.so python3 tests/cross/cross.py
"""
import struct
import sys

import pyarrow as pa

import eddy

ROWS = 10000
CHUNK = 1000
SQL = (
    "CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT, ts BIGINT) "
    "WITH (event_time = 'ts', watermark_delay = INTERVAL '200' MILLISECOND);"
    "INSERT INTO Big SELECT symbol, price, volume FROM Trades WHERE price > 140.0;"
    "INSERT INTO PerSec SELECT symbol, window_start, COUNT(*) AS n, SUM(volume) AS vol, "
    "MIN(price) AS lo, MAX(price) AS hi, AVG(price) AS avg_price "
    "FROM Trades WINDOW('tumbling', INTERVAL '1' SECOND) GROUP BY symbol, window_start"
)


def row(i):
    """Row i of the scenario, from the shared formulas (integer math)."""
    return (
        "S%03d" % ((i * 37) % 20),
        50.0 + ((i * 7919) % 10000) / 100.0,
        1 + (i * 104729) % 1000,
        1700000000000 + i * 3 + ((i * 13) % 7) * 20 - 60,
    )


# Field formatters: NULL, integers, strings, and doubles as the 16 hex digits
# of their IEEE 754 bits (exact, the same in every language).
def f64(v):
    return "NULL" if v is None else "%016x" % struct.unpack("<Q", struct.pack("<d", v))[0]


def text(v):
    return "NULL" if v is None else str(v)


def columns(batch, *names):
    """Python values of the named columns; TIMESTAMP as int64 epoch ms."""
    out = []
    for name in names:
        col = batch.column(batch.schema.get_field_index(name))
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        out.append(col.to_pylist())
    return out


def stats_line(stats):
    trades = [s for s in stats["streams"] if s["name"] == "Trades"]
    if len(trades) != 1 or len(stats["queries"]) != 2:
        raise RuntimeError(f"unexpected stats: {stats}")
    qlate = sum(q["late"] for q in stats["queries"])
    return f"Stats|Trades|events_in={trades[0]['events_in']}|late={trades[0]['late']}|queries_late={qlate}"


def main():
    lines = []
    with eddy.Engine("overflow=block") as eng:
        eng.execute(SQL)
        big = eng.subscribe("Big")
        per_sec = eng.subscribe("PerSec")
        # Leaving the block closes the stream's only input: open windows fire.
        with eng.input("Trades") as trades:
            for start in range(0, ROWS, CHUNK):
                rows = [row(i) for i in range(start, start + CHUNK)]
                if (start // CHUNK) % 2 == 0:
                    trades.append_many(rows)
                else:
                    cols = list(zip(*rows))
                    trades.push(pa.record_batch(
                        [pa.array(cols[0], pa.string()), pa.array(cols[1], pa.float64()),
                         pa.array(cols[2], pa.int64()), pa.array(cols[3], pa.int64())],
                        names=["symbol", "price", "volume", "ts"]))
        eng.flush()
        lines.append(stats_line(eng.stats()))
        eng.close()

        for batch in big:  # ends at end of stream
            for s, p, v in zip(*columns(batch, "symbol", "price", "volume")):
                lines.append("|".join(["Big", text(s), f64(p), text(v)]))
        table = pa.table(per_sec)  # reads the stream to its end
        for batch in table.to_batches():
            for s, w, n, vol, lo, hi, avg in zip(*columns(
                    batch, "symbol", "window_start", "n", "vol", "lo", "hi", "avg_price")):
                lines.append("|".join(["PerSec", text(s), text(w), text(n), text(vol), f64(lo), f64(hi), f64(avg)]))
        big.free()
        per_sec.free()

    lines.sort()
    sys.stdout.write("".join(line + "\n" for line in lines))
    sys.stdout.flush()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a one-line reason for the driver's log
        print(f"cross.py: {type(e).__name__}: {e}", file=sys.stderr)
        raise SystemExit(1)
