#!/usr/bin/env bash
# Makes sure the services ngobrol needs are running on this machine,
# installing them with apt-get when they are absent.
#
#   scripts/ensure-services.sh rabbitmq            # the broker only
#   scripts/ensure-services.sh rabbitmq postgres   # and PostgreSQL (for tests)
#   scripts/ensure-services.sh mariadb             # MariaDB (import tests)
#   scripts/ensure-services.sh rabbitmq isolation  # the broker, for isolated mode
#
# Only loopback addresses are used. A service that is already listening is
# left alone.
set -euo pipefail

log() { printf 'ensure-services: %s\n' "$*" >&2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
  local port=$1 name=$2 seconds=${3:-90}
  for _ in $(seq "$seconds"); do
    listening "$port" && return 0
    sleep 1
  done
  log "$name did not start listening on 127.0.0.1:$port within ${seconds}s"
  return 1
}

apt_updated=false
apt_install() {
  if ! $apt_updated; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=true
  fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The broker refuses messages over 1 MiB before they reach anyone (its own
# default is 128 MiB); the server refuses requests over its
# --max-body-bytes (512 KiB) unread. Added to the broker's configuration
# when it starts from here and the setting is not there yet.
configure_rabbitmq() {
  local conf=/etc/rabbitmq/rabbitmq.conf
  mkdir -p /etc/rabbitmq
  if ! grep -qs '^max_message_size' "$conf"; then
    log "setting max_message_size = 1048576 in $conf"
    printf '# ngobrol: the largest message the broker takes.\nmax_message_size = 1048576\n' >> "$conf"
  fi
}

ensure_rabbitmq() {
  if listening 5672; then return 0; fi
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    apt_install rabbitmq-server
    # The package may start a node through its init scripts.
    listening 5672 && return 0
  fi
  configure_rabbitmq
  log "starting RabbitMQ"
  rabbitmq-server -detached
  wait_for_port 5672 RabbitMQ
  rabbitmqctl await_startup >/dev/null 2>&1 || true
}

ensure_postgres() {
  if listening 5432; then return 0; fi
  local installed_here=false
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
    installed_here=true
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if $installed_here; then
    # A fresh cluster asks for passwords over TCP; the tests connect to
    # 127.0.0.1 as postgres without one, so trust loopback connections.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for_port 5432 PostgreSQL
  if ! psql "postgres://postgres@127.0.0.1:5432/postgres" -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
    psql "postgres://postgres@127.0.0.1:5432/postgres" -qc "CREATE DATABASE test"
  fi
}

# MariaDB, for the tests of importing an original deployment: they
# connect as root without a password over 127.0.0.1.
ensure_mariadb() {
  if listening 3306; then return 0; fi
  if ! command -v mariadbd >/dev/null 2>&1 && ! command -v mysqld >/dev/null 2>&1; then
    apt_install mariadb-server
    listening 3306 && return 0
  fi
  log "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  (mysqld_safe --bind-address=127.0.0.1 >/dev/null 2>&1 &)
  wait_for_port 3306 MariaDB
  mysql -uroot -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" 2>/dev/null || true
}

# Isolated mode: the broker asks ngobrol-server (its HTTP listener,
# NGOBROL_HTTP_ADDR or 127.0.0.1:9680) who may do what. Enables the HTTP
# auth backend and its cache, and writes their settings into the broker's
# configuration when they are not there; a broker that was running
# restarts to read them. Honours RABBITMQ_CONFIG_FILE (without .conf) and
# RABBITMQ_NODENAME, as RabbitMQ's own tools do.
ensure_isolation() {
  local conf="${RABBITMQ_CONFIG_FILE:-/etc/rabbitmq/rabbitmq}.conf"
  local http="${NGOBROL_HTTP_ADDR:-127.0.0.1:9680}"
  local changed=false
  if ! rabbitmq-plugins list -e -m 2>/dev/null | grep -qx rabbitmq_auth_backend_http ||
     ! rabbitmq-plugins list -e -m 2>/dev/null | grep -qx rabbitmq_auth_backend_cache; then
    log "enabling the RabbitMQ plugins rabbitmq_auth_backend_http and rabbitmq_auth_backend_cache"
    rabbitmq-plugins enable rabbitmq_auth_backend_http rabbitmq_auth_backend_cache >/dev/null
  fi
  if ! grep -qs '^auth_backends\.' "$conf"; then
    log "writing isolated mode's auth backend settings into $conf (the broker asks http://$http/auth/…)"
    mkdir -p "$(dirname "$conf")"
    cat >> "$conf" <<CONF
# ngobrol isolated mode: the broker's own users first (the server's),
# then ngobrol-server decides, its answers cached for 5 s.
auth_backends.1 = internal
auth_backends.2 = cache
auth_cache.cached_backend = http
auth_cache.cache_ttl = 5000
auth_http.http_method = post
auth_http.user_path = http://$http/auth/user
auth_http.vhost_path = http://$http/auth/vhost
auth_http.resource_path = http://$http/auth/resource
auth_http.topic_path = http://$http/auth/topic
CONF
    changed=true
  fi
  if $changed && listening "${RABBITMQ_NODE_PORT:-5672}"; then
    log "restarting RabbitMQ to read its new configuration"
    rabbitmqctl stop >/dev/null
    for _ in $(seq 60); do listening "${RABBITMQ_NODE_PORT:-5672}" || break; sleep 1; done
    rabbitmq-server -detached
    wait_for_port "${RABBITMQ_NODE_PORT:-5672}" RabbitMQ
    rabbitmqctl await_startup >/dev/null 2>&1 || true
  fi
}

[ $# -gt 0 ] || set -- rabbitmq
for service in "$@"; do
  case "$service" in
    rabbitmq) ensure_rabbitmq ;;
    postgres) ensure_postgres ;;
    mariadb) ensure_mariadb ;;
    isolation) ensure_isolation ;;
    *) log "unknown service $service"; exit 2 ;;
  esac
done
