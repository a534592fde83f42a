#!/usr/bin/env bash
# Installs what this project needs and a fresh Debian machine with Swift lacks, and nothing that
# is already there. `make up` / `make build` ask for `build`; `make test` and CI ask for `test`.
#
#   scripts/deps.sh build   the C libraries the package links: libyaml-dev (CYaml) and
#                           libedit-dev (CEditLine: line editing at a terminal), with pkg-config,
#                           and make (for the Makefile that calls this)
#   scripts/deps.sh test    the above, and what the tests drive: python3 with a venv holding
#                           jsonschema and PyYAML (schema checks) and kubernetes-validate
#                           (render --to kubernetes), graphviz (graph --format svg), chromium
#                           (the report opened in a headless browser), script (a pseudo-terminal
#                           for the client's terminal test), setpriv and ip (util-linux, iproute2),
#                           mandoc (scripts/check-man.sh reads the generated man pages)
#
# Debian packages come from apt-get (as root, or through sudo when it exists); Python packages go
# into /opt/crc-venv (CRC_VENV overrides it) so the system's Python is left alone.
set -euo pipefail
level=${1:-build}
case "$level" in build|test) ;; *) echo "usage: scripts/deps.sh build|test" >&2; exit 2;; esac

venv=${CRC_VENV:-/opt/crc-venv}
missing=()
need() { # need PACKAGE CHECK-COMMAND...: queue PACKAGE when the check fails
  local package=$1; shift
  if ! "$@" >/dev/null 2>&1; then missing+=("$package"); fi
}

need make command -v make
need pkg-config command -v pkg-config
need libyaml-dev pkg-config --exists yaml-0.1
need libedit-dev pkg-config --exists libedit
if [ "$level" = test ]; then
  need python3 command -v python3
  need python3-venv python3 -c 'import ensurepip, venv'
  need graphviz command -v dot
  need bsdutils command -v script
  need util-linux command -v setpriv
  need iproute2 command -v ip
  need mandoc command -v mandoc
  if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    missing+=(chromium)
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=sudo
    else
      echo "deps: missing ${missing[*]}; run as root, or: apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "deps: installing ${missing[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >&2
fi

if [ "$level" = test ]; then
  if [ ! -x "$venv/bin/python" ] \
     || ! "$venv/bin/python" -c 'import jsonschema, yaml, websocket' >/dev/null 2>&1 \
     || [ ! -x "$venv/bin/kubernetes-validate" ]; then
    echo "deps: installing jsonschema, PyYAML, kubernetes-validate and websocket-client into $venv (pip)" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q jsonschema==4.23.0 PyYAML==6.0.2 kubernetes-validate==1.37.0 websocket-client==1.9.2 >&2
  fi
fi
