#!/usr/bin/env bash
# Wall time of the seed's twenty scenarios through crc-cluster, as recorded in the README:
# a release build with the Swift runtime linked statically, then RUNS runs (default 5), median.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
swift build -c release --static-swift-stdlib >&2
times=()
for i in $(seq "$runs"); do
  line=$(.build/release/crc-cluster test topologies/seed --logs "${TMPDIR:-/tmp}/crc-bench-logs" | tail -1)
  echo "run $i: $line" >&2
  case "$line" in *"20 passed, 0 failed"*) ;; *) echo "a scenario failed" >&2; exit 1;; esac
  times+=("$(echo "$line" | sed -E 's/.*\(([0-9.]+) s\).*/\1/')")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "seed scenarios: 20 passed in a median of ${median} s over ${runs} runs (runs: ${times[*]})"
