#!/usr/bin/env python3
"""Turns one benchmark run (C floor JSON lines, JMH JSON, many-children JSON lines) into
performance.md (one table, ratios to the C floor and to ProcessBuilder, targets), performance.svg
(spawn+wait of each contender) and performance-data.json (the summary of the raw data that every
figure in the other two comes from: per benchmark and contender the score or median, its range
and n, and when the run started). Standard library only.

Usage: report.py RESULTS_DIR OUT_DIR   a run's raw results (RESULTS_DIR/paired/: benchmarks/paired.sh's
                                       rounds, RESULTS_DIR/interleaved/: benchmarks/interleaved.sh's runs,
                                       RESULTS_DIR/sandbox/: benchmarks/sandbox.sh's runs, if run); run.sh
                                       gives its results directory as both
       report.py SUMMARY.json OUT_DIR  the same three files again from a summary, e.g.
                                       docs/performance-data.json
       report.py SUMMARY.json OUT_DIR RESULTS_DIR
                                       the same, with the sandbox runs of RESULTS_DIR (benchmarks/sandbox.sh
                                       alone) in place of the summary's
Publishing a run is `report.py RESULTS_DIR docs`; publishing a sandbox.sh run beside the published
one is `report.py docs/performance-data.json docs target/bench-results`.
"""
import datetime
import json
import os
import platform
import subprocess
import sys


def load_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def floor_lines(path):
    """C floor line -> {score (its mean), unit, n (iterations)}"""
    return {r["benchmark"]: {k: r[k] for k in ("score", "unit", "n") if k in r} for r in load_lines(path)}


def jmh_results(path):
    """benchmark short name (+ params) -> {mode, score, error, unit, n (measured iterations, all
    forks), forks, median, min, max}; with -prof gc also alloc and alloc_error (bytes allocated per
    operation, gc.alloc.rate.norm)"""
    results = {}
    if not os.path.exists(path):
        return results
    with open(path) as f:
        for r in json.load(f):
            name = r["benchmark"].replace("io.umh.bench.", "")
            if r.get("params"):
                name += "[" + ",".join(f"{k}={v}" for k, v in r["params"].items()) + "]"
            m = r["primaryMetric"]
            p = m.get("scorePercentiles", {})
            x = results[name] = {"mode": r.get("mode"), "score": m["score"], "error": number(m.get("scoreError")),
                                 "unit": m["scoreUnit"], "n": sum(len(fork) for fork in m.get("rawData", [])),
                                 "forks": r.get("forks"), "median": p.get("50.0"), "min": p.get("0.0"), "max": p.get("100.0")}
            alloc = r.get("secondaryMetrics", {}).get("gc.alloc.rate.norm")
            if alloc:
                x["alloc"], x["alloc_error"] = alloc["score"], number(alloc.get("scoreError"))
    return results


def number(x):
    """JMH's score error, None where it has none (one iteration: "NaN")"""
    return x if isinstance(x, (int, float)) and x == x else None


def jmh_scores(results):
    """jmh_results' -> benchmark -> (score, error, unit), and name + ":alloc" -> (bytes per operation,
    error, "B/op")"""
    scores = {}
    for name, x in results.items():
        scores[name] = (x["score"], x["error"], x["unit"])
        if "alloc" in x:
            scores[name + ":alloc"] = (x["alloc"], x["alloc_error"], "B/op")
    return scores


def numbered(d, name):
    """(1, path), (2, path), ... for d/name.format(1), d/name.format(2), ... while they exist."""
    r = 1
    while os.path.exists(os.path.join(d, name.format(r))):
        yield r, os.path.join(d, name.format(r))
        r += 1


def started(d, first):
    """When the script that wrote d started: d/started (written by run.sh and results-dir.sh), else
    when the file `first` was last written (results that predate the started files)."""
    path = os.path.join(d, "started")
    if os.path.exists(path):
        with open(path) as f:
            return f.read().strip()
    if first is None or not os.path.exists(first):
        return None
    return datetime.datetime.fromtimestamp(os.path.getmtime(first)).strftime("%Y-%m-%d %H:%M")


def paired_rounds(results):
    """{started, rounds: [{floor, jmh}]} from benchmarks/paired.sh, in round order, or None."""
    d = os.path.join(results, "paired")
    rounds = [{"floor": floor_lines(os.path.join(d, f"floor-{r}.jsonl")), "jmh": jmh_results(jmh)}
              for r, jmh in numbered(d, "jmh-{}.json")]
    return {"started": started(d, os.path.join(d, "floor-1.jsonl")), "rounds": rounds} if rounds else None


def interleaved_runs(results):
    """{started, runs: [{rounds, contenders: {name: {median_us, ...}}, ...}]} from benchmarks/interleaved.sh,
    in run order, or None."""
    d = os.path.join(results, "interleaved")
    runs = []
    for _, path in numbered(d, "run-{}.json"):
        with open(path) as f:
            runs.append(json.load(f))
    return {"started": started(d, os.path.join(d, "run-1.json")), "runs": runs} if runs else None


def sandbox_runs(results):
    """{started, kernel, bwrap, support, strict_layers, runs: [{rounds, contenders, until_exec}]} from
    benchmarks/sandbox.sh, in run order, or None."""
    d = os.path.join(results, "sandbox")

    def load(name):
        out = []
        for _, path in numbered(d, name):
            with open(path) as f:
                out.append(json.load(f))
        return out

    runs, bare = load("run-{}.json"), load("bare-{}.json")
    if not runs:
        return None

    def text(name):
        path = os.path.join(d, name)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return f.read().strip()

    return {"started": started(d, os.path.join(d, "run-1.json")), "kernel": text("kernel"), "bwrap": text("bwrap-version"),
            "load_before": text("load-before"), "load_after": text("load-after"),
            "support": runs[0].get("support"), "strict_layers": runs[0].get("strict_layers"),
            "runs": [{k: v for k, v in run.items() if k not in ("support", "strict_layers")} for run in runs],
            "bare_runs": [{k: v for k, v in run.items() if k not in ("support", "strict_layers")} for run in bare]}


