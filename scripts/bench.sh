#!/usr/bin/env bash
# The relay benchmark as recorded in the README: release builds with the Swift runtime linked
# statically (what a deployment ships), then crc-bench.
#
#   scripts/bench.sh                 side by side with nats-server (installed when missing): 1 and 3
#                                    servers, ROUNDS alternating rounds (default 3), medians and ratios;
#                                    at 3 servers NATS runs twice: as a cluster (meshed routes, the
#                                    target's peer) and as a chain of leaf nodes (the same hops as a
#                                    crc-server chain); and per round, the latency of both networks
#                                    up at once, taking turns in blocks of round trips (crc-bench
#                                    latency): the same moments of the machine for both
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
      .build/release/crc-bench relay "${args[@]}" --servers "$servers" --messages 1000000 --runs 3 --pings 10000 --json \
        | sed "s/^{/{\"round\": $round, /" >> "$out"
    done
    echo "bench: round $round/$rounds, crc and nats in turn, $servers server(s)" >&2
    .build/release/crc-bench latency --servers "$servers" --pings 10000 --json \
      | sed "s/^{/{\"round\": $round, \"peer\": \"both\", /" >> "$out"
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
turns = [r for r in rows if r["peer"] == "both"]
rows = [r for r in rows if r["peer"] != "both"]
rounds = sorted({r["round"] for r in rows})
def pick(peer, servers, topology):
    return {r["round"]: r for r in rows if r["peer"] == peer and r["servers"] == servers and r.get("topology") == topology}
def line(label, servers, key, nats_topology, fmt, scale, target):
    c, n = pick("crc", servers, "chain"), pick("nats", servers, nats_topology)
    cv, nv = [c[i][key] / scale for i in rounds], [n[i][key] / scale for i in rounds]
    per_round = [c[i][key] / n[i][key] for i in rounds]
    cm, nm = statistics.median(cv), statistics.median(nv)
    side = lambda m, vs: (fmt + " [" + fmt + "-" + fmt + "]") % (m, min(vs), max(vs))
    print("%-26s %-26s %-26s %.2f %-9s [%.2f-%.2f]" % (label, side(cm, cv), side(nm, nv), cm / nm, target,
                                                      min(per_round), max(per_round)))
print("side by side, 32-byte messages, %d alternating rounds: medians [range over the rounds]" % len(rounds))
print("%-26s %-26s %-26s %s" % ("", "crc-server", "nats-server", "ratio (target) [per round]"))
for servers in (1, 3):
    s = "%d server%s " % (servers, "s" if servers > 1 else "")
    line(s + "throughput M/s", servers, "rate_median", "cluster", "%.2f", 1e6, "(>= 1.25)")
    line(s + "latency p50 us", servers, "latency_p50_us", "cluster", "%.0f", 1, "(<= 1)")
print("NATS as a chain of 3 leaf nodes (the same hops as the crc-server chain; no target):")
line("3 servers throughput M/s", 3, "rate_median", "chain", "%.2f", 1e6, "")
line("3 servers latency p50 us", 3, "latency_p50_us", "chain", "%.0f", 1, "")
print("latency p50 with both networks up, taking turns in blocks of 500 round trips (crc-bench latency):")
for servers in (1, 3):
    t = [r for r in turns if r["servers"] == servers]
    cv, nv, rv = [r["crc_p50_us"] for r in t], [r["nats_p50_us"] for r in t], [r["ratio_p50"] for r in t]
    side = lambda vs: "%.0f [%.0f-%.0f]" % (statistics.median(vs), min(vs), max(vs))
    print("%-26s %-26s %-26s %.2f %-9s [%.2f-%.2f]" % ("%d server%s in turn, us" % (servers, "s" if servers > 1 else ""),
          side(cv), side(nv), statistics.median(rv), "(<= 1)", min(rv), max(rv)))
def idle(peer, topology):
    return statistics.median(statistics.mean(r["idle_rss_kib"]) / 1024 for r in pick(peer, 3, topology).values())
c, n = idle("crc", "chain"), idle("nats", "cluster")
print("%-26s %-26s %-26s %.2f (<= 1)" % ("idle RSS per server", "%.1f MiB" % c, "%.1f MiB" % n, c / n))
PY
rm -f "$out"
