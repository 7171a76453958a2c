#!/usr/bin/env bash
# The Java test suite against libumh.so built with AddressSanitizer + UBSan (-DUMH_SANITIZE_SHIM=ON,
# in target/cmake-asan), the ASan runtime preloaded into each test JVM (mvn -Pasan). The JVM itself
# is not instrumented: ASan sees the shim's memory accesses and every malloc/free of the process.
# Prints the tests run and the sanitizer reports found; exits non-zero if either went wrong.
set -euo pipefail
cd "$(dirname "$0")/../.."

runtime=$(gcc -print-file-name=libasan.so)
[ -f "$runtime" ] || { echo "no libasan.so for gcc ($runtime)" >&2; exit 2; }
build=target/cmake-asan
logs=$PWD/target/asan-logs
rm -rf "$logs" target/surefire-reports && mkdir -p "$logs"

# javac -h writes the JNI header the shim includes: compile first
mvn -B -ntp -q test-compile
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DUMH_SANITIZE_SHIM=ON -DUMH_SANITIZE=OFF \
  -DUMH_JNI_HEADERS="$PWD/target/native-headers" -DUMH_LIBRARY_DIR="$PWD/$build/lib" \
  -DUMH_TEST_BLOBS_DIR="$PWD/$build/test-blobs" -DJAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}" >/dev/null
cmake --build "$build" --target umh >/dev/null

status=0
mvn -B -ntp -Pasan -Dumh.asan.lib="$PWD/$build/lib/libumh.so" -Dumh.asan.runtime="$runtime" \
  -Dumh.asan.logs="$logs" "$@" test || status=$?

reports=$(find "$logs" -type f | wc -l)
echo "== under ASan + UBSan: $(grep -h -o 'Tests run: [0-9]*, Failures: [0-9]*, Errors: [0-9]*, Skipped: [0-9]*' target/surefire-reports/*.txt \
  | awk -F'[:,] *' '{r+=$2; f+=$4; e+=$6; s+=$8} END {print r " tests, " f " failures, " e " errors, " s " skipped"}'); $reports sanitizer reports"
for f in "$logs"/*; do [ -f "$f" ] && { echo "-- $f"; cat "$f"; }; done
[ "$status" -eq 0 ] && [ "$reports" -eq 0 ]