def coldstart_runs(results):
    """benchmarks/coldstart.sh's medians ({umh_ms, process_builder_ms, ratio, runs, jvm_*, started, java, load_*}), or None."""
    d = os.path.join(results, "coldstart")
    path = os.path.join(d, "coldstart.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        res = json.load(f)
    for key, name in (("java", "java-version"), ("load_before", "load-before"), ("load_after", "load-after")):
        p = os.path.join(d, name)
        res[key] = open(p).read().strip().splitlines()[0] if os.path.exists(p) else None
    res["started"] = started(d, path)
    return res


def coldstart_section(cold):
    if not cold:
        return []
    return ["", "## Cold start: a fresh JVM's first fork against ProcessBuilder's first start", "",
            f"`benchmarks/coldstart.sh`, started {cold['started']} ({cold.get('java') or 'java ?'}): {cold['runs']} fresh JVMs of",
            "each, by turns (`io.umh.bench.ColdStart`), each timing from its main's first line to the end of a first",
            "spawn+wait of the static exit program: umh's `Umh.load` (the shim's load included) + `fork` + `waitFor`,",
            "ProcessBuilder's `start` + `waitFor` of the same bytes in a file.", "",
            "| what | median (ms) |", "|---|---:|",
            f"| umh, first load + fork + waitFor | {cold['umh_ms']:.1f} |",
            f"| ProcessBuilder, first start + waitFor | {cold['process_builder_ms']:.1f} |",
            f"| umh / ProcessBuilder (target <= 0.75x) | **{cold['ratio']:.2f}** {verdict(cold['ratio'], 0.75)} |",
            *([f"| umh, whole JVM: launch to exit | {cold['jvm_umh_ms']:.0f} |",
               f"| ProcessBuilder, whole JVM: launch to exit | {cold['jvm_process_builder_ms']:.0f} |",
               f"| umh / ProcessBuilder, whole JVM | {cold['jvm_ratio']:.2f} |"] if "jvm_ratio" in cold else []), "",
            *(["The whole JVM's time is what a command-line tool's user waits for, as the script sees it: the JVM's",
               "start-up and its shutdown (umh's hook; the exit's wait for threads in native code, which umh's",
               "threads leave at exit since the twelfth session: 0.33 s before) included.", ""] if "jvm_ratio" in cold else []),
            f"Load before: `{cold.get('load_before')}`; after: `{cold.get('load_after')}`.", "",
            "On a 2-core machine the wall clock is bounded by all threads' CPU (the JIT's too) and shared with other builds:",
            "see \"Seventeenth session: a first fork's classes\" below for what a first fork's time was made of and what",
            "was cut, \"Twelfth session: the JVM's exit, and the cold start profiled\" and \"Eighth session: the cold start,",
            "overlapped\" for each thread's CPU time; \"Seventh session: the cold start\" for what was cut before.", "",
            "Reproduce: `mvn -f benchmarks/pom.xml package` after installing umh, then `benchmarks/coldstart.sh 15` (Java 17)",
            "or `benchmarks/coldstart.sh 15 /usr/lib/jvm/temurin-25-jdk-amd64`, then",
            "`python3 benchmarks/report.py docs/performance-data.json docs target/bench-results` to put the run here.", ""]


ABOUT = ("The summary of one run of benchmarks/run.sh, written by benchmarks/report.py; "
         "`report.py THIS_FILE DIR` writes performance.md and performance.svg from it again. "
         "floor: umh-floor's lines (score: the mean over n iterations); jmh: JMH's results "
         "(score: the mean over n measured iterations, error: its 99.9% half-width, median, min, max, "
         "alloc: bytes per operation); paired: benchmarks/paired.sh's rounds; interleaved: "
         "benchmarks/interleaved.sh's runs (per contender the median, mean, p10 and p90 of its rounds "
         "in microseconds); many: the many-children run; sandbox: benchmarks/sandbox.sh's runs (as "
         "interleaved's, and until_exec: the same until fork() or start() returned); coldstart: "
         "benchmarks/coldstart.sh's medians.")


def summarize(results):
    """Everything the page and the chart are made from, out of a run's results directory."""
    load = os.path.join(results, "load.txt")
    when = started(results, None)
    if os.path.exists(load):
        with open(load) as f:
            load = f.read().strip()
    else:
        load = None
    return {
        "about": ABOUT,
        "measured": when.split(" ")[0] if when else datetime.date.today().isoformat(),
        "started": when,
        "machine": machine(),
        "load": load,
        "floor": floor_lines(os.path.join(results, "floor.jsonl")),
        "floor_after": floor_lines(os.path.join(results, "floor-after.jsonl")),
        "jmh": jmh_results(os.path.join(results, "jmh.json")),
        "paired": paired_rounds(results),
        "interleaved": interleaved_runs(results),
        "many": load_lines(os.path.join(results, "many.jsonl")),
        "sandbox": sandbox_runs(results),
        "coldstart": coldstart_runs(results),
    }


def dump(x, indent=0):
    """JSON with one line for each object or list that holds no object or list: short, and diffable."""
    if isinstance(x, (dict, list)) and any(isinstance(v, (dict, list)) for v in (x.values() if isinstance(x, dict) else x)):
        pad = " " * (indent + 1)
        if isinstance(x, dict):
            items = [f"{pad}{json.dumps(k)}: {dump(v, indent + 1)}" for k, v in x.items()]
            return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
        return "[\n" + ",\n".join(pad + dump(v, indent + 1) for v in x) + "\n" + " " * indent + "]"
    return json.dumps(x)


INTERLEAVED = [  # (label, numerator, denominator, target, key for the main table)
    ("spawn+wait, loaded (`UsermodeBlob.fork`) / C floor", "umh_loaded", "floor_loaded", 1.15, "loaded"),
    ("one-shot `Umh.forkUsermodeBlob` / its C floor", "umh_one_shot", "floor_one_shot", 1.15, "one_shot"),
    ("the JVM itself: the C floor's calls through JNI / C floor", "jni_floor", "floor_loaded", None, None),
    ("umh's path: `killOnParentDeath(false)` / the C floor's calls through JNI", "umh_loaded_here", "jni_floor", None, None),
    ("the spawner hand-off: default / `killOnParentDeath(false)`", "umh_loaded", "umh_loaded_here", None, None),
    ("umh default / the C floor's calls through JNI", "umh_loaded", "jni_floor", None, None),
    ("4 GB touched heap: umh loaded, 4 GB peer JVM / small-heap peer JVM", "umh_loaded_4g", "umh_loaded_small", 1.10, "big_heap"),
    ("the same for the C floor's calls through JNI", "jni_floor_4g", "jni_floor_small", None, None),
    ("umh loaded, small-heap peer JVM / this JVM (which also runs the turns)", "umh_loaded_small", "umh_loaded", None, None),
]


TRANSFERS = [  # the same, for throughput: 256 MiB through cat, both ways at once, after the spawn rounds
    ("pipe throughput (256 MiB through cat): umh streams / C floor", "umh_streams", "floor", 0.95, "throughput"),
    ("the same through umh's FileChannels (direct buffers: no heap copy) / C floor", "umh_channels", "floor", None, None),
    ("ProcessBuilder's streams / C floor", "process_builder", "floor", None, None),
    ("umh streams / ProcessBuilder's streams", "umh_streams", "process_builder", None, None),
]


def interleaved_section(inter):
    if not inter:
        return [], {}
    started = inter["started"]
    runs = [(r, run, None) for r, run in enumerate(inter["runs"], 1)]
    n = runs[0][1]["rounds"]
    lines = ["", "## Interleaved: one spawn of each in turn (the spawn targets are judged by these)", "",
             f"`benchmarks/interleaved.sh`, started {started}: {len(runs)} JVMs (`io.umh.bench.Interleaved`), each {n:,} rounds",
             "after a 10% warm-up. A round is one spawn+wait of every contender, in an order that rotates from round to",
             "round; the C floor's spawns run in a `umh-floor ... turns` process that waits for its turn on a pipe and",
             "times itself. Two peer JVMs take turns the same way, for the 4 GB-heap target: one with JMH BigHeap's heap",
             "(`-Xms6g -Xmx6g -XX:+AlwaysPreTouch`, 4 GB touched), one with the default heap, nothing touched. Whatever",
             "the shared machine does to one contender it does to all, so the medians compare like with like. Each cell",
             "is a ratio of medians within one run; the last column but two is their median.", "",
             "| what | " + " | ".join(f"run {r}" for r, _, _ in runs) + " | median | target | |",
             "|---|" + "---:|" * len(runs) + "---:|---|---|"]
    medians = {}

    def med_us(run, name, section="contenders"):
        c = run.get(section, {}).get(name)
        return c["median_us"] if c else None

    def ratio_rows(rows, section, throughput):
        for label, num, den, target, key in rows:
            # a throughput ratio is the time ratio upside down: the same bytes in less time
            rs = [ratio(med_us(run, den, section), med_us(run, num, section)) if throughput
                  else ratio(med_us(run, num, section), med_us(run, den, section)) for _, run, _ in runs]
            med = median(rs)
            if key:
                medians[key] = med
            lines.append(f"| {label} | " + " | ".join(fmt(x, 3) for x in rs) + f" | **{fmt(med, 3)}** | "
                         + (f"{'>=' if throughput else '<='} {target:.2f}x | {verdict(med, target, not throughput)} |"
                            if target else " | |"))

    ratio_rows(INTERLEAVED, "contenders", False)
    for name, label in (("floor_loaded", "C floor, loaded"), ("floor_one_shot", "C floor, one-shot"),
                        ("jni_floor", "C floor's calls through JNI"), ("umh_loaded", "umh `UsermodeBlob.fork`"),
                        ("umh_loaded_here", "umh, `killOnParentDeath(false)`"), ("umh_one_shot", "umh `Umh.forkUsermodeBlob`"),
                        ("umh_loaded_4g", "umh `UsermodeBlob.fork`, 4 GB peer"), ("jni_floor_4g", "C floor's calls through JNI, 4 GB peer"),
                        ("umh_loaded_small", "umh `UsermodeBlob.fork`, small-heap peer"),
                        ("jni_floor_small", "C floor's calls through JNI, small-heap peer")):
        xs = [med_us(run, name) for _, run, _ in runs]
        lines.append(f"| {label}, median (us) | " + " | ".join(fmt(x) for x in xs) + f" | {fmt(median(xs))} | | |")
    if any("transfers" in run for _, run, _ in runs):
        ratio_rows(TRANSFERS, "transfers", True)
        for name, label in (("floor", "C floor"), ("umh_streams", "umh streams"), ("umh_channels", "umh FileChannels"),
                            ("process_builder", "ProcessBuilder streams")):
            xs = [None if med_us(run, name, "transfers") is None else 256 / (med_us(run, name, "transfers") / 1e6)
                  for _, run, _ in runs]
            lines.append(f"| 256 MiB through cat, {label}, median (MiB/s) | " + " | ".join(fmt(x) for x in xs)
                         + f" | {fmt(median(xs))} | | |")
    return lines, medians


SANDBOX = [  # (label, numerator, denominator, target, True where higher is better)
    ("spawn+wait under `strict()` / unsandboxed `UsermodeBlob.fork()`", "umh_strict", "umh_loaded", 1.30, False),
    ("`bwrap --unshare-all --die-with-parent` (the file alone bound) through ProcessBuilder / `strict()`",
     "bwrap", "umh_strict", 5.0, True),
    ("the same, `--ro-bind / /` / `strict()`", "bwrap_root_bind", "umh_strict", None, None),
    ("`strict()` with `network(true)` (no net namespace; the resolver's 5 files bound) / unsandboxed",
     "umh_strict_host_network", "umh_loaded", None, None),
    ("`strict()` with those 5 files bound read-only (net namespace kept) / `strict()`", "umh_strict_binds", "umh_strict",
     None, None),
    ("ProcessBuilder on the file, unsandboxed / unsandboxed `UsermodeBlob.fork()`", "process_builder", "umh_loaded",
     None, None),
    ("bwrap through ProcessBuilder / ProcessBuilder alone", "bwrap", "process_builder", None, None),
    ("`strict()` with every namespace made per spawn (as an unprivileged JVM makes them) / unsandboxed",
     "umh_strict_fresh", "umh_loaded", None, None),
    ("bwrap through ProcessBuilder / `strict()` made per spawn", "bwrap", "umh_strict_fresh", None, None),
]

SANDBOX_US = [
    ("umh_loaded", "umh `UsermodeBlob.fork()`, unsandboxed"), ("umh_strict", "umh, `strict()`"),
    ("umh_strict_host_network", "umh, `strict()` + `network(true)`"), ("umh_strict_binds", "umh, `strict()` + 5 files bound"),
    ("process_builder", "ProcessBuilder, unsandboxed"), ("bwrap", "bwrap (file alone bound), through ProcessBuilder"),
    ("bwrap_root_bind", "bwrap `--ro-bind / /`, through ProcessBuilder"),
    ("umh_strict_fresh", "umh, `strict()`, every namespace made per spawn"),
]


def sandbox_section(sbx):
    """The Sandbox section: the two sandbox targets and what strict()'s cost is made of, from sandbox.sh's runs."""
    if not sbx:
        return []
    runs = sbx["runs"]
    n = runs[0]["rounds"]

    def us(run, name, section="contenders"):
        c = run.get(section, {}).get(name)
        return c["median_us"] if c else None

    def spread(rs):
        xs = [x for x in rs if x is not None]
        return f"{min(xs):.2f}-{max(xs):.2f}" if xs else "n/a"

    def share(run, num, base, den_num, den_base, section="contenders"):
        """(num - base) / (den_num - den_base), medians of one run: a part of a difference"""
        a, b, c, d = us(run, num, section), us(run, base, section), us(run, den_num), us(run, den_base)
        return None if None in (a, b, c, d) or c == d else (a - b) / (c - d)

    lines = ["", "## Sandbox: `SandboxPolicy.strict()` against no sandbox and against bwrap (interleaved)", "",
             f"`benchmarks/sandbox.sh`, started {sbx['started']} on Linux {sbx.get('kernel') or '?'}"
             f" ({sbx.get('bwrap') or 'bwrap ?'}): {len(runs)} JVMs (`io.umh.bench.SandboxInterleaved`), each {n:,} rounds",
             "after a 10% warm-up. A round is one spawn+wait of every contender below, in an order that rotates from",
             "round to round, all of the same static exit program: umh's from its memfd (loaded once), ProcessBuilder's",
             "and bwrap's from the same bytes written once to a file; pipes on fd 0 and 1 for each, closed at the end.",
             "Each cell is a ratio of medians within one run; the range is over the runs, the median column the figure.",
             ""]

    def head(rs):
        return ["| what | " + " | ".join(f"run {r}" for r in range(1, len(rs) + 1)) + " | median | range | target | |",
                "|---|" + "---:|" * len(rs) + "---:|---|---|---|"]

    def targets(rs_runs, rows):
        for label, num, den, target, higher in rows:
            rs = [ratio(us(run, num), us(run, den)) for run in rs_runs]
            med = median(rs)
            lines.append(f"| {label} | " + " | ".join(fmt(x, 2) for x in rs) + f" | **{fmt(med, 2)}** | {spread(rs)} | "
                         + (f"{'>=' if higher else '<='} {target:.2f}x | {verdict(med, target, not higher)} |" if target else " | |"))

    def medians_us(rs_runs, names, section, what):
        for name, label in SANDBOX_US:
            xs = [us(run, name, section) for run in rs_runs]
            if name not in names or all(x is None for x in xs):
                continue  # not asked for, or a contender these runs did not have (an older sandbox.sh)
            lines.append(f"| {label}, {what}, median (us) | " + " | ".join(fmt(x) for x in xs)
                         + f" | {fmt(median(xs))} | {fmt(min(x for x in xs if x is not None))}-"
                         + f"{fmt(max(x for x in xs if x is not None))} | | |")

    lines += head(runs)
    targets(runs, SANDBOX)
    for label, f in (
            ("the network namespace's share (joined, made once) of `strict()`'s extra time: (`strict()` - `strict()` with `network(true)`) / (`strict()` - unsandboxed)",
             lambda run: share(run, "umh_strict", "umh_strict_host_network", "umh_strict", "umh_loaded")),
            ("the share of `strict()`'s extra time spent before `fork()` returns (clone, namespaces, mounts, Landlock, "
             "seccomp, up to the exec)",
             lambda run: share(run, "umh_strict", "umh_loaded", "umh_strict", "umh_loaded", "until_exec"))):
        rs = [f(run) for run in runs]
        lines.append(f"| {label} | " + " | ".join(fmt(x, 2) for x in rs) + f" | **{fmt(median(rs), 2)}** | {spread(rs)} | | |")
    every = {name for name, _ in SANDBOX_US}
    for section, what in (("contenders", "spawn+wait"), ("until_exec", "until `fork()`/`start()` returned")):
        medians_us(runs, every, section, what)
    bare = sbx.get("bare_runs") or []
    if bare:
        lines += ["", "**The same contenders running `bare-exit`** (test-blobs/bare-exit.c: no libc, one `exit_group`), "
                  "each of these JVMs right after the one above with the same number: every contender's time is its "
                  "spawn, its sandbox, its exit and its wait, without glibc's static start-up, whose CPUID loops trap "
                  "to this VM's hypervisor and add the same ~0.6-1.2 ms to every contender above (on bare metal "
                  "CPUID costs ~100 cycles, so these are the ratios the `exit` rows approach there).", ""]
        lines += head(bare)
        targets(bare, SANDBOX[:2] + [r for r in SANDBOX if "umh_strict_fresh" in r[1:3]])
        medians_us(bare, {"umh_loaded", "umh_strict", "bwrap"}, "contenders", "spawn+wait")
    if sbx.get("load_before"):
        lines += ["", f"Load before: `{sbx['load_before']}`; after: `{sbx.get('load_after')}`: the machine is shared,"
                  " and its load moves these ratios (bwrap's most), which an interleaved run cancels only in part.", ""]
    lines += ["", "![sandboxed spawn+wait](performance-sandbox.svg)", "",
              f"What a `strict()` child got here: `{sbx.get('strict_layers')}`.", "",
              "What `strict()` does per spawn in a root JVM (this run's): the clone makes fresh pid, ipc and uts",
              "namespaces; the child joins (`setns`) the policy's mount namespace, whose read-only tmpfs root was made",
              "once by a short-lived clone, and the JVM's one empty network namespace, made once the same way",
              "(`io.umh.Namespaces`); it restricts itself with a Landlock ruleset and installs a seccomp filter (with a",
              "user-notify listener it passes to the JVM), then execs; the parent builds the Landlock ruleset and the",
              "seccomp program afresh for each spawn. An unprivileged JVM's child joins a user namespace made once",
              "too (which owns the other two) and relays: it clones the helper with its fresh pid, ipc and uts namespaces",
              "(docs/security.md has that path's figures, measured as uid 65534). The `made per spawn` rows measure",
              "every namespace made per spawn: the id maps written, the tmpfs root mounted, pivoted into and the old root",
              "detached (an RCU grace period, and another when the mount namespace dies with the child), in this root",
              "JVM (`-Dumh.sandbox.fresh=true` for its policy). `network(true)` drops the net namespace",
              "but also binds the resolver's five files and allows the network calls; the row with the same five",
              "files bound and the net namespace kept says what the binds cost (were it much above 1, the net",
              "namespace's own share would be more than its row says). The bwrap rows include ProcessBuilder's own launch (the",
              "ProcessBuilder row), as a JVM that runs bwrap pays it; bwrap's `start()` returns when bwrap has",
              "exec'd, before its sandbox is made.", "",
              "Reproduce: `benchmarks/sandbox.sh [RUNS [ROUNDS]]` (default 5 x 400; needs the build, the benchmark jar",
              "and `bwrap`), then `python3 benchmarks/report.py docs/performance-data.json docs target/bench-results`",
              "to put its runs on this page beside the published run (`benchmarks/run.sh` runs it too). JMH has the",
              "same contenders in `SandboxBench` (`java -jar benchmarks/target/benchmarks.jar SandboxBench`), minutes",
              "apart, which this machine's drift makes worth little for a ratio."]
    return lines


SANDBOX_CHART = [("umh_loaded", "umh fork(), no sandbox"), ("umh_strict", "umh strict()"),
                 ("umh_strict_fresh", "umh strict(), made per spawn"), ("process_builder", "ProcessBuilder, no sandbox"),
                 ("bwrap", "bwrap --unshare-all (file bound)"), ("bwrap_root_bind", "bwrap --unshare-all --ro-bind / /")]


def sandbox_chart(sbx):
    """[(label, median over the runs of the contender's spawn+wait median, us)] for svg_bars."""
    rows = []
    for name, label in SANDBOX_CHART:
        xs = [run["contenders"][name]["median_us"] for run in sbx["runs"] if name in run.get("contenders", {})]
        rows.append((label, median(xs) if xs else None))
    return rows


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


PAIRS = [  # (label, JMH benchmark, floor line, target)
    ("spawn+wait, loaded (`UsermodeBlob.fork`)", "SpawnBench.umhLoaded", "spawn_wait_loaded", 1.15),
    ("same, `killOnParentDeath(false)`", "SpawnBench.umhLoadedNoDeathSignal", "spawn_wait_loaded", None),
    ("one-shot `Umh.forkUsermodeBlob`", "SpawnBench.umhOneShot", "spawn_wait_one_shot", 1.15),
]


def paired_section(paired, interleaved):
    """interleaved: the spawn, one-shot and 4 GB targets are judged by the interleaved runs, not here."""
    if not paired:
        return [], {}
    rounds = [(r, {k: v["score"] for k, v in x["floor"].items()}, jmh_scores(x["jmh"]), None)
              for r, x in enumerate(paired["rounds"], 1)]
    started = paired["started"]

    def judged(med, target):
        return f"<= {target:.2f}x | " + ("judged interleaved" if interleaved else verdict(med, target)) + " |"

    lines = ["", "## Paired rounds (the ratio the ProcessBuilder target is judged by)" if interleaved
             else "## Paired rounds (the ratios the targets are judged by)", "",
             f"`benchmarks/paired.sh`, started {started}: {len(rounds)} rounds, each the C floor's spawn lines (3 s each) and right",
             "after them the same spawns through JMH (1 fork, 2 x 1 s warm-up, 3 x 1 s measured). Each ratio is",
             "taken within its round, so drift between rounds cancels; the median is the figure.", "",
             "| what | " + " | ".join(f"round {r}" for r, _, _, _ in rounds) + " | median | target | |",
             "|---|" + "---:|" * len(rounds) + "---:|---|---|"]
    medians = {}
    for label, bench, line, target in PAIRS:
        rs = [ratio(j[bench][0] if bench in j else None, fl.get(line)) for _, fl, j, _ in rounds]
        med = medians[bench] = median(rs)
        lines.append(f"| {label}: umh / floor | " + " | ".join(fmt(x, 2) for x in rs) + f" | **{fmt(med, 2)}** | "
                     + (judged(med, target) if target else " | |"))

    def js(j, bench):
        return j[bench][0] if bench in j else None

    for label, num, den in (("the JVM itself: C floor's spawn through JNI / C floor", "SpawnBench.jniFloor", None),
                            ("umh's path: umh loaded / JNI floor (same JVM)", "SpawnBench.umhLoaded", "SpawnBench.jniFloor"),
                            ("same, `killOnParentDeath(false)` / JNI floor", "SpawnBench.umhLoadedNoDeathSignal", "SpawnBench.jniFloor"),
                            ("the spawner hand-off: umh loaded / `killOnParentDeath(false)`", "SpawnBench.umhLoaded",
                             "SpawnBench.umhLoadedNoDeathSignal")):
        rs = [ratio(js(j, num), js(j, den) if den else fl.get("spawn_wait_loaded")) for _, fl, j, _ in rounds]
        lines.append(f"| {label} | " + " | ".join(fmt(x, 2) for x in rs) + f" | **{fmt(median(rs), 2)}** | | |")
    rs = [ratio(fl.get("umh_core_spawn_wait"), fl.get("umh_core_spawn_wait_here")) for _, fl, _, _ in rounds]
    lines.append("| the same hand-off in C: `umh_spawn` via the spawner / on the caller | " + " | ".join(fmt(x, 2) for x in rs)
                 + f" | **{fmt(median(rs), 2)}** | | |")
    rs = [ratio(js(j, "SpawnBench.BigHeap.umhLoaded"), js(j, "SpawnBench.umhLoaded")) for _, _, j, _ in rounds]
    med = medians["SpawnBench.BigHeap.umhLoaded/umhLoaded"] = median(rs)
    lines.append("| 4 GB touched heap: umh loaded, big heap / small heap | " + " | ".join(fmt(x, 2) for x in rs)
                 + f" | **{fmt(med, 2)}** | " + judged(med, 1.10))
    rs = [ratio(js(j, "SpawnBench.BigHeap.jniFloor"), js(j, "SpawnBench.jniFloor")) for _, _, j, _ in rounds]
    lines.append("| the same for the C floor's raw calls through JNI: big heap / small heap | " + " | ".join(fmt(x, 2) for x in rs)
                 + f" | **{fmt(median(rs), 2)}** | | |")
    rs = [ratio(js(j, "SpawnBench.umhLoaded"), js(j, "SpawnBench.processBuilder")) for _, _, j, _ in rounds]
    med = medians["SpawnBench.umhLoaded/processBuilder"] = median(rs)
    lines.append("| spawn+wait, loaded: umh / ProcessBuilder | " + " | ".join(fmt(x, 2) for x in rs) + f" | **{fmt(med, 2)}** | "
                 + f"<= 0.40x | {verdict(med, 0.40)} |")
    for label, line in (("C floor, loaded (us)", "spawn_wait_loaded"), ("C floor, one-shot (us)", "spawn_wait_one_shot"),
                        ("C core `umh_spawn` (us)", "umh_core_spawn_wait"),
                        ("C core `umh_spawn` on the caller (us)", "umh_core_spawn_wait_here")):
        xs = [fl.get(line) for _, fl, _, _ in rounds]
        lines.append(f"| {label} | " + " | ".join(fmt(x) for x in xs) + f" | {fmt(median(xs))} | | |")
    for label, bench, _, _ in PAIRS + [("ProcessBuilder, default", "SpawnBench.processBuilder", None, None),
                                       ("C floor's spawn through JNI", "SpawnBench.jniFloor", None, None)]:
        xs = [j[bench][0] if bench in j else None for _, _, j, _ in rounds]
        who = "" if bench.endswith(("processBuilder", "jniFloor")) else "umh "
        lines.append(f"| {who}{label.split(' (')[0]} (us) | " + " | ".join(fmt(x) for x in xs) + f" | {fmt(median(xs))} | | |")
    return lines, medians


def fmt(x, digits=0):
    return "n/a" if x is None else f"{x:,.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def verdict(value, limit, lower_is_better=True):
    if value is None:
        return "not measured"
    ok = value <= limit if lower_is_better else value >= limit
    return ("met" if ok else "**missed**") + f" ({value:.2f})"  # the figure judged, which may not be this row's


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    return f"{platform.node()}: Linux {platform.release()}, {os.cpu_count()} CPUs ({cpu}), {java[0] if java else 'java ?'}"


def svg_bars(rows, title, unit):
    """rows: [(label, value)] -> a horizontal bar chart as SVG text."""
    rows = [(l, v) for l, v in rows if v is not None]
    width, left, bar, gap = 760, 300, 22, 8
    height = 50 + len(rows) * (bar + gap)
    top = max(v for _, v in rows) if rows else 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
           f'<text x="10" y="22" font-size="15" font-weight="bold">{title}</text>']
    for i, (label, value) in enumerate(rows):
        y = 40 + i * (bar + gap)
        w = (width - left - 90) * value / top
        colour = "#2b7bb9" if label.startswith("umh") else ("#888888" if label.startswith("C floor") else "#d9822b")
        out.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{label}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colour}"/>')
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + 16}">{value:,.0f} {unit}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render(summary, docs):
    """performance.md, performance.svg and performance-data.json (the summary itself) into docs."""
    floor = {k: v["score"] for k, v in summary["floor"].items()}
    after = {k: v["score"] for k, v in summary["floor_after"].items()}
    many = summary["many"]
    j = jmh_scores(summary["jmh"])
    inter_lines, inter = interleaved_section(summary["interleaved"])
    paired_lines, paired = paired_section(summary["paired"], bool(inter))

    def s(name):
        return j[name][0] if name in j else None

    def mibs(name):  # SingleShotTime ms/op of 256 MiB -> MiB/s
        return None if s(name) is None else 256 / (s(name) / 1000)

    loaded, pb = s("SpawnBench.umhLoaded"), s("SpawnBench.processBuilder")
    rows = []  # what, umh, floor, pb-like, unit, target text, verdict

    def row(what, umh, fl, other, unit, target="", ok=""):
        rows.append((what, umh, fl, other, unit, target, ok))

    r_floor, r_pb = ratio(loaded, floor.get("spawn_wait_loaded")), ratio(loaded, pb)
    # judged by the interleaved runs, else the paired rounds, where they ran
    how = " (interleaved; ProcessBuilder: paired)" if inter else " (paired medians)" if paired else ""
    r_floor = inter.get("loaded") or paired.get("SpawnBench.umhLoaded") or r_floor
    r_pb = paired.get("SpawnBench.umhLoaded/processBuilder") or r_pb
    row("spawn+wait, blob loaded once (`UsermodeBlob.fork`)", loaded, floor.get("spawn_wait_loaded"), pb, "us",
        "<= 1.15x floor, <= 0.40x ProcessBuilder" + how,
        verdict(r_floor, 1.15) + " / " + verdict(r_pb, 0.40))
    nd = s("SpawnBench.umhLoadedNoDeathSignal")
    row("same, `killOnParentDeath(false)` (no hand-off)", nd, floor.get("spawn_wait_loaded"), pb, "us",
        "", "")
    row("same raw calls as the C floor, through JNI in the JMH JVM", s("SpawnBench.jniFloor"), floor.get("spawn_wait_loaded"), pb, "us", "", "")
    row("spawn+wait, C core `umh_spawn` (no JVM)", floor.get("umh_core_spawn_wait"), floor.get("spawn_wait_loaded"), pb, "us", "", "")
    row("same, cloned on the caller (no hand-off)", floor.get("umh_core_spawn_wait_here"), floor.get("spawn_wait_loaded"), pb, "us", "", "")
    one = s("SpawnBench.umhOneShot")
    row("one-shot `Umh.forkUsermodeBlob` (load every time)", one, floor.get("spawn_wait_one_shot"),
        s("SpawnBench.extractThenProcessBuilder"), "us",
        "<= 1.15x its floor" + (" (interleaved)" if inter else " (paired median)" if paired else ""),
        verdict(inter.get("one_shot") or paired.get("SpawnBench.umhOneShot") or ratio(one, floor.get("spawn_wait_one_shot")), 1.15))
    row("Java heap allocated per spawn+wait+close, loaded (`-prof gc`)", s("SpawnBench.umhLoaded:alloc"), None,
        s("SpawnBench.processBuilder:alloc"), "B")
    row("same, one-shot (extract + ProcessBuilder beside it)", s("SpawnBench.umhOneShot:alloc"), None,
        s("SpawnBench.extractThenProcessBuilder:alloc"), "B")
    row("ProcessBuilder, VFORK mechanism", None, floor.get("spawn_wait_loaded"), s("SpawnBench.Vfork.processBuilder"), "us")
    row("`#!/bin/sh` script, loaded once", s("SpawnBench.umhLoadedScript"), None, s("SpawnBench.processBuilderScript"), "us")
    big = s("SpawnBench.BigHeap.umhLoaded")
    row("spawn+wait with 4 GB touched heap", big, floor.get("spawn_wait_loaded"), s("SpawnBench.BigHeap.processBuilder"), "us",
        "<= 1.10x the small-heap figure" + (" (interleaved)" if inter.get("big_heap") else
                                            " (paired median)" if paired.get("SpawnBench.BigHeap.umhLoaded/umhLoaded") else ""),
        verdict(inter.get("big_heap") or paired.get("SpawnBench.BigHeap.umhLoaded/umhLoaded") or ratio(big, loaded), 1.10))
    row("ProcessBuilder FORK mechanism, 4 GB heap", None, None, s("SpawnBench.BigHeapForkMode.processBuilder"), "us")
    row("time to first byte (fork cat, 1 byte there and back)", s("PipeBench.firstByteUmh"), floor.get("first_byte"),
        s("PipeBench.firstByteProcessBuilder"), "us")
    tu = mibs("PipeBench.throughputUmh")
    row("pipe throughput, 256 MiB both ways at once", tu, floor.get("pipe_throughput"), mibs("PipeBench.throughputProcessBuilder"),
        "MiB/s", ">= 0.95x floor" + (" (interleaved)" if inter.get("throughput") else ""),
        verdict(inter.get("throughput") or ratio(tu, floor.get("pipe_throughput")), 0.95, lower_is_better=False))
    row("same, through FileChannels with direct buffers (no heap copy)", mibs("PipeBench.throughputUmhChannels"),
        floor.get("pipe_throughput"), mibs("PipeBench.throughputProcessBuilder"), "MiB/s")
    row("same as streams, 1 MiB pipes (`pipeSize(1 << 20)`; floor with 1 MiB pipes too)", mibs("PipeBench.throughputUmhMibPipes"),
        floor.get("pipe_throughput_1mib_pipes"), mibs("PipeBench.throughputProcessBuilder"), "MiB/s")
    for t in (2, 4, 8):
        row(f"spawn+wait, {t} threads at once (per fork, as each thread sees it)", s(f"SpawnBench.umhLoaded{t}Threads"),
            None, None, "us")
    for size in ("65536", "1048576", "16777216", "134217728"):
        row(f"load {int(size) // 1024:,} KiB (memfd_create + copy + seal)", s(f"PipeBench.load[size={size}]"), floor.get(f"load_{size}"), None, "us")

    lines = [
        "# Performance",
        "",
        "Generated by `benchmarks/report.py` from one run of `benchmarks/run.sh` (C floor, JMH 1.37 on",
        "Java 17, many-children on Java 25), all on one machine, one after the other. Ratios are taken",
        "within this run only. Lower is better except for throughput.",
        "",
        f"Measured {summary['measured']} on {summary['machine']}.",
        "",
        "| what | umh | C floor | ProcessBuilder (or what users do today) | umh / floor | umh / ProcessBuilder | target | |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for what, umh, fl, other, unit, target, ok in rows:
        lines.append(f"| {what} | {fmt(umh)} {unit if umh is not None else ''} | {fmt(fl)} | {fmt(other)} | "
                     f"{fmt(ratio(umh, fl), 2)} | {fmt(ratio(umh, other), 2)} | {target} | {ok} |")
    if after:
        lines += ["", "The C floor was run before and after the JMH suite; where the two differ much, the machine's",
                  "load changed during the run and the ratios above carry that error:", "",
                  "| floor line | before | after | after / before |", "|---|---:|---:|---:|"]
        for name, before in floor.items():
            lines.append(f"| {name} | {fmt(before)} | {fmt(after.get(name))} | {fmt(ratio(after.get(name), before), 2)} |")
    lines += inter_lines
    lines += sandbox_section(summary.get("sandbox"))
    lines += coldstart_section(summary.get("coldstart"))
    lines += paired_lines
    if summary["load"] is not None:
        lines += ["", f"Load when the JMH suite started: `{summary['load']}`"]
    lines += ["", "## Many children (virtual threads waiting on each)", "",
              "| library | children | platform threads added | fork all (ms) | SIGKILL and reap all (ms) |",
              "|---|---:|---:|---:|---:|"]
    for m in many:
        if "skipped" in m:
            lines.append(f"| skipped: {m['skipped']} | | | | |")
        else:
            lines.append(f"| {m['library']} | {m['children']:,} | {m['platform_threads_added']:,} | "
                         f"{m['fork_all_ms']:,.0f} | {m['kill_and_reap_all_ms']:,.0f} |")
    lines += ["", "![spawn+wait](performance.svg)", "",
              "Reproduce: `benchmarks/run.sh` (needs what `mvn verify` needs, and Java 25 for the",
              "many-children run). A run's raw results and its page land in `target/bench-results/`",
              "(or `$UMH_BENCH_RESULTS`), never in the checkout; `benchmarks/report.py RESULTS_DIR docs`",
              "publishes them here. Every figure on this page and in its chart comes from",
              "[performance-data.json](performance-data.json), the summary of this run's raw data;",
              "`benchmarks/report.py docs/performance-data.json DIR` writes the two again from it.", ""]
    os.makedirs(docs, exist_ok=True)
    analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
    if os.path.exists(analysis):  # the hand-written part: where the time goes
        with open(analysis) as f:
            lines += ["", f.read()]
    with open(os.path.join(docs, "performance.md"), "w") as f:
        f.write("\n".join(lines))
    chart = [("C floor (vfork+execveat)", floor.get("spawn_wait_loaded")),
             ("C floor's calls via JNI, in the JVM", s("SpawnBench.jniFloor")),
             ("umh UsermodeBlob.fork", loaded),
             ("umh, killOnParentDeath(false)", nd),
             ("umh Umh.forkUsermodeBlob", one),
             ("ProcessBuilder (default)", pb),
             ("ProcessBuilder VFORK", s("SpawnBench.Vfork.processBuilder")),
             ("extract + ProcessBuilder", s("SpawnBench.extractThenProcessBuilder")),
             ("umh, 4 GB heap", big),
             ("ProcessBuilder, 4 GB heap", s("SpawnBench.BigHeap.processBuilder"))]
    with open(os.path.join(docs, "performance.svg"), "w") as f:
        f.write(svg_bars(chart, "spawn + wait of a tiny static program (microseconds, lower is better)", "us"))
    if summary.get("sandbox"):
        with open(os.path.join(docs, "performance-sandbox.svg"), "w") as f:
            f.write(svg_bars(sandbox_chart(summary["sandbox"]),
                             "sandboxed spawn + wait, median of the runs (microseconds, lower is better)", "us"))
    data = dump(summary) + "\n"
    with open(os.path.join(docs, "performance-data.json"), "w") as f:
        f.write(data)


def main():
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and os.path.isdir(sys.argv[1])):
        sys.exit(__doc__)
    source, out = sys.argv[1], sys.argv[2]
    if os.path.isdir(source):
        summary = summarize(source)
        if not (summary["floor"] or summary["jmh"] or summary["interleaved"] or summary["paired"] or summary["sandbox"]):
            sys.exit(f"report.py: no results in {source}")
    else:
        with open(source) as f:
            summary = json.load(f)
        if len(sys.argv) == 4:  # sandbox.sh's and coldstart.sh's runs beside the published run
            sandbox, cold = sandbox_runs(sys.argv[3]), coldstart_runs(sys.argv[3])
            if not (sandbox or cold):
                sys.exit(f"report.py: no sandbox or coldstart runs in {sys.argv[3]}")
            summary["sandbox"] = sandbox or summary.get("sandbox")
            summary["coldstart"] = cold or summary.get("coldstart")
            summary["about"] = ABOUT
    render(summary, out)


if __name__ == "__main__":
    main()
