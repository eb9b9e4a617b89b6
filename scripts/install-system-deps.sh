#!/usr/bin/env bash
# System packages the project needs beyond Python, from Debian's registry: Prometheus (prometheus and
# promtool, for the monitoring tests), docker-compose (to validate docker-compose.yml; no engine runs
# here), Chromium (the officers' web page tests drive it headless) and wrk (the HTTP load generator of the
# benchmarks). Idempotent: installs nothing when the commands are already on PATH.
set -euo pipefail
missing=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
# The daemons these packages register are not needed: tests start their own on loopback.
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
for tool in prometheus promtool docker-compose chromium wrk; do command -v "$tool" >/dev/null; done
