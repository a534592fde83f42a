#!/usr/bin/env bash
# The relay benchmark as recorded in the README: release builds with the Swift runtime linked
# statically (what a deployment ships), then crc-bench.
#
#   scripts/bench.sh                 side by side with nats-server (installed when missing): 1 and 3
#                                    servers, ROUNDS alternating rounds (default 5), medians and ratios,
#                                    each configuration in runs of its own, driven by two generators:
#                                    crc-bench's client (its latency client asleep in poll between
#                                    round trips, as people's clients are, and back to back) and a
#                                    plain Python client (scripts/pyload.py); at 3 servers NATS runs
#                                    twice: as a cluster (meshed routes, the target's peer) and as a
#                                    chain of leaf nodes (the same hops as a crc-server chain); idle
#                                    memory of the static and the default (dynamic) build against a
#                                    standalone and a clustered nats-server
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
rounds=${ROUNDS:-5}
# Memory the way users run it: the default `swift build -c release` (Swift runtime linked
# dynamically) beside the static build measured above; built once, in a build folder of its own.
swift build -c release --product crc-server --build-path .build/dynamic >&2
out=$(mktemp)
for round in $(seq 1 "$rounds"); do
  for servers in 1 3; do
    for peer in crc nats nats-chain; do
      [ "$peer" = nats-chain ] && [ "$servers" = 1 ] && continue
      case $peer in
        nats-chain) args=(--peer nats --nats-topology chain) ;;
        *) args=(--peer "$peer") ;;
      esac
      # Two generators, each in runs of its own: crc-bench's client (its latency client asleep in
      # poll for 1 ms between round trips, and back to back), and a plain Python client.
      echo "bench: round $round/$rounds, $peer, $servers server(s), crc-bench's client" >&2
      .build/release/crc-bench relay "${args[@]}" --servers "$servers" --messages 1000000 --runs 3 --pings 5000 --json \
        | sed "s/^{/{\"round\": $round, /" >> "$out"
      echo "bench: round $round/$rounds, $peer, $servers server(s), the Python client" >&2
      .build/release/crc-bench relay "${args[@]}" --servers "$servers" --messages 300000 --runs 3 --pings 3000 --generator python --json \
        | sed "s/^{/{\"round\": $round, /" >> "$out"
    done
  done
  echo "bench: round $round/$rounds, idle memory of the default (dynamic) build" >&2
  .build/release/crc-bench relay --peer crc --bin-dir .build/dynamic/release --servers 3 --messages 100000 --runs 1 --pings 100 --json \
    | sed "s/^{/{\"round\": $round, \"build\": \"dynamic\", /" >> "$out"
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
dynamic = [r for r in rows if r.get("build") == "dynamic"]
rows = [r for r in rows if r.get("build") != "dynamic"]
rounds = sorted({r["round"] for r in rows})
def pick(peer, servers, topology, generator):
    return {r["round"]: r for r in rows if r["peer"] == peer and r["servers"] == servers and r.get("topology") == topology
            and r.get("generator", "bench") == generator}
def line(label, servers, key, nats_topology, fmt, scale, target, generator):
    c, n = pick("crc", servers, "chain", generator), pick("nats", servers, nats_topology, generator)
    both = [i for i in rounds if i in c and i in n]
    cv, nv = [c[i][key] / scale for i in both], [n[i][key] / scale for i in both]
    per_round = [c[i][key] / n[i][key] for i in both]
    cm, nm = statistics.median(cv), statistics.median(nv)
    side = lambda m, vs: (fmt + " [" + fmt + "-" + fmt + "]") % (m, min(vs), max(vs))
    print("%-30s %-24s %-24s %.2f %-9s [%.2f-%.2f]" % (label, side(cm, cv), side(nm, nv), statistics.median(per_round), target,
                                                      min(per_round), max(per_round)))
print("crc-server against nats-server, 32-byte messages, separate runs, %d alternating rounds: medians [range over the rounds];" % len(rounds))
print("the ratio is the median of the rounds' ratios")
print("%-30s %-24s %-24s %s" % ("", "crc-server", "nats-server", "ratio (target) [per round]"))
for generator, title in (("bench", "crc-bench's client"), ("python", "the Python client (scripts/pyload.py)")):
    print("-- " + title)
    for servers in (1, 3):
        s = "%d server%s " % (servers, "s" if servers > 1 else "")
        line(s + "throughput M/s", servers, "rate_median", "cluster", "%.2f", 1e6, "(>= 1.25)" if servers == 3 else "", generator)
        line(s + "latency p50 us, asleep", servers, "latency_p50_us", "cluster", "%.0f", 1, "(<= 1)", generator)
        if generator == "bench":
            line(s + "latency p50 us, back to back", servers, "latency_b2b_p50_us", "cluster", "%.0f", 1, "", generator)
print("-- NATS as a chain of 3 leaf nodes (the same hops as the crc-server chain; no target), crc-bench's client")
line("3 servers throughput M/s", 3, "rate_median", "chain", "%.2f", 1e6, "", "bench")
line("3 servers latency p50 us, asleep", 3, "latency_p50_us", "chain", "%.0f", 1, "", "bench")
def idle(rs):
    return statistics.median(statistics.mean(r["idle_rss_kib"]) / 1024 for r in rs)
static = idle(pick("crc", 3, "chain", "bench").values())
dyn = idle(dynamic)
cluster = idle(pick("nats", 3, "cluster", "bench").values())
alone = idle(pick("nats", 1, "cluster", "bench").values())
print("-- idle resident memory per server (after the runs)")
print("%-30s %-24s %-24s %s" % ("", "crc-server", "nats-server", "ratio (<= 1)"))
for label, c in (("static build", static), ("default build (dynamic)", dyn)):
    print("%-30s %-24s %-24s %.2f" % (label + " vs a 3-node cluster", "%.1f MiB" % c, "%.1f MiB" % cluster, c / cluster))
    print("%-30s %-24s %-24s %.2f" % (label + " vs standalone", "%.1f MiB" % c, "%.1f MiB" % alone, c / alone))
cpu = [x for r in rows if r["peer"] == "crc" for x in r.get("idle_cpu_percent", [])]
print("idle CPU of crc-server over 1 s after the runs: max %.1f %% over %d servers" % (max(cpu), len(cpu)))
PY
rm -f "$out"
