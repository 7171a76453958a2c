#!/bin/sh
# Run from a memfd, its interpreter reads it through /dev/fd/N: that link names the memfd.
readlink "$0"
