#!/bin/sh
# Checks a built shim the way a distribution would: the right CPU, full RELRO, no executable stack,
# stack protector and FORTIFY in use, nothing exported but the JNI entry points, nothing needed but
# libc, and no glibc symbol version newer than 2.17 (so it loads on old distributions; 2.17 is also
# aarch64's first). Only readelf, which reads any CPU's ELF files, so cross-built shims too.
# Usage: check_hardening.sh libumh.so MACHINE, MACHINE as readelf -h names it (X86-64, AArch64).
# Prints "N passed, N failed" and the glibc version floor.
lib=$1
machine=$2
max_glibc=2.17
. "$(dirname "$0")/checks.sh"
# "Num: Value Size Type Bind Vis Ndx Name" -> "Bind Ndx Name", one line per named global or weak symbol
syms=$(readelf --dyn-syms -W "$lib" | awk '$1 ~ /^[0-9]+:$/ && $5 != "LOCAL" && $8 != "" { print $5, $7, $8 }')
check "machine $machine" sh -c "readelf -h '$lib' | grep -q 'Machine: *.*$machine\$'"
check "a shared object" sh -c "readelf -h '$lib' | grep -q 'Type: *DYN'"
check "BIND_NOW (full RELRO)" sh -c "readelf -d '$lib' | grep -q 'FLAGS.*NOW'"
check "GNU_RELRO segment" sh -c "readelf -lW '$lib' | grep -q GNU_RELRO"
check "non-executable stack" sh -c "readelf -lW '$lib' | grep GNU_STACK | grep -qv RWE"
check "stack protector" sh -c "echo '$syms' | grep -q '^GLOBAL UND __stack_chk_fail@'"
check "FORTIFY_SOURCE" sh -c "echo '$syms' | grep -q '^GLOBAL UND __.*_chk@'"
check "exports only JNI entry points" sh -c "! echo '$syms' | awk '\$2 != \"UND\" { print \$3 }' | grep -v -e '^JNI_OnLoad\$' -e '^Java_io_umh_Native_'"
check "needs only libc" sh -c "! readelf -d '$lib' | grep NEEDED | grep -v -e 'libc\\.so' -e 'ld-linux'"
check "undefined symbols all versioned by glibc" sh -c "! echo '$syms' | awk '\$2 == \"UND\" && \$1 != \"WEAK\"' | grep -v '@GLIBC_'"
floor=$(echo "$syms" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
check "glibc floor $floor no newer than GLIBC_$max_glibc" sh -c \
    "[ -n '$floor' ] && [ \"\$(printf '%s\\n' '${floor#GLIBC_}' '$max_glibc' | sort -V | tail -1)\" = '$max_glibc' ]"
echo "glibc symbol-version floor: $floor"
report
