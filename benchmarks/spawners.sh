#!/usr/bin/env bash
# Spawns across cores (io.umh.bench.SpawnerScaling): spawn + waitFor of the static exit program
# from 1, 2, 4 and 8 threads at once, in peer JVMs that take turns: one spawner
# (-Dumh.spawners=1), the default pool (up to the CPU count), a pool of 8, no spawner at all
# (killOnParentDeath(false)) and ProcessBuilder; with each spawner's time suspended in vfork per
# spawn (umh's own counters). Prints the table and the ratios, writes them to
# $UMH_BENCH_RESULTS/spawners (see results-dir.sh); docs/performance.md's "Spawns across cores" is
# hand-written from it (benchmarks/analysis.md).
#   benchmarks/spawners.sh [ROUNDS [SPAWNS [JAVA_HOME]]]   (default 10 rounds of 160 spawns a batch, Java 17)
# Needs the build (mvn install) and the benchmark jar (mvn -f benchmarks/pom.xml package).
. "$(dirname "$0")/results-dir.sh" spawners
uptime > "$out/load-before"
"${3:-$jdk17}/bin/java" -cp benchmarks/target/benchmarks.jar io.umh.bench.SpawnerScaling \
  "${1:-10}" "${2:-160}" "$out/spawners.json" | tee "$out/spawners.txt"
uptime > "$out/load-after"
