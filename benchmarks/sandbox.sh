#!/usr/bin/env bash
# The sandbox targets measured one spawn at a time in turn (io.umh.bench.SandboxInterleaved): the
# static exit blob forked unsandboxed, under SandboxPolicy.strict(), under strict() with the host's
# network and with its resolver files bound, and the same file run by ProcessBuilder and by
# `bwrap --unshare-all --die-with-parent` (the file alone bound, and --ro-bind / /), each contender
# once per round, RUNS JVMs of ROUNDS rounds after a 10% warm-up; each followed by one JVM that runs
# the same contenders with bare-exit (no libc, no start-up code: the spawns alone).
#   benchmarks/sandbox.sh [RUNS [ROUNDS]]   (default 5 x 400, about 30 s each, twice; run.sh calls it)
# Needs the build (mvn install), the benchmark jar (mvn -f benchmarks/pom.xml package) and bwrap
# (apt-get install bubblewrap). Writes $UMH_BENCH_RESULTS/sandbox (default target/bench-results/sandbox;
# see results-dir.sh); report.py puts it in performance.md's Sandbox section.
. "$(dirname "$0")/results-dir.sh" sandbox
command -v bwrap >/dev/null || { echo "sandbox.sh: no bwrap on PATH (apt-get install bubblewrap)" >&2; exit 1; }
bwrap --version > "$out/bwrap-version"
uname -r > "$out/kernel"
uptime > "$out/load-before"  # the machine is shared: the ratios move with its load
for r in $(seq 1 "${1:-5}"); do
  echo "run $r:"
  "$jdk17/bin/java" -cp benchmarks/target/benchmarks.jar io.umh.bench.SandboxInterleaved "${2:-400}" "$out/run-$r.json"
  echo "run $r, bare-exit (no libc: the spawns without the program's start-up):"
  "$jdk17/bin/java" -cp benchmarks/target/benchmarks.jar io.umh.bench.SandboxInterleaved "${2:-400}" "$out/bare-$r.json" bare-exit
done
uptime > "$out/load-after"
