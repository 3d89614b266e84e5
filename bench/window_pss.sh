#!/usr/bin/env bash
# PSS of each window of a running foxpoold: the sum of Pss over the Firefox
# process group (main process and its content/utility processes), from
# /proc/PID/smaps_rollup. Usage: bench/window_pss.sh FOXPOOLD_PID
set -euo pipefail
server=${1:?usage: $0 FOXPOOLD_PID}
for leader in $(ps --ppid "$server" -o pid=); do
  total=0
  for pid in $(ps -e -o pid=,pgid= | awk -v g="$leader" '$2 == g {print $1}'); do
    kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${kb:-0}))
  done
  echo "window (pid $leader): PSS $((total / 1024)) MiB"
done
