#!/bin/sh
# A script blob: its interpreter reads it through /dev/fd/N.
echo "hello from sh: $*"
read line && echo "read: $line"
exit 7
