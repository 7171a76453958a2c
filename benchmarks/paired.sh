#!/usr/bin/env bash
# Paired rounds: the C floor's spawn lines, then the same spawns through JMH (and ProcessBuilder's),
# ROUNDS times in turn.
# A shared machine drifts by +-15% within minutes; a ratio taken within one round, a minute apart,
# carries much less of it than one taken across a 12-minute run. report.py gives the median.
#   benchmarks/paired.sh [ROUNDS]     (default 7, about 2 min each with the two 6 GB-heap JVMs; run.sh calls it)
# Writes $UMH_BENCH_RESULTS/paired (default target/bench-results/paired; see results-dir.sh).
. "$(dirname "$0")/results-dir.sh" paired
for r in $(seq 1 "${1:-7}"); do
  ./target/cmake/umh-floor target/test-blobs/exit target/test-blobs/cat 3 spawn > "$out/floor-$r.jsonl"
  "$jdk17/bin/java" -jar benchmarks/target/benchmarks.jar 'SpawnBench\.(jniFloor|umhLoaded|umhLoadedNoDeathSignal|umhOneShot|processBuilder|BigHeap\.(umhLoaded|jniFloor))$' \
    -f 1 -wi 2 -w 1 -i 3 -r 1 -rf json -rff "$out/jmh-$r.json" > "$out/jmh-$r.log"
  echo "round $r: $(tr -d '\n' < "$out/floor-$r.jsonl" | grep -o '"score": [0-9.]*' | head -1)"
done
