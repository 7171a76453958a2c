# Sourced by the check scripts: counts checks, and reports "N passed, N failed" at the end.
passed=0
failed=0
check() { # description, then a command that must succeed
    what=$1
    shift
    if "$@" >/dev/null 2>&1; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
report() { # the summary line; the exit status says whether all passed
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
