#!/usr/bin/env bash
# Starts children and grandchildren that would outlive a naive stop.
sleep 300 &
bash -c 'sleep 300 & wait' &
echo "started children"
wait
