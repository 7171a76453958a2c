# Sourced by run.sh, paired.sh and interleaved.sh: `. "$(dirname "$0")/results-dir.sh" NAME`
# leaves the shell in the repository's root with $jdk17 set and $out = the results directory's
# NAME subdirectory, emptied (paired.sh, interleaved.sh), or with NAME "" the results directory
# itself (run.sh). The results directory is $UMH_BENCH_RESULTS (a relative path is taken from where
# the script was started), by default target/bench-results in the checkout's root, which git
# ignores and `mvn clean` deletes: a run never writes into the checkout. It is exported, so the
# scripts run.sh calls write beside it.
set -euo pipefail
root=$(dirname "${BASH_SOURCE[0]}")/..  # this file's own place, whoever sources it
results=$(realpath -m -- "${UMH_BENCH_RESULTS:-$root/target/bench-results}")
export UMH_BENCH_RESULTS=$results
cd "$root"
jdk17=${JDK17:-/usr/lib/jvm/java-17-openjdk-amd64}
out=$results${1:+/$1}
if [ -n "${1:-}" ]; then
  rm -rf "$out"
fi
mkdir -p "$out"
date '+%Y-%m-%d %H:%M' > "$out/started"  # report.py's "started ..."
