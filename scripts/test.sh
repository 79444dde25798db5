#!/usr/bin/env bash
# Runs the whole test suite: unit tests, the store against SQLite and
# PostgreSQL, the server, SDK and CLI over the real RabbitMQ (the server's
# suites twice: on a SQLite store, then on PostgreSQL), and every example
# (examples/tests/examples.rs). Starts (or installs) RabbitMQ, PostgreSQL
# and MariaDB (for the import of an original deployment) first when they
# are not running.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-services.sh rabbitmq postgres mariadb

# Test namespaces are t<32 hex digits>; should a test die before its
# clean-up, the broker drops its idle queues after an hour.
rabbitmqctl set_policy --apply-to queues ngobrol-test-leftovers \
  '^t[0-9a-f]{32}($|_|[.])' '{"expires": 3600000}' >/dev/null 2>&1 || true

# The benchmarks are not tests, but they must keep building.
cargo build --locked -p ngobrol-benches --benches --bins

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Every test binary runs even when one fails, so one run shows them all.
status=0
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log" || status=$?
# The server's own suites once more with the store on PostgreSQL (a fresh
# schema per test server; the binaries are those just built).
NGOBROL_TEST_STORE=postgres cargo test --locked --no-fail-fast -p ngobrol-amqp \
  --test protocol --test reliability --test sessions --test security --test hardening --test pipeline \
  2>&1 | tee -a "$log" || status=$?
# The original client's protocol and the SDK's again, each test server
# being three servers on one store and namespace.
NGOBROL_TEST_SERVERS=3 cargo test --locked --no-fail-fast -p ngobrol-amqp \
  --test protocol --test sessions --test bad_input --test sdk \
  2>&1 | tee -a "$log" || status=$?

read -r passed failed < <(awk '/^test result:/ {
  for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
} END { print p + 0, f + 0 }' "$log")
echo "ngobrol: $passed passed, $failed failed"
exit "$status"
