#!/usr/bin/env bash
# The streaming-load target (io.umh.bench.ResourceLoad): the 77 MB static ffmpeg of
# ws.schild:jave-nativebin-linux64:3.5.0 made runnable from the artifact's jar, by Umh.loadResource
# (a memfd) and by extracting it to java.io.tmpdir + chmod, in turns, RUNS JVMs of ROUNDS rounds;
# each load's time and heap allocation.
#   benchmarks/resource-load.sh [RUNS [ROUNDS]]   (default 3 x 15, about 1 min each)
# Needs the build (mvn install) and the benchmark jar (mvn -f benchmarks/pom.xml package), both
# with the local repository in $M2_REPO (default ~/.m2/repository), which holds the jave jar.
# Writes $UMH_BENCH_RESULTS/resource-load (default target/bench-results/resource-load; see results-dir.sh).
. "$(dirname "$0")/results-dir.sh" resource-load
jave=${M2_REPO:-$HOME/.m2/repository}/ws/schild/jave-nativebin-linux64/3.5.0/jave-nativebin-linux64-3.5.0.jar
[ -f "$jave" ] || { echo "resource-load.sh: no $jave (mvn -f benchmarks/pom.xml package fetches it)" >&2; exit 1; }
uname -r > "$out/kernel"
df -T "$("$jdk17/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.io.tmpdir = //p')" > "$out/tmpdir-fs"
for r in $(seq 1 "${1:-3}"); do
  echo "run $r:"
  "$jdk17/bin/java" -cp "benchmarks/target/benchmarks.jar:$jave" io.umh.bench.ResourceLoad "${2:-15}" "$out/run-$r.json"
done
