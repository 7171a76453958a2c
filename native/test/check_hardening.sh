#!/bin/sh
# Checks the built shim the way a distribution would: full RELRO, no executable stack, stack
# protector and FORTIFY in use, nothing exported but the JNI entry points, nothing needed but libc.
# Usage: check_hardening.sh libumh.so. Prints "N passed, N failed" and the glibc version floor.
lib=$1
passed=0
failed=0
check() { # description, then a command that must succeed
    what=$1
    shift
    if "$@" >/dev/null 2>&1; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
check "BIND_NOW (full RELRO)" sh -c "readelf -d '$lib' | grep -q 'FLAGS.*NOW'"
check "GNU_RELRO segment" sh -c "readelf -lW '$lib' | grep -q GNU_RELRO"
check "non-executable stack" sh -c "readelf -lW '$lib' | grep GNU_STACK | grep -qv RWE"
check "stack protector" sh -c "nm -D --undefined-only '$lib' | grep -q __stack_chk_fail"
check "FORTIFY_SOURCE" sh -c "nm -D --undefined-only '$lib' | grep -q '_chk@'"
check "exports only JNI entry points" sh -c "! nm -D --defined-only '$lib' | awk '{print \$3}' | grep -v -e '^JNI_OnLoad\$' -e '^Java_io_umh_Native_'"
check "needs only libc" sh -c "readelf -d '$lib' | grep NEEDED | grep -v -q -e 'libc.so' && exit 1 || exit 0"
check "undefined symbols all versioned by glibc" sh -c "! nm -D --undefined-only '$lib' | grep -v -e '@GLIBC_' -e ' w '"
floor=$(nm -D --undefined-only "$lib" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
echo "glibc symbol-version floor: $floor"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
