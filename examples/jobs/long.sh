#!/usr/bin/env bash
# Runs for ten minutes, printing a heartbeat line every five seconds: try stopping it.
end=$((SECONDS + ${1:-600}))
while [ "$SECONDS" -lt "$end" ]; do
  echo "still working at $(date +%T)"
  sleep 5
done
