#!/usr/bin/env bash
# Starts and stops throwaway MariaDB, Redis and RabbitMQ servers for the Go
# services' integration tests: loopback only, spare ports, data in one temp
# dir, run as the current user. It stops only what it started (PID files in
# that dir, checked against the process's command line before any signal).
#
#   scripts/stores.sh start [DIR]        start all three; prints DIR (default: a new temp dir)
#   scripts/stores.sh env DIR            print the SHOP_IT_* variables the tests read
#   scripts/stores.sh stop DIR           stop all three and remove DIR
#   scripts/stores.sh stop-one DIR NAME  stop one server (mysql|redis|rabbitmq), keep its data
#   scripts/stores.sh start-one DIR NAME start it again on the same port with the same data
#   scripts/stores.sh status DIR         print which servers are running
#
# Missing packages are installed with scripts/deps.sh stores.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MYSQL_USER_=shop
MYSQL_PASSWORD_=shop-test-pw
MYSQL_DATABASE_=shop
REDIS_PASSWORD_=shop-test-redis
RABBITMQ_USER_=shop
RABBITMQ_PASSWORD_=shop-test-amqp
RABBITMQ_VHOST_=shop
MARKER=.shop-stores

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# free_port: a TCP port on 127.0.0.1 that nothing listens on (not one we already took).
TAKEN=" "
free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    [[ "$TAKEN" == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then TAKEN+="$p "; echo "$p"; return 0; fi
  done
  die "no free port found on 127.0.0.1"
}

# need_free PORT NAME: nothing may listen on the port we are about to use.
need_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "127.0.0.1:$1 for $2 is already taken by another process"
  fi
}

