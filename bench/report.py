#!/usr/bin/env python3
"""Turns the raw runs of bench/run.sh into latest.json, latest.md and
latest.png (matplotlib; skipped with --no-png or when it is missing).

    python bench/report.py --runs build/bench/runs.jsonl --meta build/bench/meta.json --out bench/results
"""
import argparse
import json
import os
import statistics
import sys

MIB = 1024 * 1024

# The targets (2-core machine, N = 10M, median of 3).
# (workload, path) -> (min M events/s, min ratio to LaminarDB or None).
# "either" targets apply to the better of the two paths.
TARGETS = {
    ("W1", "arrow"): (60, 5), ("W1", "rows"): (20, None),
    ("W2", "arrow"): (30, 5), ("W2", "rows"): (15, None),
    ("W3", "either"): (15, None), ("W4", "either"): (10, None), ("W5", "either"): (5, None),
}
LAT_TARGET = {"rate": 100000, "p99_us": 20, "p999_us": 100}
STATE_TARGET_MIB = 16
PATH_NAME = {"rows": "per-event", "arrow": "Arrow batches"}


def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def mevs(r):
    return (r.get("events_per_sec") or 0) / 1e6


def stats(runs):
    """(median, min, max) of M events/s over the runs that completed."""
    v = [mevs(r) for r in runs if r.get("events_per_sec")]
    if not v:
        return None
    return statistics.median(v), min(v), max(v)


def fmt_rate(s):
    if s is None:
        return "—"
    med, lo, hi = s
    return f"**{med:.2f}** [{lo:.2f}–{hi:.2f}]"


def target_for(w, path):
    if (w, path) in TARGETS:
        return TARGETS[(w, path)], False
    if (w, "either") in TARGETS:
        return TARGETS[(w, "either")], True
    return None, False


