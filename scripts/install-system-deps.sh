#!/usr/bin/env bash
# System packages the project needs beyond Python, from Debian's registry: Prometheus (prometheus and
# promtool, for the monitoring tests), docker-compose (to validate docker-compose.yml; no engine runs
# here), Chromium (the officers' web page tests drive it headless) and wrk (the HTTP load generator of the
# benchmarks), and a Java 17 runtime for PySpark 4 (`--engine spark`, tests/spark). Idempotent: installs
# nothing when the commands are already on PATH (for Java: a `java` of version 17 or newer).
# Java is pinned by package name to the 17 LTS line: Debian's security archive serves only its latest
# update, so an exact version pin would stop installing the day that update is superseded.
set -euo pipefail
java_major() { java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
missing=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v java >/dev/null 2>&1 && [ "$(java_major)" -ge 17 ] 2>/dev/null || missing+=(openjdk-17-jre-headless)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
# The daemons these packages register are not needed: tests start their own on loopback.
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
for tool in prometheus promtool docker-compose chromium wrk java; do command -v "$tool" >/dev/null; done
