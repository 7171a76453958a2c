#!/usr/bin/env bash
# Builds this example against the umh in the local Maven repository (run `mvn install` in the umh
# checkout first) and runs it; fails unless ffmpeg, run from the jave jar's bytes, encoded the tone
# and decoded it back sample for sample. Arguments go to mvn.
set -euo pipefail
cd "$(dirname "$0")"
mvn -B -ntp "$@" package
out=$("${JAVA_HOME:+$JAVA_HOME/bin/}java" -jar target/umh-ffmpeg.jar)
echo "$out"
[ "$(echo "$out" | tail -n 1)" = "ok: 8000 samples of a 440 Hz tone through FLAC and back, unchanged" ]
