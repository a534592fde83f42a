#!/usr/bin/env bash
# How long grading a class takes (issue 17's target: 100 submissions in under 15 minutes on 2
# cores). A release build, then: one submission on every built-in scenario, and a batch of N
# copies (default 30) of the test fixtures' course-style class — two of every three correct, the
# third with a planted fault — all at --jobs JOBS (default 12, as grade uses for a class). Prints each time, the time per
# submission, and what a class of 100 would take at that rate.
#   scripts/bench-grading.sh [N=30] [JOBS=4]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-30}; jobs=${2:-12}
swift build -c release --static-swift-stdlib --product crc-cluster >&2
bin=$PWD/.build/release/crc-cluster
fixture=$PWD/Tests/Fixtures/course_class
work=$(mktemp -d /tmp/crc-bench-grading.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/one" "$work/class"
cp "$fixture/ChatServer.py" "$fixture/ChatMessageParser.py" "$work/one/"
for i in $(seq -w 1 "$n"); do
  d="$work/class/student$i"; mkdir -p "$d"
  if [ $((10#$i % 3)) -eq 0 ]; then
    # The planted fault: adjacent users are never listed (and so never welcomed with the others).
    sed 's/            self.adjacent_user_ids.append(m.source_id)//' "$fixture/ChatServer.py" > "$d/ChatServer.py"
  else
    cp "$fixture/ChatServer.py" "$d/"
  fi
  cp "$fixture/ChatMessageParser.py" "$d/"
done
cd "$work"
t0=$(date +%s.%N)
"$bin" grade --course-python one --jobs "$jobs" --logs "$work/logs-one" > one.txt 2>&1 || true
t1=$(date +%s.%N)
"$bin" grade --course-python class/*/ --jobs "$jobs" --logs "$work/logs-class" > class.txt 2>&1 || true
t2=$(date +%s.%N)
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v n="$n" -v jobs="$jobs" -v one="$(grep '^score:' one.txt)" -v batch="$(grep '^score:' class.txt)" 'BEGIN {
  printf "one submission: %s   [%.1f s]\n", one, t1 - t0
  printf "a batch of %d at --jobs %d:  %s   [%.1f s, %.2f s a submission]\n", n, jobs, batch, t2 - t1, (t2 - t1) / n
  printf "a class of 100 at that rate: %.1f minutes (target: under 15)\n", (t2 - t1) / n * 100 / 60
}'
