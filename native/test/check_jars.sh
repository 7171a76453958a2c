#!/bin/sh
# Checks the built jars as a user gets them: the unclassified jar holds the classes and no native
# code; each platform jar holds the classes and its own platform's shim and demo helper, nothing of
# another platform's, and runs the command line (Main-Class); each packed shim passes
# check_hardening.sh for its CPU.
# Usage: check_jars.sh JAR_BASE CLASSIFIER:MACHINE..., JAR_BASE as in target/umh-0.1.0;
# MACHINE as readelf -h names it. Prints "N passed, N failed".
base=$1
shift
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/checks.sh"
# every platform jar's Main-Class: the command line (README, "Command line"), the same on each CPU
main=io.umh.cli.Cli
jar=$base.jar
check "$jar holds the classes" sh -c "unzip -l '$jar' | grep -q ' io/umh/Umh.class\$'"
check "$jar holds no native code" sh -c "! unzip -l '$jar' | grep -q ' META-INF/native/'"
for platform in "$@"; do
    classifier=${platform%%:*}
    machine=${platform#*:}
    jar=$base-$classifier.jar
    dir=META-INF/native/$classifier
    check "$jar holds the classes" sh -c "unzip -l '$jar' | grep -q ' io/umh/Umh.class\$'"
    check "$jar: Main-Class is $main" sh -c \
        "unzip -p '$jar' META-INF/MANIFEST.MF | tr -d '\\r' | grep -qx 'Main-Class: $main'"
    check "$jar holds $main" sh -c "unzip -l '$jar' | grep -q ' $(echo "$main" | tr . /).class\$'"
    check "$jar holds no other platform's files" sh -c \
        "! unzip -Z1 '$jar' | grep '^META-INF/native/.' | grep -v -e '^$dir/\$' -e '^$dir/libumh.so\$' -e '^$dir/umh-demo-helper\$'"
    check "$jar: $dir/umh-demo-helper is a static $machine program" sh -c \
        "unzip -p '$jar' '$dir/umh-demo-helper' > '$tmp/helper' && readelf -h '$tmp/helper' | grep -q 'Machine: *.*$machine\$' \
         && ! readelf -lW '$tmp/helper' | grep -q INTERP"
    echo "== $jar: $dir/libumh.so"
    if unzip -p "$jar" "$dir/libumh.so" > "$tmp/libumh.so" && [ -s "$tmp/libumh.so" ] \
            && sh "$here/check_hardening.sh" "$tmp/libumh.so" "$machine"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $jar: $dir/libumh.so"
    fi
done
report
