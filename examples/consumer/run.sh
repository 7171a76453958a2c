#!/usr/bin/env bash
# Builds this example against the umh in the local Maven repository (run `mvn install` in the umh
# checkout first) and runs it; fails unless the helper gave the right answer. Arguments go to mvn.
set -euo pipefail
cd "$(dirname "$0")"
mvn -B -ntp "$@" package
out=$("${JAVA_HOME:+$JAVA_HOME/bin/}java" -jar target/umh-consumer.jar)
echo "$out"
[ "$out" = "the adder helper says 1+2+3+4+5 = 15 (exit status 0)" ]
