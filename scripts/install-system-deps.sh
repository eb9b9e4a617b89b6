#!/usr/bin/env bash
# System packages the project needs beyond Python, from Debian's registry: Prometheus (prometheus and
# promtool, for the monitoring tests) and docker-compose (to validate docker-compose.yml; no engine runs
# here). Idempotent: installs nothing when the commands are already on PATH.
set -euo pipefail
missing=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# The daemons these packages register are not needed: tests start their own on loopback.
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
command -v prometheus >/dev/null && command -v promtool >/dev/null && command -v docker-compose >/dev/null
