#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of the frame parser and the server core, for a bounded time.
#
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]     (default: 60 seconds)
#
# Builds the crc-fuzz target with -sanitize=fuzzer and AddressSanitizer into .build/fuzz (apart
# from the normal build), seeds the corpus with one valid frame of every message type, runs for
# SECONDS, and exits non-zero if libFuzzer found a crash, a hang or a leak; the input that
# triggered it is saved as Fuzz/artifacts/crash-*, replayable with:
#   .build/fuzz/debug/crc-fuzz Fuzz/artifacts/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true

echo "fuzz: building crc-fuzz with -sanitize=fuzzer,address (first build takes a few minutes)" >&2
# SwiftPM's --sanitize=fuzzer alone left the Swift modules without coverage instrumentation (the
# fuzzer saw ~500 counters and never grew its corpus): -Xswiftc passes it to every module, so the
# parser and the core are instrumented (~150,000 counters).
swift build --scratch-path .build/fuzz --product crc-fuzz \
  --sanitize=fuzzer --sanitize=address -Xswiftc -DCRC_FUZZ -Xswiftc -sanitize=fuzzer,address >&2

corpus=.build/fuzz/corpus
mkdir -p "$corpus" Fuzz/artifacts
cp Fuzz/seeds/* "$corpus"/ 2>/dev/null || true

echo "fuzz: running for ${seconds} s (corpus $corpus, crashes to Fuzz/artifacts/)" >&2
# -rss_limit_mb: a run that grows past 2 GiB is a finding (unbounded memory).
# -timeout: one input taking more than 10 s is a finding (a hang).
.build/fuzz/debug/crc-fuzz "$corpus" \
  -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=70000 \
  -artifact_prefix=Fuzz/artifacts/ -print_final_stats=1 "$@"
