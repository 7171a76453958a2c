#!/bin/sh
# Checks the vfork child (umh_child.c, compiled as it ships: umh-core's object) against its
# contract: it may use no external symbol but the few listed here, each for the reason given.
# A malloc, a stdio call, a libc wrapper that takes a lock or signals the JVM's other threads
# (glibc's setuid does), or a memcpy the compiler made of a loop: each fails the build.
# Only readelf, which reads any CPU's ELF files, so the cross-built object too.
# Usage: check_child_symbols.sh umh_child.c.o MACHINE, MACHINE as readelf -h names it (X86-64,
# AArch64). Prints "N passed, N failed" and the symbols the child uses.
obj=$1
machine=$2
. "$(dirname "$0")/checks.sh"
# The allow-list. The child runs on a stack in the parent's frame, in the JVM's memory, while
# other JVM threads may hold any lock:
#   syscall            every system call the child makes: moves its arguments into registers
#                      and traps; on a failure it sets errno (below), nothing else
#   __errno_location   where syscall() puts errno, and where the child reads it to report a
#                      failure: the thread pointer plus an offset; no lock, no allocation (the
#                      slot is the cloning thread's, which is suspended until the exec or exit)
#   __stack_chk_fail   -fstack-protector-strong: called only when a canary was overwritten,
#                      and aborts; never in a correct run
#   __stack_chk_guard  the canary itself on aarch64, a global the prologues only read (x86_64
#                      reads it from the thread pointer, no symbol)
#   umh_clone3         umh's own clone3 trampoline (umh_clone3.c: instructions, no libc), which
#                      a relay child calls to clone the helper (umh_child_relay)
allowed="syscall __errno_location __stack_chk_fail __stack_chk_guard umh_clone3"
# "Num: Value Size Type Bind Vis Ndx Name" -> the name of each undefined symbol
used=$(readelf -sW "$obj" | awk '$1 ~ /^[0-9]+:$/ && $7 == "UND" && $8 != "" { print $8 }' | sort -u)
check "machine $machine" sh -c "readelf -h '$obj' | grep -q 'Machine: *.*$machine\$'"
check "a relocatable object" sh -c "readelf -h '$obj' | grep -q 'Type: *REL'"
check "defines umh_child_main" sh -c "readelf -sW '$obj' | awk '\$7 != \"UND\" && \$8 == \"umh_child_main\"' | grep -q ."
for sym in $used; do
    check "$sym is on the child's allow-list (native/test/check_child_symbols.sh)" \
        sh -c "case ' $allowed ' in *' $sym '*) exit 0 ;; esac; exit 1"
done
echo "the child's external symbols:" $used
report
