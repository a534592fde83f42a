#!/usr/bin/env bash
# Registration storm (README): a release crc-server, N clients connected first and then all
# registered at once; prints the server's CPU seconds until every client has been told of every
# other. Usage: scripts/bench-storm.sh [N=2000] [runs=3]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}; runs=${2:-3}
swift build -c release --static-swift-stdlib --product crc-server >&2
for run in $(seq "$runs"); do
  .build/release/crc-server --id 1 --servername storm --port 0 --max-connections $((n + 100)) --register-timeout 300 \
      > /tmp/crc-storm-ready.$$ 2>/dev/null &
  pid=$!
  until grep -q '"ready"' /tmp/crc-storm-ready.$$ 2>/dev/null; do sleep 0.05; done
  port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' /tmp/crc-storm-ready.$$)
  python3 scripts/storm.py "$port" "$n" "$pid"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
rm -f /tmp/crc-storm-ready.$$
