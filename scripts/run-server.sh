#!/usr/bin/env bash
# Runs the ngobrol server (release build) against RabbitMQ on this machine,
# starting or installing RabbitMQ first when it is not running. Arguments
# are passed to ngobrol-server; see `scripts/run-server.sh --help`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-services.sh rabbitmq
exec cargo run --release --quiet -p ngobrol-server -- "$@"
