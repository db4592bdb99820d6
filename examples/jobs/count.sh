#!/usr/bin/env bash
# Counts to ten, a line a second (the original system's example job).
for i in $(seq 1 10); do
  echo "$i"
  sleep 1
done
