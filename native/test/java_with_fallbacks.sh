#!/usr/bin/env bash
# The sandbox's tests again with each fallback forced around the whole JVM (issue 14): Maven and
# the test JVM run under test-blobs/refuse, so the kernel itself refuses one thing the sandbox
# needs (a container's seccomp profile refusing user namespaces, no clone3, no Landlock, Landlock
# ABI 3, an outer seccomp listener, a Landlock domain around the JVM). The tests fork with what
# works there (BEST_EFFORT where strict() cannot be whole: EscapeTargets.DEGRADED) and check that
# every escape attempt is still refused or stopped; what needs a missing layer is skipped, naming
# it. Needs root (refuse installs its filter or domain without no_new_privs) and a build
# (`mvn install`) in this checkout. Extra arguments go to each Maven run.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
  echo "java_with_fallbacks.sh: needs root; skipped"
  exit 0
fi
tests=SandboxTest,EscapeBlobTest,SharedNamespacesTest,PassFdTest
status=0
for what in userns clone3 landlock "landlock-abi 3" listener proc-write; do
  echo "== the sandbox's tests under: refuse $what"
  # shellcheck disable=SC2086 # "landlock-abi 3" is two arguments to refuse
  target/test-blobs/refuse $what mvn -B -ntp -o surefire:test@default-test -Dumh.test.fallback="$what" \
    -Dtest="$tests" "$@" || status=1
done
exit $status
