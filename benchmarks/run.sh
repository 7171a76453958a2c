#!/usr/bin/env bash
# One run of every benchmark, side by side on this machine, then performance.md, its chart and
# performance-data.json (the summary of the raw data) beside the results.
#   benchmarks/run.sh                 everything (about 30 minutes on 2 cores; ROUNDS=7 paired rounds, ~2 min each;
#                                     RUNS=5 interleaved JVMs, ~2 min each, then RUNS sandbox JVMs, ~30 s each)
#   benchmarks/run.sh 'SpawnBench'    only the JMH benchmarks matching a regex (floor and many-children still run)
# Run it on a quiet machine: the figures are ratios measured in one run, but noise is noise.
# Results, and the page and chart made from them, go to $UMH_BENCH_RESULTS, by default
# target/bench-results (see results-dir.sh), never into the checkout; publish them with
#   python3 benchmarks/report.py target/bench-results docs
. "$(dirname "$0")/results-dir.sh" ""  # "": the directory itself (without it, the sourced file sees our $1)
jdk25=${JDK25:-/usr/lib/jvm/temurin-25-jdk-amd64}

JAVA_HOME=$jdk17 mvn -q -B -ntp -DskipTests install
JAVA_HOME=$jdk17 mvn -q -B -ntp -f benchmarks/pom.xml package

echo "== C floor"
./target/cmake/umh-floor target/test-blobs/exit target/test-blobs/cat "${FLOOR_SECONDS:-5}" | tee "$out/floor.jsonl"

uptime | tee "$out/load.txt"
echo "== JMH (Java 17)"
# -prof gc: the bytes each operation allocates (gc.alloc.rate.norm), beside its time
"$jdk17/bin/java" -jar benchmarks/target/benchmarks.jar -prof gc -rf json -rff "$out/jmh.json" "$@"

echo "== paired rounds: C floor and JMH spawns in turn"
benchmarks/paired.sh "${ROUNDS:-7}"

echo "== interleaved: one spawn of each in turn, the C floor's in a process of its own (the spawn targets' ratios)"
benchmarks/interleaved.sh "${RUNS:-5}"

echo "== spawns across cores: 1, 2, 4, 8 threads forking at once, one spawner against a pool, in turns"
benchmarks/spawners.sh "${SPAWNER_ROUNDS:-10}"

echo "== sandbox: strict() against no sandbox and against bwrap, in turns"
if command -v bwrap >/dev/null; then
  benchmarks/sandbox.sh "${RUNS:-5}"
else
  echo "no bwrap on PATH: skipped (apt-get install bubblewrap)"
fi

echo "== cold start: a fresh JVM's first fork against ProcessBuilder's first start, by turns"
benchmarks/coldstart.sh 30

echo "== streaming load: JAVE2's ffmpeg from its jar, against extracting it (in turns; performance.md's section is hand-written)"
benchmarks/resource-load.sh "${LOAD_RUNS:-3}"

echo "== many children (Java 25: virtual threads)"
if [ -x "$jdk25/bin/java" ]; then
  "$jdk25/bin/java" --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar \
    io.umh.bench.ManyChildren "${CHILDREN:-10000}" | tee "$out/many.jsonl"
else
  "$jdk17/bin/java" -cp benchmarks/target/benchmarks.jar io.umh.bench.ManyChildren | tee "$out/many.jsonl"
fi

echo "== C floor again: how far the machine drifted during the run"
./target/cmake/umh-floor target/test-blobs/exit target/test-blobs/cat "${FLOOR_SECONDS:-5}" | tee "$out/floor-after.jsonl"

python3 benchmarks/report.py "$out" "$out"
echo "wrote $out/performance.md, performance.svg and performance-data.json"
echo "to publish them: python3 benchmarks/report.py $out docs"
