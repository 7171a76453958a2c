#!/bin/sh
echo "from a resource: $1"
