#!/usr/bin/env bash
# Runs the ngobrol server (release build) against RabbitMQ on this machine,
# starting or installing RabbitMQ first when it is not running. Arguments
# are passed to ngobrol-server; see `scripts/run-server.sh --help`. With
# --isolated (or NGOBROL_ISOLATED=true) it first sets the broker up for
# isolated mode (plugins and configuration), saying what it changes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-services.sh rabbitmq
# Isolated mode needs the broker's HTTP auth backend pointed at the server.
isolated=${NGOBROL_ISOLATED:-false}
for arg in "$@"; do
  case "$arg" in --isolated|--isolated=true) isolated=true ;; esac
done
case "$isolated" in
  true|1|yes|on) scripts/ensure-services.sh isolation ;;
esac
exec cargo run --release --quiet -p ngobrol-server -- "$@"
