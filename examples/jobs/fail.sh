#!/usr/bin/env bash
# Does a little work, then fails with exit code 3.
echo "starting"
echo "something went wrong" >&2
exit 3
