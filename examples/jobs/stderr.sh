#!/usr/bin/env bash
# Writes to stdout and stderr in turn: the output file keeps them in the order written.
for i in 1 2 3; do
  echo "out $i"
  echo "err $i" >&2
  sleep 0.2
done
