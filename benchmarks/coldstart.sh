#!/usr/bin/env bash
# Cold start, side by side in fresh JVMs (io.umh.bench.ColdStart): the first Umh.load + fork +
# waitFor of the static exit program against ProcessBuilder's first start + waitFor of the same
# bytes in a file, N JVMs of each, taking turns (umh, ProcessBuilder, umh, ...) so that the shared
# machine's drift hits both alike. Prints each side's median and the ratio umh / ProcessBuilder
# (target <= 0.75), and writes them to $UMH_BENCH_RESULTS/coldstart (see results-dir.sh).
# Also each whole JVM's wall time, launch to exit, as this script sees it: what a command-line
# tool's user waits for, JVM start-up and shutdown (shutdown hooks, the exit's wait for threads in
# native code) included. Both run with --enable-native-access=ALL-UNNAMED, as JDK 24+ needs for
# umh's System.load without a warning (the platform jar's manifest says so under java -jar).
#   benchmarks/coldstart.sh [N [JAVA_HOME]]   (default 30, Java 17)
# Needs the benchmark jar (mvn -f benchmarks/pom.xml package).
. "$(dirname "$0")/results-dir.sh" coldstart
java=${2:-$jdk17}/bin/java
file=$(mktemp -d)/exit
unzip -p benchmarks/target/benchmarks.jar blobs/exit > "$file"
chmod +x "$file"
uptime > "$out/load-before"
for i in $(seq 1 "${1:-30}"); do
  for side in umh process_builder; do
    t0=$(date +%s%N)
    "$java" --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar io.umh.bench.ColdStart "$side" "$file" >> "$out/$side.ns"
    echo $(( $(date +%s%N) - t0 )) >> "$out/$side.jvm.ns"
  done
done
uptime > "$out/load-after"
rm -r "$(dirname "$file")"
"$java" -version 2> "$out/java-version"
python3 - "$out" <<'PY'
import json, statistics, sys
out = sys.argv[1]
def medians(suffix):
    return {s: statistics.median(int(l) for l in open(f"{out}/{s}{suffix}")) / 1e6 for s in ("umh", "process_builder")}
med, jvm = medians(".ns"), medians(".jvm.ns")
res = {"umh_ms": med["umh"], "process_builder_ms": med["process_builder"], "ratio": med["umh"] / med["process_builder"],
       "runs": sum(1 for _ in open(f"{out}/umh.ns")),
       "jvm_umh_ms": jvm["umh"], "jvm_process_builder_ms": jvm["process_builder"],
       "jvm_ratio": jvm["umh"] / jvm["process_builder"]}
json.dump(res, open(f"{out}/coldstart.json", "w"))
print(f"cold start, median of {res['runs']} fresh JVMs each: umh {med['umh']:.1f} ms, ProcessBuilder {med['process_builder']:.1f} ms,"
      f" umh / ProcessBuilder {res['ratio']:.2f} (target <= 0.75)")
print(f"whole JVM, launch to exit: umh {jvm['umh']:.0f} ms, ProcessBuilder {jvm['process_builder']:.0f} ms,"
      f" umh / ProcessBuilder {res['jvm_ratio']:.2f}")
PY
