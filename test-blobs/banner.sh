#!/bin/sh
# A helper that prints a banner on stdout before its frames, as a new user's first helper may:
# one printf, so one write, with a tab and a control byte in it; then it reads its requests.
printf 'hello\tworld \001 from a helper whose banner is longer than forty bytes\n'
exec cat >/dev/null
