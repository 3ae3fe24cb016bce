#!/usr/bin/env bash
# Installs what the integration tests, the benchmarks and the templates' lint need that npm
# does not: BIND 9 (authoritative DNS, RFC 2136, TSIG), dig, dnsperf, hyperfine, Dovecot, and moto
# server + cfn-lint from PyPI. Idempotent; needs root (or sudo) for apt-get.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
need=()
command -v named >/dev/null || need+=(bind9)
command -v named-checkzone >/dev/null || need+=(bind9-utils)
command -v dig >/dev/null || need+=(bind9-dnsutils)
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v hyperfine >/dev/null || need+=(hyperfine)
# The canary's IMAP inbox and LMTP delivery in the integration tests (started as a plain process).
command -v dovecot >/dev/null || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd dovecot-lmtpd)
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
python3 -c 'import moto.server' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check 'moto[server]'
command -v cfn-lint >/dev/null || python3 -m pip install --quiet --disable-pip-version-check cfn-lint
echo "test dependencies ready: $(named -v), moto $(python3 -c 'import moto; print(moto.__version__)')"
