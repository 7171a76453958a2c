#!/usr/bin/env bash
# The spawn targets measured one spawn at a time in turn (io.umh.bench.Interleaved): the C floor,
# its calls through JNI, and umh's spawns, each contender once per round, RUNS JVMs of ROUNDS rounds;
# the 4 GB-heap target's in two peer JVMs (4 GB touched; a small heap) that each run starts; then
# 40 rounds of 256 MiB through cat (C floor, umh streams and channels, ProcessBuilder) in turn.
#   benchmarks/interleaved.sh [RUNS [ROUNDS]]   (default 5 x 2000, about 2.5 min each; run.sh calls it)
# Needs the build (mvn install) and the benchmark jar (mvn -f benchmarks/pom.xml package).
# Writes $UMH_BENCH_RESULTS/interleaved (default target/bench-results/interleaved; see results-dir.sh).
. "$(dirname "$0")/results-dir.sh" interleaved
for r in $(seq 1 "${1:-5}"); do
  echo "run $r:"
  "$jdk17/bin/java" -cp benchmarks/target/benchmarks.jar io.umh.bench.Interleaved \
    target/cmake/umh-floor target/test-blobs/exit target/test-blobs/cat "${2:-2000}" "$out/run-$r.json"
done
