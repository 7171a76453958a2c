# Sourced by paired.sh and interleaved.sh: `. "$(dirname "$0")/results-dir.sh" NAME` leaves the
# shell in the repository's root with $jdk17 set and $out = benchmarks/results/NAME, emptied.
set -euo pipefail
cd "$(dirname "$0")/.."
jdk17=${JDK17:-/usr/lib/jvm/java-17-openjdk-amd64}
out=benchmarks/results/$1
rm -rf "$out"
mkdir -p "$out"
