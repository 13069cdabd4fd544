"""The scenario's results computed without eddy, for scripts/test_cross.sh.

    expected.py counts          prints "<Big rows> <PerSec groups>"
    expected.py check FILE      checks a canonical output against this model
    expected.py decode          copies stdin, appending the decimal value of
                                every 16-hex-digit (IEEE 754 bits) field

The model is plain Python over the same formulas: the filter, tumbling
1-second groups by (symbol, window start), and the watermark (largest ts so
far minus 200 ms), which no row may fall behind. Everything is compared
exactly except AVG, which eddy computes with compensated summation: it must
be within 4 ulps of the correctly rounded mean (math.fsum / n).
"""
import math
import re
import struct
import sys

ROWS = 10000
DELAY_MS = 200


def rows():
    for i in range(ROWS):
        yield (
            "S%03d" % ((i * 37) % 20),
            50.0 + ((i * 7919) % 10000) / 100.0,
            1 + (i * 104729) % 1000,
            1700000000000 + i * 3 + ((i * 13) % 7) * 20 - 60,
        )


def bits(v):
    return "%016x" % struct.unpack(">Q", struct.pack(">d", v))[0]


def unbits(h):
    return struct.unpack(">d", bytes.fromhex(h))[0]


def model():
    """(Big lines, {(symbol, window_start): [prices, volumes]}, late rows)."""
    big, groups, late, max_ts = [], {}, 0, None
    for sym, price, volume, ts in rows():
        if max_ts is not None and ts < max_ts - DELAY_MS:
            late += 1
            continue
        max_ts = ts if max_ts is None else max(max_ts, ts)
        if price > 140.0:
            big.append(f"Big|{sym}|{bits(price)}|{volume}")
        g = groups.setdefault((sym, ts // 1000 * 1000), ([], []))
        g[0].append(price)
        g[1].append(volume)
    return big, groups, late


def check(path):
    big, groups, late = model()
    if late:
        return [f"the model itself has {late} late rows: the scenario is wrong"]
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines[-1] != "":
        return ["the output does not end with a newline"]
    lines.pop()
    problems = []
    want_stats = f"Stats|Trades|events_in={ROWS}|late=0|queries_late=0"
    stats = [l for l in lines if l.startswith("Stats|")]
    if stats != [want_stats]:
        problems.append(f"stats line(s) {stats}, expected [{want_stats!r}]")
    got_big = [l for l in lines if l.startswith("Big|")]
    if sorted(got_big) != sorted(big):
        missing = sorted(set(big) - set(got_big))[:5]
        extra = sorted(set(got_big) - set(big))[:5]
        problems.append(f"Big: {len(got_big)} rows, expected {len(big)}; missing {missing}, unexpected {extra}")
    seen = set()
    for l in lines:
        if not l.startswith("PerSec|"):
            if not l.startswith(("Stats|", "Big|")):
                problems.append(f"unknown line {l!r}")
            continue
        f = l.split("|")
        key = (f[1], int(f[2]))
        if key in seen or key not in groups:
            problems.append(f"{'duplicate' if key in seen else 'unexpected'} group: {l}")
            continue
        seen.add(key)
        prices, volumes = groups[key]
        want = [str(len(prices)), str(sum(volumes)), bits(min(prices)), bits(max(prices))]
        if f[3:7] != want:
            problems.append(f"{l}: n|vol|lo|hi should be {'|'.join(want)}")
        mean = math.fsum(prices) / len(prices)
        if abs(unbits(f[7]) - mean) > 4 * math.ulp(mean):
            problems.append(f"{l}: avg {unbits(f[7])!r} is not within 4 ulps of {mean!r}")
    if len(seen) != len(groups):
        problems.append(f"PerSec: {len(seen)} groups, expected {len(groups)}")
    return problems


def main(argv):
    if argv[1:] == ["counts"]:
        big, groups, _ = model()
        print(len(big), len(groups))
    elif len(argv) == 3 and argv[1] == "check":
        problems = check(argv[2])
        for p in problems[:20]:
            print(f"  {p}", file=sys.stderr)
        return 1 if problems else 0
    elif argv[1:] == ["decode"]:
        for line in sys.stdin:
            line = line.rstrip("\n")
            vals = [repr(unbits(h)) for h in re.findall(r"(?<=\|)[0-9a-f]{16}(?=\||$)", line)]
            print(line + (f"   ({', '.join(vals)})" if vals else ""))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
