#!/usr/bin/env bash
# Relay benchmark as recorded in the README: a release build with the Swift runtime linked
# statically (what a deployment ships), then crc-bench. Extra arguments go to `crc-bench relay`.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product crc-server >&2
swift build -c release --static-swift-stdlib --product crc-bench >&2
exec .build/release/crc-bench relay "$@"
