#!/usr/bin/env bash
# The Java test suite (mvn test: the C tests, the suite, and the suite again without pidfds) run
# by an unprivileged uid, 65534, as a service that is not root runs umh: run as root, on a copy of
# this working tree (tracked and untracked files, no build output) and of the local Maven
# repository, both owned by 65534 in one temporary directory, removed afterwards whatever
# happens. Offline: the repository must already hold every plugin (run after a build as root).
# Tests that need root skip, each saying why. Prints the totals; exits with Maven's status.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$(id -u)" -eq 0 ] || { echo "java_as_nobody.sh: run as root (it hands a copy to uid 65534)" >&2; exit 2; }
repo=${UMH_M2_REPOSITORY:-$HOME/.m2/repository}
[ -d "$repo" ] || { echo "java_as_nobody.sh: no local Maven repository at $repo" >&2; exit 2; }

work=$(mktemp -d /tmp/umh-nobody.XXXXXX)
group=
cleanup() {
  # Maven and every JVM it started are one process group of their own (setsid below): whatever
  # outlived an interrupted run ends with it, before its files go
  [ -z "$group" ] || kill -KILL -- "-$group" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/src" "$work/home"
# what git would check out, plus files not yet committed; no target/ of root's
git -c safe.directory="$PWD" ls-files -z --cached --others --exclude-standard \
  | tar --null -T - -cf - | tar -xf - -C "$work/src"
cp -r "$repo" "$work/m2"
chown -R 65534:65534 "$work"
chmod 755 "$work"

status=0
# in the background setsid is no group leader, so it makes its session without forking: $! is its id
setsid setpriv --reuid=65534 --regid=65534 --clear-groups \
  env HOME="$work/home" ${JAVA_HOME:+JAVA_HOME="$JAVA_HOME"} PATH="$PATH" \
  mvn -B -ntp -o -Dmaven.repo.local="$work/m2" -f "$work/src/pom.xml" "$@" test </dev/null &
group=$!
wait "$group" || status=$?

echo "== as uid 65534: $(cat "$work"/src/target/surefire-reports/*.txt 2>/dev/null \
  | grep -o 'Tests run: [0-9]*, Failures: [0-9]*, Errors: [0-9]*, Skipped: [0-9]*' \
  | awk -F'[:,] *' '{r+=$2; f+=$4; e+=$6; s+=$8} END {print r+0 " tests, " f+0 " failures, " e+0 " errors, " s+0 " skipped"}')"
exit "$status"
