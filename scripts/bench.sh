#!/usr/bin/env bash
# The relay benchmark as recorded in the README: release builds with the Swift runtime linked
# statically (what a deployment ships), then crc-bench.
#
#   scripts/bench.sh                 side by side with nats-server (installed when missing): 1 and 3
#                                    servers, ROUNDS alternating rounds (default 3), medians and ratios;
#                                    at 3 servers NATS runs twice: as a cluster (meshed routes, the
#                                    target's peer) and as a chain of leaf nodes (the same hops as a
#                                    crc-server chain)
#   scripts/bench.sh ARGS...         crc-bench relay ARGS... (one configuration, crc-server only)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product crc-server >&2
swift build -c release --static-swift-stdlib --product crc-bench >&2
if [ $# -gt 0 ]; then exec .build/release/crc-bench relay "$@"; fi

if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  echo "bench: installing nats-server (the peer the relay is measured against)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >&2
fi
rounds=${ROUNDS:-3}
out=$(mktemp)
for round in $(seq 1 "$rounds"); do
  for servers in 1 3; do
    for peer in crc nats nats-chain; do
      [ "$peer" = nats-chain ] && [ "$servers" = 1 ] && continue
      echo "bench: round $round/$rounds, $peer, $servers server(s)" >&2
      case $peer in
        nats-chain) args=(--peer nats --nats-topology chain) ;;
        *) args=(--peer "$peer") ;;
      esac
      .build/release/crc-bench relay "${args[@]}" --servers "$servers" --messages 1000000 --runs 3 --pings 10000 --json >> "$out"
    done
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(peer, servers, key, topology=None):
    vals = [r[key] for r in rows if r["peer"] == peer and r["servers"] == servers
            and (topology is None or r.get("topology") == topology)]
    return statistics.median(vals), min(vals), max(vals)
print("side by side, 32-byte messages, %d alternating rounds (medians, range in brackets)" % (len(rows) // 5))
print("%-22s %-28s %-28s %s" % ("", "crc-server", "nats-server", "ratio (target)"))
for servers in (1, 3):
    c, n = med("crc", servers, "rate_median"), med("nats", servers, "rate_median", "cluster")
    print("%-22s %-28s %-28s %.2f (>= 1.25)" % ("%d server%s throughput" % (servers, "s" if servers > 1 else ""),
          "%.2f M/s [%.2f-%.2f]" % (c[0]/1e6, c[1]/1e6, c[2]/1e6), "%.2f M/s [%.2f-%.2f]" % (n[0]/1e6, n[1]/1e6, n[2]/1e6), c[0]/n[0]))
    c, n = med("crc", servers, "latency_p50_us"), med("nats", servers, "latency_p50_us", "cluster")
    print("%-22s %-28s %-28s %.2f (<= 1)" % ("%d server%s latency p50" % (servers, "s" if servers > 1 else ""),
          "%.0f us [%.0f-%.0f]" % c, "%.0f us [%.0f-%.0f]" % n, c[0]/n[0]))
print("NATS as a chain of 3 leaf nodes (the same hops as the crc-server chain; no target):")
for key, label, fmt, scale in (("rate_median", "throughput", "%.2f M/s [%.2f-%.2f]", 1e6), ("latency_p50_us", "latency p50", "%.0f us [%.0f-%.0f]", 1)):
    c, n = med("crc", 3, key), med("nats", 3, key, "chain")
    print("%-22s %-28s %-28s %.2f" % ("3 servers " + label, fmt % tuple(v / scale for v in c), fmt % tuple(v / scale for v in n), c[0]/n[0]))
def idle(peer):
    vals = [statistics.mean(r["idle_rss_kib"]) / 1024 for r in rows if r["peer"] == peer and r["servers"] == 3
            and r.get("topology") in ("chain" if peer == "crc" else "cluster",)]
    return statistics.median(vals)
c, n = idle("crc"), idle("nats")
print("%-22s %-28s %-28s %.2f (<= 1)" % ("idle RSS per server", "%.1f MiB" % c, "%.1f MiB" % n, c / n))
PY
rm -f "$out"
