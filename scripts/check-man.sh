#!/usr/bin/env bash
# Checks the man pages `make man` generated: one page for each executable and for each of its
# subcommands (as --experimental-dump-help lists them, recursively), each free of mandoc errors and
# naming its command in NAME. Usage: scripts/check-man.sh [BIN_DIR=.build/debug]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug}
out=.build/plugins/GenerateManual/outputs
command -v mandoc >/dev/null || { echo "check-man: mandoc is missing (scripts/deps.sh test installs it)" >&2; exit 1; }
pages=0
for tool in crc-cluster crc-server crc-client crc-bench; do
  # Every command path of the tool: "crc-cluster", "crc-cluster.up", "crc-cluster.scenarios.export"...
  names=$("$bin/$tool" --experimental-dump-help | python3 -c '
import json, sys
def walk(c, prefix):
    name = prefix + [c["commandName"]]
    yield ".".join(name)
    for s in c.get("subcommands", []):
        yield from walk(s, name)
print("\n".join(walk(json.load(sys.stdin)["command"], [])))')
  for name in $names; do
    page="$out/$tool/$name.1"
    [ -f "$page" ] || { echo "check-man: no page $page" >&2; exit 1; }
    mandoc -T lint -W error "$page" || { echo "check-man: $page has errors" >&2; exit 1; }
    title=$(echo "$name" | tr '.' ' ')
    # Rendered whole first: grep -q stops reading early, and under pipefail the SIGPIPE of the
    # writer would read as a failure.
    text=$(mandoc -T ascii "$page" | sed 's/.\x08//g')
    case "$text" in *"$title"*) ;; *) echo "check-man: $page does not name '$title'" >&2; exit 1;; esac
    pages=$((pages + 1))
  done
done
echo "check-man: $pages man pages, one per command, all well-formed"