# alive PID: the process exists and is not a zombie.
alive() {
  local state
  state="$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# wait_port PORT SECONDS NAME: until the server we started as NAME accepts TCP
# on 127.0.0.1:PORT; fails at once if it exited (e.g. the port was taken).
wait_port() {
  local port="$1" secs="$2" name="$3" i
  for ((i = 0; i < secs * 5; i++)); do
    if ! alive "$(cat "$DIR/$name/pid")"; then
      # The directory goes with the cleanup: show why here.
      tail -n 15 "$DIR/$name"/*.log "$DIR/$name"/log/*.log 2>/dev/null | sed 's/^/  | /' >&2
      die "$name exited during start (logs in $DIR/$name)"
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  die "$name did not open 127.0.0.1:$port within ${secs}s (logs in $DIR/$name)"
}

# ours NAME: prints the PID from NAME's pid file if that process is alive and is the one we started.
# Redis rewrites its process title to "redis-server 127.0.0.1:PORT", so it is matched by port.
ours() {
  local f="$DIR/$1/pid" pid want="$DIR/$1"
  [[ "$1" == redis ]] && want="127.0.0.1:$REDIS_PORT"
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] && [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$want" || return 1
  echo "$pid"
}

load_ports() { # shellcheck disable=SC1091
  source "$DIR/ports.env"
}

rabbit_env() {
  local d="$DIR/rabbitmq"
  # RUNNING_UNDER_SYSTEMD makes the start script exec the Erlang VM, so our PID is the broker's.
  export HOME="$d/home" RUNNING_UNDER_SYSTEMD=1 \
    RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf" RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log" RABBITMQ_PLUGINS_EXPAND_DIR="$d/plugins-expand" \
    RABBITMQ_PID_FILE="$d/rabbit.pid" RABBITMQ_NODENAME="shop$RABBITMQ_PORT@localhost" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$RABBITMQ_PORT" RABBITMQ_DIST_PORT="$RABBITMQ_DIST_PORT" \
    ERL_EPMD_PORT="$RABBITMQ_EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1
}

start_mysql() {
  local d="$DIR/mysql"
  mkdir -p "$d"
  if [[ ! -d "$d/data/mysql" ]]; then
    mariadb-install-db --no-defaults --datadir="$d/data" --auth-root-authentication-method=normal \
      --skip-test-db --user="$(id -un)" >"$d/install.log" 2>&1 || die "mariadb-install-db failed: see $d/install.log"
  fi
  need_free "$MYSQL_PORT" mysql
  nohup mariadbd --no-defaults --datadir="$d/data" --port="$MYSQL_PORT" --bind-address=127.0.0.1 \
    --socket="$d/mysql.sock" --pid-file="$d/mariadbd.pid" --user="$(id -un)" --skip-name-resolve \
    --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 --max-connections=500 \
    --log-error="$d/error.log" >"$d/stdout.log" 2>&1 &
  echo $! >"$d/pid"
  wait_port "$MYSQL_PORT" 60 mysql
  if [[ ! -f "$d/provisioned" ]]; then
    mariadb --no-defaults -uroot --socket="$d/mysql.sock" <<SQL || die "creating the test database failed"
CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE_\`;
CREATE USER IF NOT EXISTS '$MYSQL_USER_'@'%' IDENTIFIED BY '$MYSQL_PASSWORD_';
GRANT ALL PRIVILEGES ON \`$MYSQL_DATABASE_\`.* TO '$MYSQL_USER_'@'%';
FLUSH PRIVILEGES;
SQL
    touch "$d/provisioned"
  fi
}

start_redis() {
  local d="$DIR/redis"
  mkdir -p "$d"
  need_free "$REDIS_PORT" redis
  nohup redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$d" --requirepass "$REDIS_PASSWORD_" \
    --save "" --appendonly no --daemonize no --pidfile "$d/redis.pid" --logfile "$d/redis.log" >"$d/stdout.log" 2>&1 &
  echo $! >"$d/pid"
  wait_port "$REDIS_PORT" 20 redis
}

start_rabbitmq() {
  local d="$DIR/rabbitmq"
  mkdir -p "$d/home" "$d/mnesia" "$d/log"
  : >"$d/rabbitmq-env.conf"
  echo "[]." >"$d/enabled_plugins"
  cat >"$d/rabbitmq.conf" <<CONF
default_user = $RABBITMQ_USER_
default_pass = $RABBITMQ_PASSWORD_
default_vhost = $RABBITMQ_VHOST_
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
loopback_users = none
disk_free_limit.absolute = 10MB
log.console = false
log.file.level = warning
CONF
  need_free "$RABBITMQ_PORT" rabbitmq
  need_free "$RABBITMQ_DIST_PORT" rabbitmq
  (
    rabbit_env
    cd "$d"
    exec nohup /usr/lib/rabbitmq/bin/rabbitmq-server >"$d/stdout.log" 2>&1
  ) &
  echo $! >"$d/pid"
  wait_port "$RABBITMQ_PORT" 120 rabbitmq
}

# stop_one NAME: SIGTERM the server we started, wait for it, SIGKILL after 30 s.
stop_one() {
  local name="$1" pid i
  if ! pid="$(ours "$name")"; then
    rm -f "$DIR/$name/pid"
    # A broker that died in its start leaves the port mapper it started.
    [[ "$name" == rabbitmq && -f "$DIR/ports.env" ]] && (load_ports; rabbit_env; epmd -kill >/dev/null 2>&1 || true)
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$DIR/$name/pid"
  if [[ "$name" == rabbitmq ]]; then
    # The Erlang port mapper on our private port was started by our node; it goes with it.
    (rabbit_env; epmd -kill >/dev/null 2>&1 || true)
  fi
}

start_named() {
  case "$1" in
    mysql) ours mysql >/dev/null || start_mysql ;;
    redis) ours redis >/dev/null || start_redis ;;
    rabbitmq) ours rabbitmq >/dev/null || start_rabbitmq ;;
    *) die "unknown server '$1' (use mysql|redis|rabbitmq)" ;;
  esac
}

print_env() {
  cat <<ENV
export SHOP_IT=1
export SHOP_IT_STORES_DIR='$DIR'
export SHOP_IT_STORES_SCRIPT='$REPO_ROOT/scripts/stores.sh'
export SHOP_IT_MYSQL_HOST=127.0.0.1
export SHOP_IT_MYSQL_PORT=$MYSQL_PORT
export SHOP_IT_MYSQL_USER=$MYSQL_USER_
export SHOP_IT_MYSQL_PASSWORD=$MYSQL_PASSWORD_
export SHOP_IT_MYSQL_DATABASE=$MYSQL_DATABASE_
export SHOP_IT_REDIS_ADDR=127.0.0.1:$REDIS_PORT
export SHOP_IT_REDIS_PASSWORD=$REDIS_PASSWORD_
export SHOP_IT_RABBITMQ_HOST=127.0.0.1
export SHOP_IT_RABBITMQ_PORT=$RABBITMQ_PORT
export SHOP_IT_RABBITMQ_USER=$RABBITMQ_USER_
export SHOP_IT_RABBITMQ_PASSWORD=$RABBITMQ_PASSWORD_
export SHOP_IT_RABBITMQ_VHOST=$RABBITMQ_VHOST_
ENV
}

need_dir() {
  [[ -n "${DIR:-}" ]] || usage
  [[ -f "$DIR/$MARKER" ]] || die "$DIR was not made by scripts/stores.sh start (no $MARKER)"
  DIR="$(cd "$DIR" && pwd)"
  load_ports
}

cmd="${1:-}"; DIR="${2:-}"
case "$cmd" in
  start)
    "$(dirname "${BASH_SOURCE[0]}")/deps.sh" stores
    if [[ -z "$DIR" ]]; then DIR="$(mktemp -d "${TMPDIR:-/tmp}/shop-stores.XXXXXX")"; fi
    mkdir -p "$DIR"; DIR="$(cd "$DIR" && pwd)"
    touch "$DIR/$MARKER"
    if [[ ! -f "$DIR/ports.env" ]]; then
      MYSQL_PORT=$(free_port); REDIS_PORT=$(free_port); RABBITMQ_PORT=$(free_port)
      RABBITMQ_DIST_PORT=$(free_port); RABBITMQ_EPMD_PORT=$(free_port)
      printf 'MYSQL_PORT=%s\nREDIS_PORT=%s\nRABBITMQ_PORT=%s\nRABBITMQ_DIST_PORT=%s\nRABBITMQ_EPMD_PORT=%s\n' \
        "$MYSQL_PORT" "$REDIS_PORT" "$RABBITMQ_PORT" "$RABBITMQ_DIST_PORT" "$RABBITMQ_EPMD_PORT" >"$DIR/ports.env"
    fi
    load_ports
    started=0
    # On any failure (die exits), stop whatever this call started.
    trap 'if ((started == 0)); then log "start failed; stopping what was started"; for n in rabbitmq redis mysql; do stop_one $n; done; fi' EXIT
    log "starting redis on 127.0.0.1:$REDIS_PORT"; start_named redis
    log "starting rabbitmq on 127.0.0.1:$RABBITMQ_PORT (node shop$RABBITMQ_PORT@localhost)"
    # RabbitMQ boots slowly; MariaDB starts meanwhile.
    start_named rabbitmq &
    rabbit_wait=$!
    log "starting mariadb on 127.0.0.1:$MYSQL_PORT"; start_named mysql
    wait "$rabbit_wait" || die "rabbitmq did not start (logs in $DIR/rabbitmq)"
    started=1
    print_env >"$DIR/stores.env"
    log "stores ready; variables in $DIR/stores.env"
    echo "$DIR"
    ;;
  env) need_dir; print_env ;;
  stop)
    need_dir
    for n in rabbitmq redis mysql; do stop_one "$n"; done
    rm -rf "$DIR"
    log "stores stopped"
    ;;
  stop-one) need_dir; [[ -n "${3:-}" ]] || usage; case "$3" in mysql|redis|rabbitmq) stop_one "$3" ;; *) die "unknown server '$3' (use mysql|redis|rabbitmq)" ;; esac ;;
  start-one) need_dir; [[ -n "${3:-}" ]] || usage; start_named "$3" ;;
  status)
    need_dir
    for n in mysql redis rabbitmq; do
      if pid="$(ours "$n")"; then echo "$n running (pid $pid)"; else echo "$n stopped"; fi
    done
    ;;
  *) usage ;;
esac