class Report:
    def __init__(self, runs, meta):
        self.runs, self.meta = runs, meta
        self.eddy = [r for r in runs if r.get("engine") == "eddy" and r.get("mode") != "latency"]
        self.peer = [r for r in runs if r.get("engine") == "laminardb" and not r.get("variant")]
        self.variants = [r for r in runs if r.get("engine") == "laminardb" and r.get("variant")]
        self.latency = [r for r in runs if r.get("mode") == "latency"]
        self.jitter = [r for r in runs if r.get("mode") == "jitter"]
        self.ns = sorted({r["n"] for r in self.eddy}, reverse=True)
        self.workloads = sorted({r["workload"] for r in self.eddy})

    def eddy_runs(self, n, w, path):
        return [r for r in self.eddy if r["n"] == n and r["workload"] == w and r["path"] == path]

    def peer_runs(self, n, w):
        return [r for r in self.peer if r["workload"] == w and r["n"] == n]

    def peer_any(self, w):
        return [r for r in self.peer if r["workload"] == w]

    # ---- verdicts ---------------------------------------------------------

    def eddy_status(self, runs):
        if not runs:
            return "not run"
        if any(r.get("status") == "unsupported" for r in runs):
            return "unsupported"
        bad = [r for r in runs if not r.get("ok")]
        return "ok" if not bad else f"**WRONG** ({len(bad)} of {len(runs)} runs)"

    def peer_cell(self, n, w):
        """(figure text, stats or None, answer text)."""
        runs = self.peer_runs(n, w)
        if not runs:
            other = self.peer_any(w)
            if other and any(r.get("status") == "unsupported" for r in other):
                return "unsupported by peer", None, "—"
            if other:
                return f"see n = {other[0]['n']:,}", None, "—"
            return "not run", None, "—"
        if any(r.get("status") == "unsupported" for r in runs):
            return "unsupported by peer", None, "—"
        done = [r for r in runs if r.get("events_per_sec")]
        s = stats(done)
        if any(r.get("status") == "error" for r in runs) and not done:
            return f"did not finish ({runs[0].get('error', '').replace('laminar_bench.py ', '')})", None, "error"
        wrong = [r for r in runs if r.get("status") == "mismatch"]
        answer = "ok" if not wrong and done else (f"WRONG ({len(wrong)} of {len(runs)})" if wrong else "error")
        return fmt_rate(s), s, answer

    # ---- markdown -----------------------------------------------------------

    def throughput_table(self, n, with_targets):
        out = []
        head = "| workload | path | eddy M ev/s median [min–max] | LaminarDB M ev/s median [min–max] | eddy / LaminarDB | out rows (eddy) | expected rows | eddy answer | LaminarDB answer |"
        sep = "|---|---|---|---|---|---|---|---|---|"
        if with_targets:
            head += " target | met? |"
            sep += "---|---|"
        out += [head, sep]
        for w in self.workloads:
            either_best = None
            if (w, "either") in TARGETS:
                meds = [stats(self.eddy_runs(n, w, p)) for p in ("rows", "arrow")]
                meds = [m[0] for m in meds if m]
                either_best = max(meds) if meds else None
            for path in ("rows", "arrow"):
                runs = self.eddy_runs(n, w, path)
                if not runs:
                    continue
                st = self.eddy_status(runs)
                title = runs[0].get("title", "")
                if st == "unsupported":
                    err = runs[0].get("error", "")
                    row = [f"{w} {title}", PATH_NAME[path], f"unsupported by eddy: `{err}`"]
                    s = None
                else:
                    s = stats(runs)
                    row = [f"{w} {title}", PATH_NAME[path], fmt_rate(s)]
                if path == "arrow":
                    ptxt, ps, pans = self.peer_cell(n, w)
                else:
                    ptxt, ps, pans = "— (batches only)", None, "—"
                ratio = "—"
                if s and ps and ps[0] > 0:
                    ratio = f"{s[0] / ps[0]:.2f}×"
                    if pans != "ok":
                        ratio += " (peer answer wrong)"
                outrows = runs[0].get("out_rows", "—")
                exp = runs[0].get("expected_rows", "—")
                row += [ptxt, ratio, f"{outrows:,}" if isinstance(outrows, int) else "—",
                        f"{exp:,}" if isinstance(exp, int) else "—", st, pans]
                if with_targets:
                    t, either = target_for(w, path)
                    if t is None:
                        row += ["—", "—"]
                    else:
                        mins, ratio_min = t
                        ttxt = f"≥ {mins} M ev/s" + (" (either path)" if either else "") + \
                               (f" and ≥ {ratio_min}× LaminarDB" if ratio_min else "")
                        val = either_best if either else (s[0] if s else None)
                        met = val is not None and val >= mins
                        verdict = None
                        if ratio_min and met and (ps is None or not ps[0] > 0):
                            # The speed holds but the peer gave no figure at
                            # this n: say so, with the ratio at any other n.
                            other = [f"{m:,}: {r:.1f}×" for m, r in self.ratios_at_other_n(n, w)]
                            verdict = ("speed yes; ratio not measured (no peer figure)"
                                       + (f"; at n = {', '.join(other)}" if other else ""))
                            met = False
                        elif ratio_min:
                            met = met and s is not None and ps is not None and s[0] / ps[0] >= ratio_min
                        row += [ttxt, verdict or ("yes" if met else ("**no** (unsupported)" if val is None and st == "unsupported" else "**no**"))]
                out.append("| " + " | ".join(row) + " |")
        return out

    def ratios_at_other_n(self, n, w):
        """(n, eddy / LaminarDB) on Arrow batches at the run's other sizes
        where the peer gave a correct figure."""
        out = []
        for m in sorted(self.ns):
            if m == n:
                continue
            s = stats(self.eddy_runs(m, w, "arrow"))
            _, ps, pans = self.peer_cell(m, w)
            if s and ps and ps[0] > 0 and pans == "ok":
                out.append((m, s[0] / ps[0]))
        return out

    def latency_table(self):
        out = ["| rate (ev/s) | options | consumer | delivery | p50 µs | p99 µs | p99.9 µs | max µs | mean µs | achieved rate | pushes > 10 µs late | answer |",
               "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in sorted(self.latency, key=lambda r: (r.get("rate", 0), r.get("extra_options", ""),
                                                     r.get("consumer", ""), r.get("delivery", ""))):
            opt = r.get("extra_options") or "defaults"
            if r.get("status") == "error":
                out.append(f"| {r.get('rate', 0):,.0f} | {opt} | {r.get('consumer')} | {r.get('delivery')} | error: {r.get('error')} ||||||||")
                continue
            late = 100.0 * r.get("pushes_over_10us_late", 0) / max(1, r.get("n", 0))
            out.append("| {:,.0f} | {} | {} | {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:,.0f} | {:.0f} % | {} |".format(
                r["rate"], opt, r["consumer"], r["delivery"], r["p50_us"], r["p99_us"], r["p999_us"], r["max_us"],
                r["mean_us"], r["achieved_rate"], late, "ok" if r.get("ok") else "**WRONG**"))
        return out

    def best_latency(self, rate):
        """The configuration closest to the target on its worse percentile:
        one that meets both p99 and p99.9 when any does (ranking by p99
        alone picked a configuration with a millisecond p99.9 tail)."""
        c = [r for r in self.latency if r.get("rate") == rate
             and r.get("p99_us") is not None and r.get("p999_us") is not None]
        return min(c, key=lambda r: max(r["p99_us"] / LAT_TARGET["p99_us"],
                                        r["p999_us"] / LAT_TARGET["p999_us"])) if c else None

    def memory_table(self):
        out = ["| n | path | state bytes, max sampled (MiB) | state at last push (MiB) | peak RSS (MiB) | RSS when the clock started (MiB) | peak − start (MiB) |",
               "|---|---|---|---|---|---|---|"]
        for n in sorted(self.ns):
            for path in ("rows", "arrow"):
                runs = [r for r in self.eddy_runs(n, "W2", path) if r.get("status") in ("ok", "mismatch")]
                if not runs:
                    continue
                sb = [r.get("state_bytes") for r in runs if r.get("state_bytes") is not None]
                sl = [r.get("state_bytes_at_last_push") for r in runs if r.get("state_bytes_at_last_push") is not None]
                pk = statistics.median([r["peak_rss_kib"] for r in runs]) / 1024
                st = statistics.median([r["rss_at_start_kib"] for r in runs]) / 1024
                out.append(f"| {n:,} | {PATH_NAME[path]} | {max(sb) / MIB:.2f} | {max(sl) / MIB:.2f} | {pk:.1f} | {st:.1f} | {pk - st:.1f} |"
                           if sb else f"| {n:,} | {PATH_NAME[path]} | n/a | n/a | {pk:.1f} | {st:.1f} | {pk - st:.1f} |")
        return out

    def memory_verdict(self):
        if len(self.ns) < 2:
            return None
        big, small = max(self.ns), min(self.ns)
        res = []
        sb = [r.get("state_bytes") or 0 for r in self.eddy_runs(big, "W2", "rows") + self.eddy_runs(big, "W2", "arrow")]
        if sb:
            m = max(sb) / MIB
            res.append(f"engine state over W2 at n = {big:,}: max {m:.2f} MiB (target < {STATE_TARGET_MIB} MiB): "
                       + ("met" if m < STATE_TARGET_MIB else "**not met**"))
        for path in ("rows", "arrow"):
            a = [r for r in self.eddy_runs(big, "W2", path) if r.get("peak_rss_kib")]
            b = [r for r in self.eddy_runs(small, "W2", path) if r.get("peak_rss_kib")]
            if not a or not b:
                continue
            # Growth beyond what the run started with: the Arrow path builds
            # all its input before the clock, which grows with N by design.
            ga = statistics.median([r["peak_rss_kib"] - r["rss_at_start_kib"] for r in a]) / 1024
            gb = statistics.median([r["peak_rss_kib"] - r["rss_at_start_kib"] for r in b]) / 1024
            ok = ga <= gb * 1.10 + 8
            res.append(f"peak RSS growth during the run, {PATH_NAME[path]}: {gb:.1f} MiB at n = {small:,}, "
                       f"{ga:.1f} MiB at n = {big:,} (target: not growing with N, i.e. within 10 % + 8 MiB): "
                       + ("met" if ok else "**not met**"))
        return res

    def markdown(self, png_name, h="##", title=True):
        """The report; `h` is the heading level of its sections (the docs
        page nests it one level deeper)."""
        m = self.meta
        L = []
        if title:
            L.append("# eddy benchmark results")
            L.append("")
        L.append(f"Generated by `bash bench/run.sh` on {m.get('date')} (commit {m.get('git_commit')}"
                 f"{', src/ modified' if m.get('git_dirty') else ''}); {m.get('elapsed_s')} s for the whole run.")
        L.append("")
        L.append(f"Machine: {m.get('nproc')} cores ({m.get('cpu')}), {m.get('memory_gib')} GiB, Linux {m.get('kernel')}; "
                 f"load average at the end {m.get('loadavg_at_end')}. Compilers: {m.get('cc')}; {m.get('rustc')}.")
        opts = next((r.get("options") for r in self.eddy if r.get("options")), None)
        L.append("")
        L.append(f"eddy engine options: `{opts}`; results read by a consumer thread "
                 f"(`{next((r.get('delivery') for r in self.eddy), 'pull')}`). "
                 "LaminarDB 0.17.0 (Python), Arrow batches through `writer.insert`, "
                 "results read by a thread in `subscribe_stream(...).next_timeout()`.")
        L.append("")
        total = len([r for r in self.eddy if r.get("status") != "unsupported"])
        good = len([r for r in self.eddy if r.get("ok")])
        L.append(f"eddy answers: {good} of {total} throughput runs gave exactly the expected rows and checksums"
                 + (" (all correct)." if good == total else " — **SOME ARE WRONG**."))
        if png_name:
            L += ["", f"![throughput and latency]({png_name})"]
        for i, n in enumerate(self.ns):
            L += ["", f"{h} Throughput, n = {n:,} input events ({m.get('runs')} runs each)", ""]
            L += self.throughput_table(n, with_targets=(i == 0))
        if self.latency:
            L += ["", f"{h} Latency, W1 per-event, paced", ""]
            L.append("Push time is read just before `eddy_input_begin_row`; receipt time when the batch holding "
                     "the row reaches the host. Every output row is matched to its input row (and checked by its volume).")
            L.append("")
            L += self.latency_table()
            busy = any(j["gaps_over_1ms"] > 0 for j in self.jitter if j.get("threads", 1) == 1)
            busy_all = any(j["gaps_over_1ms"] > 0 for j in self.jitter if j.get("threads", 1) > 1)
            L += ["", "No percentile can be better than the gaps the machine imposes on the producer, the engine's "
                  "worker and the consumer (see the machine baseline below): "
                  + ("during this run a spinning thread lost the CPU for milliseconds at a time, so the tail "
                     "figures measure the machine more than eddy." if busy else
                     "one busy thread ran undisturbed, but with every CPU busy a thread lost its CPU for "
                     "milliseconds at a time, so configurations that keep both CPUs busy (a spinning worker "
                     "beside the paced producer) carry the machine's gaps in their tails." if busy_all else
                     "the machine was quiet enough for these to be eddy's figures.")]
            b = self.best_latency(LAT_TARGET["rate"])
            if b:
                met = b["p99_us"] <= LAT_TARGET["p99_us"] and b["p999_us"] <= LAT_TARGET["p999_us"]
                L += ["", f"Target at {LAT_TARGET['rate']:,} ev/s: p99 ≤ {LAT_TARGET['p99_us']} µs and p99.9 ≤ "
                      f"{LAT_TARGET['p999_us']} µs. Best configuration ({b['consumer']} consumer, {b['delivery']}, "
                      f"{b.get('extra_options') or 'default options'}): "
                      f"p99 {b['p99_us']:.1f} µs, p99.9 {b['p999_us']:.1f} µs: " + ("met." if met else "**not met**.")]
        if self.jitter:
            L += ["", f"{h} Machine baseline", "",
                  "Threads that only read the clock in a loop (as the paced producer does), for a few seconds: "
                  "every gap between two reads is time the machine gave to something else. One thread, then one "
                  "per CPU: a run that keeps every CPU busy (producer, worker, consumer) sees the second.", "",
                  "| when | spinning threads | load average (1 min) | CPU time lost | gaps > 100 µs | gaps > 1 ms | longest gap µs |",
                  "|---|---|---|---|---|---|---|"]
            for j in self.jitter:
                L.append(f"| {j.get('label', '')} | {j.get('threads', 1)} | {j['loadavg_1m']:.2f} | {j['time_lost_pct']:.1f} % | "
                         f"{j['gaps_over_100us']} | {j['gaps_over_1ms']} | {j['max_gap_us']:,.0f} |")
            single = [j for j in self.jitter if j.get("threads", 1) == 1]
            every = [j for j in self.jitter if j.get("threads", 1) > 1]
            if every and not any(j["time_lost_pct"] > 5 for j in single) \
                    and any(j["time_lost_pct"] > 5 for j in every):
                worst = max(j["time_lost_pct"] for j in every)
                alone = max((j["time_lost_pct"] for j in single), default=0.0)
                L += ["", f"With every CPU busy, the spinning threads lost up to {worst:.0f} % of their time "
                      f"while one thread alone lost at most {alone:.1f} %: this machine does not give a run all of its CPUs "
                      "at once, so runs that need both (the per-event path: producer and worker) measure lower "
                      "than they would on dedicated cores."]
            if any(j["time_lost_pct"] > 5 for j in single):
                L += ["", "**The machine was busy with other work during this run** (it is shared): the "
                      "figures above are lower, and noisier, than the same code gives on an idle machine. "
                      "Short runs suffer less: at n = 1M the Arrow path takes a few tens of milliseconds, "
                      "which often fits between two interruptions, so 1M figures can beat 10M ones."]
        L += ["", f"{h} Memory, W2 (tumbling aggregation)", ""]
        L += self.memory_table()
        v = self.memory_verdict()
        if v:
            L.append("")
            L += [f"- {x}" for x in v]
        notes = []
        for w in self.workloads:
            u = [r for r in self.eddy if r["workload"] == w and r.get("status") == "unsupported"]
            if u:
                notes.append(f"eddy {w}: unsupported; eddy says `{u[0].get('error')}`")
        for w in sorted({r["workload"] for r in self.peer}):
            rs = self.peer_any(w)
            u = [r for r in rs if r.get("status") == "unsupported"]
            if u:
                notes.append(f"LaminarDB {w}: unsupported by peer: {u[0].get('error')}")
            wrong = [r for r in rs if r.get("status") == "mismatch"]
            for r in wrong[:1]:
                notes.append(f"LaminarDB {w} at n = {r['n']:,}: wrong answer: {r.get('mismatch')}")
            err = [r for r in rs if r.get("status") == "error"]
            for r in err[:1]:
                notes.append(f"LaminarDB {w} at n = {r['n']:,}: {r.get('error')}")
            capped = [r for r in rs if r["n"] < max(self.ns)]
            if w in ("W4", "W5") and capped and not any(r["n"] == max(self.ns) for r in rs):
                notes.append(f"LaminarDB {w}: run once at n = {capped[0]['n']:,} only (see bench/run.sh)")
            fo = [r for r in rs if r.get("first_output_seconds") and r.get("seconds") and r["first_output_seconds"] > 0.8 * r["seconds"] and r["seconds"] > 2]
            for r in fo[:1]:
                notes.append(f"LaminarDB {w} at n = {r['n']:,}: its first output row arrived {r['first_output_seconds']:.1f} s "
                             f"after the first insert, of {r['seconds']:.1f} s in all: it held its output until then, "
                             "so its figure is mostly that delay")
        for w in sorted({r["workload"] for r in self.peer}):
            for n in self.ns:
                st = stats([r for r in self.peer_runs(n, w) if r.get("status") == "ok"])
                if st and st[1] > 0 and st[2] / st[1] > 5:
                    notes.append(f"LaminarDB {w} at n = {n:,}: its runs range from {st[1]:.2f} to {st[2]:.2f} M ev/s: "
                                 "some runs stall for ~25 s before the last rows come (the answer is right in the "
                                 "end), so its median, and the ratio, depend on how many runs stalled")
        for r in self.variants:
            notes.append(f"LaminarDB {r['workload']} variant ({r['variant']}), n = {r['n']:,}: "
                         f"{mevs(r):.2f} M ev/s, answer {'ok' if r.get('ok') else 'WRONG: ' + str(r.get('mismatch'))}")
        if notes:
            L += ["", f"{h} Notes", ""] + [f"- {x}" for x in notes]
        L.append("")
        return "\n".join(L)

    # ---- chart ----------------------------------------------------------------

    def png(self, out_path):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        n = self.ns[0]
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(15, 5.5), gridspec_kw={"width_ratios": [2.2, 1]})
        labels, e_med, e_err, p_med, p_err, p_bad, tgt = [], [], [], [], [], [], []
        for w in self.workloads:
            for path in ("rows", "arrow"):
                runs = self.eddy_runs(n, w, path)
                if not runs:
                    continue
                labels.append(f"{w}\n{PATH_NAME[path]}")
                s = stats(runs) if self.eddy_status(runs) != "unsupported" else None
                e_med.append(s[0] if s else 0)
                e_err.append((s[0] - s[1], s[2] - s[0]) if s else (0, 0))
                ps = None
                bad = False
                if path == "arrow":
                    pr = self.peer_runs(n, w)
                    if pr and not any(r.get("status") == "unsupported" for r in pr):
                        ps = stats(pr)
                        bad = any(r.get("status") == "mismatch" for r in pr)
                p_med.append(ps[0] if ps else 0)
                p_err.append((ps[0] - ps[1], ps[2] - ps[0]) if ps else (0, 0))
                p_bad.append(bad)
                t, _ = target_for(w, path)
                tgt.append(t[0] if t else None)
        x = list(range(len(labels)))
        wdt = 0.38
        ax.bar([i - wdt / 2 for i in x], [v or 1e-3 for v in e_med], wdt, label="eddy (C ABI)", color="#2a6fb0",
               yerr=list(zip(*e_err)) if e_err else None, capsize=3)
        ax.bar([i + wdt / 2 for i in x], [v or 1e-3 for v in p_med], wdt, label="LaminarDB 0.17 (Python, batches)",
               color="#e08a2c", yerr=list(zip(*p_err)) if p_err else None, capsize=3,
               hatch=None)
        for i, lab in enumerate(labels):
            w = lab.split("\n")[0]
            pr = self.peer_runs(n, w) if "Arrow" in lab else []
            if pr and not p_med[i] and all(r.get("status") == "error" for r in pr):
                ax.text(i + wdt / 2, 0.012, "LaminarDB did not finish", rotation=90, ha="center", va="bottom",
                        fontsize=7, color="#a50")
        for i, bad in enumerate(p_bad):
            if bad and p_med[i]:
                ax.text(i + wdt / 2, p_med[i] * 1.15, "wrong\nanswer", ha="center", fontsize=7, color="#a00")
        for i, v in enumerate(e_med):
            if not v:
                ax.text(i - wdt / 2, 0.012, "not supported", rotation=90, ha="center", va="bottom", fontsize=7)
        for i, t in enumerate(tgt):
            if t:
                ax.plot([i - 0.45, i + 0.45], [t, t], color="#2a2", lw=1.5, ls="--",
                        label="target" if i == next(k for k, tt in enumerate(tgt) if tt) else None)
        ax.set_yscale("log")
        ax.set_ylim(0.01, 200)
        ax.set_xticks(x)
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylabel("M events/s (median, min–max)")
        ax.set_title(f"Throughput, n = {n:,} (first push → last output row)")
        ax.legend(fontsize=8, loc="upper right")
        ax.grid(axis="y", which="both", alpha=0.3)

        pct = [("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9"), ("max_us", "max")]
        rates = sorted({r["rate"] for r in self.latency if r.get("p99_us") is not None})
        colors = ["#2a6fb0", "#e08a2c", "#6a3d9a", "#999"]
        for j, rate in enumerate(rates):
            b = self.best_latency(rate)
            if not b:
                continue
            for k, (key, name) in enumerate(pct):
                ax2.bar(j + (k - 1.5) * 0.2, b[key], 0.2, color=colors[k], label=name if j == 0 else None)
            ax2.text(j, 0.12, f"{b['consumer']}/{b['delivery']}\n{b.get('extra_options') or 'defaults'}",
                     ha="center", fontsize=7)
        if rates:
            ax2.axhline(LAT_TARGET["p99_us"], color="#2a2", ls="--", lw=1, label="target p99 (100k ev/s)")
            ax2.axhline(LAT_TARGET["p999_us"], color="#a22", ls=":", lw=1, label="target p99.9 (100k ev/s)")
            ax2.set_xticks(range(len(rates)))
            ax2.set_xticklabels([f"{r / 1000:,.0f}k ev/s" for r in rates])
        ax2.set_yscale("log")
        top = max([r.get("max_us") or 1 for r in self.latency] + [100])
        ax2.set_ylim(0.1, top * 40)  # room for the legend above the bars
        ax2.set_ylabel("µs, push → receipt")
        ax2.set_title("Latency, W1 per-event (best consumer per rate)")
        ax2.legend(fontsize=7, loc="upper left", ncol=2)
        ax2.grid(axis="y", which="both", alpha=0.3)
        m = self.meta
        fig.suptitle(f"eddy vs LaminarDB — {m.get('nproc')} cores, {m.get('cpu')}, {m.get('date')}", fontsize=10)
        fig.tight_layout()
        fig.savefig(out_path, dpi=110)
        plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-png", action="store_true")
    ap.add_argument("--docs", help="also replace the results section of this Markdown file "
                    "(between <!-- bench-results:begin --> and <!-- bench-results:end -->)")
    a = ap.parse_args()
    runs = load(a.runs)
    meta = json.load(open(a.meta))
    os.makedirs(a.out, exist_ok=True)
    rep = Report(runs, meta)
    png = None
    if not a.no_png:
        try:
            rep.png(os.path.join(a.out, "latest.png"))
            png = "latest.png"
        except ImportError:
            print("report.py: matplotlib missing: no chart (pip install matplotlib)", file=sys.stderr)
    with open(os.path.join(a.out, "latest.json"), "w") as f:
        json.dump({"meta": meta, "runs": runs}, f, indent=1)
    md = rep.markdown(png)
    with open(os.path.join(a.out, "latest.md"), "w") as f:
        f.write(md)
    print(md)
    if a.docs:
        update_docs(a.docs, rep, os.path.relpath(os.path.join(a.out, "latest.png"), os.path.dirname(a.docs))
                    if png else None)


def update_docs(path, rep, png_rel):
    begin, end = "<!-- bench-results:begin -->", "<!-- bench-results:end -->"
    text = open(path).read()
    if begin not in text or end not in text:
        print(f"report.py: {path} has no {begin} ... {end} section; not updated", file=sys.stderr)
        return
    body = rep.markdown(png_rel, h="###", title=False)
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + begin + "\n" + body + "\n" + end + tail)
    print(f"report.py: updated the results section of {path}")


if __name__ == "__main__":
    main()
