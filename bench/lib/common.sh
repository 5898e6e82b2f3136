#!/usr/bin/env bash
# Shared by bench/gateway.sh, bench/product-cache.sh and bench/orders.sh:
# builds the services' static binaries, starts the stores with
# scripts/stores.sh and the services as child processes on spare 127.0.0.1
# ports, and on exit stops exactly the processes it started (by PID).
# Source it; BENCH_KEEP=1 keeps the temp dir (logs, profiles) after the run.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/shop-bench.XXXXXX")"
BIN="$BENCH_TMP/bin"
# The repo's tool cache (scripts/lib.sh sets the same defaults): prebuilt tools in $SHOP_BIN are only read;
# binaries the benches build themselves (peers measured side by side) are kept in $BENCH_BIN_CACHE.
SHOP_CACHE="${SHOP_CACHE:-$HOME/.cache/shop-platform}"
SHOP_BIN="$SHOP_CACHE/bin"
BENCH_BIN_CACHE="$SHOP_CACHE/bench-bin"
STORES_DIR=""
BENCH_PIDS=()
BENCH_NAMES=()
# Shared secrets of this throwaway run (never used outside it).
BENCH_JWT_SECRET="$(openssl rand -hex 32)"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# stop_pid PID NAME: SIGTERM one process we started, SIGKILL after 15 s.
stop_pid() {
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$2 (pid $pid) ignored SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
    stop_pid "${BENCH_PIDS[$i]}" "${BENCH_NAMES[$i]}"
  done
  if [[ -n "$STORES_DIR" && -d "$STORES_DIR" ]]; then
    "$REPO_ROOT/scripts/stores.sh" stop "$STORES_DIR" >/dev/null 2>&1 || log "stopping the stores failed (dir $STORES_DIR)"
  fi
  if [[ "${BENCH_KEEP:-0}" == 1 || $rc -ne 0 ]]; then
    log "logs kept in $BENCH_TMP"
  else
    rm -rf "$BENCH_TMP"
  fi
  exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# free_port: a TCP port on 127.0.0.1 that nothing listens on and we have not handed out,
# taken below the kernel's ephemeral range so no outgoing connection can hold it meanwhile.
TAKEN_PORTS=" "
EPHEMERAL_LOW="$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
free_port() {
  local p i lo=$((EPHEMERAL_LOW > 12000 ? EPHEMERAL_LOW - 10000 : 2000))
  for i in $(seq 1 200); do
    p=$((lo + RANDOM % 10000))
    [[ "$TAKEN_PORTS" == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then TAKEN_PORTS+="$p "; echo "$p"; return 0; fi
  done
  die "no free port found on 127.0.0.1"
}

# need_tools: wrk and nginx from Debian (scripts/deps.sh installs them when missing).
need_tools() {
  command -v wrk >/dev/null && command -v nginx >/dev/null || "$REPO_ROOT/scripts/deps.sh" bench
  command -v jq >/dev/null || die "jq is required"
}

# build SVC...: static binaries of the named services into $BIN.
build() {
  mkdir -p "$BIN"
  local pkgs=() s
  for s in "$@"; do pkgs+=("./cmd/$s"); done
  log "building ${*} (CGO_ENABLED=0)"
  (cd "$REPO_ROOT/services" && CGO_ENABLED=0 go build -trimpath -o "$BIN/" "${pkgs[@]}")
}

# go_tool NAME MODULE/PKG VERSION: prints the path of NAME built with `go install PKG@VERSION` into
# $BENCH_BIN_CACHE/NAME-VERSION/ (from the Go module proxy), building it only when it is not there yet.
go_tool() {
  local name="$1" pkg="$2" version="$3" dir="$BENCH_BIN_CACHE/$1-$3"
  if [[ ! -x "$dir/$name" ]]; then
    log "building $name $version (go install $pkg@$version into $dir; once)"
    mkdir -p "$dir"
    GOBIN="$dir" CGO_ENABLED=0 go install "$pkg@$version" >&2 || return 1
  fi
  echo "$dir/$name"
}

# build_loadgen: the fixed-rate / orders load generator (bench/loadgen, its own module).
build_loadgen() {
  mkdir -p "$BIN"
  (cd "$BENCH_DIR/loadgen" && CGO_ENABLED=0 go build -trimpath -o "$BIN/loadgen" .)
}

# start_stores: MariaDB, Redis, RabbitMQ on spare ports; exports SHOP_IT_* (see scripts/stores.sh).
start_stores() {
  STORES_DIR="$BENCH_TMP/stores"
  log "starting MariaDB, Redis and RabbitMQ (scripts/stores.sh)"
  # One retry: on a shared machine a server now and then dies while booting (stores.sh stops the rest).
  if ! "$REPO_ROOT/scripts/stores.sh" start "$STORES_DIR" >/dev/null; then
    log "the stores failed to start; trying once more"
    rm -rf "$STORES_DIR"
    "$REPO_ROOT/scripts/stores.sh" start "$STORES_DIR" >/dev/null || die "the stores did not start (scripts/stores.sh)"
  fi
  # shellcheck disable=SC1091
  source "$STORES_DIR/stores.env"
}

# mysql_env: the MYSQL_* variables of a service, as env assignments.
mysql_env() {
  echo "MYSQL_HOST=$SHOP_IT_MYSQL_HOST" "MYSQL_PORT=$SHOP_IT_MYSQL_PORT" "MYSQL_USER=$SHOP_IT_MYSQL_USER" \
    "MYSQL_PASSWORD=$SHOP_IT_MYSQL_PASSWORD" "MYSQL_DATABASE=$SHOP_IT_MYSQL_DATABASE"
}

# sql QUERY: runs QUERY against the stores' MariaDB and prints tab-separated rows.
sql() {
  mariadb --no-defaults -N -B -h "$SHOP_IT_MYSQL_HOST" -P "$SHOP_IT_MYSQL_PORT" -u "$SHOP_IT_MYSQL_USER" \
    -p"$SHOP_IT_MYSQL_PASSWORD" "$SHOP_IT_MYSQL_DATABASE" -e "$1"
}

# start NAME VAR=VALUE... -- CMD ARGS...: runs CMD with the variables in the
# background (output in $BENCH_TMP/NAME.log) and remembers its PID.
start() {
  local name="$1"; shift
  local vars=()
  while [[ $# -gt 0 && "$1" != -- ]]; do vars+=("$1"); shift; done
  shift
  env "${vars[@]}" "$@" >"$BENCH_TMP/$name.log" 2>&1 &
  BENCH_PIDS+=("$!"); BENCH_NAMES+=("$name")
  eval "PID_${name//-/_}=$!"
}

# stop NAME: stops one process started with start.
stop() {
  local i
  for i in "${!BENCH_NAMES[@]}"; do
    if [[ "${BENCH_NAMES[$i]}" == "$1" ]]; then stop_pid "${BENCH_PIDS[$i]}" "$1"; fi
  done
}

# service NAME PORT VAR=VALUE...: starts a shop service binary on 127.0.0.1:PORT.
service() {
  local name="$1" port="$2"; shift 2
  start "$name" HTTP_ADDR="127.0.0.1:$port" LOG_LEVEL=info SHUTDOWN_DRAIN=0s SHUTDOWN_TIMEOUT=10s "$@" -- "$BIN/${BIN_OF[$name]:-$name}"
}
declare -A BIN_OF=()

# wait_ready NAME URL SECONDS: until URL answers 200 (fails at once if NAME exited).
wait_ready() {
  local name="$1" url="$2" secs="$3" pidvar="PID_${1//-/_}" i
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "${!pidvar}" 2>/dev/null || { tail -n 20 "$BENCH_TMP/$name.log" >&2; die "$name exited during start"; }
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" == 200 ]] && return 0
    sleep 0.1
  done
  tail -n 20 "$BENCH_TMP/$name.log" >&2
  die "$name not ready at $url within ${secs}s"
}

# create_product BASE NAME STOCK: creates a product through the product service, prints its id.
create_product() {
  curl -sf -X POST -H 'Content-Type: application/json' \
    -d "{\"name\":\"$2\",\"description\":\"bench product\",\"price_cents\":1999,\"stock\":$3}" \
    "$1/api/products" | jq -er .id
}

# user_token BASE EMAIL: registers EMAIL at the user service and prints a login token.
user_token() {
  curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d "{\"email\":\"$2\",\"password\":\"bench-password\",\"name\":\"bench\"}" "$1/api/users/register" ||
    die "registering $2 failed"
  curl -sf -X POST -H 'Content-Type: application/json' \
    -d "{\"email\":\"$2\",\"password\":\"bench-password\"}" "$1/api/users/login" | jq -er .token
}

# wrk_run LABEL ARGS...: runs wrk with report.lua; prints its output to stderr
# and sets R_<key> variables from the RESULT line. Any socket error or non-2xx fails the run.
wrk_run() {
  local label="$1"; shift
  local out
  out="$(wrk --timeout 5s -s "$BENCH_DIR/lib/report.lua" "$@")" || die "wrk failed for $label"
  printf '%s\n' "$out" | sed "s/^/  [$label] /" >&2
  parse_result "$(printf '%s\n' "$out" | grep '^RESULT ')"
  local bad=$((R_connect_err + R_read_err + R_write_err + R_timeouts + R_non2xx))
  ((bad == 0)) || die "$label: $bad failed requests (see above)"
}

# parse_result "RESULT k=v ...": sets R_k=v for each pair.
parse_result() {
  [[ "$1" == RESULT* ]] || die "no RESULT line"
  local kv
  for kv in ${1#RESULT }; do
    [[ "$kv" =~ ^[a-z0-9_]+=[-0-9.a-z]+$ ]] || die "bad RESULT field '$kv'"
    printf -v "R_${kv%%=*}" '%s' "${kv#*=}"
  done
}

# with_children PID...: the PIDs and those of the processes whose parent they are (e.g. nginx's master
# and workers), one a line.
with_children() {
  local p
  for p in "$@"; do echo "$p"; ps -o pid= --ppid "$p" 2>/dev/null || true; done
}
# cpu_ticks PID...: user+system CPU clock ticks used so far by the processes and their children.
CLK_TCK="$(getconf CLK_TCK)"
cpu_ticks() {
  local p total=0
  for p in $(with_children "$@"); do
    [[ -r "/proc/$p/stat" ]] || continue
    # Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
    total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}
# io_calls PID...: read and write system calls made so far (syscr + syscw), counted like cpu_ticks.
io_calls() {
  local p total=0
  for p in $(with_children "$@"); do
    [[ -r "/proc/$p/io" ]] || continue
    total=$((total + $(awk '$1 == "syscr:" || $1 == "syscw:" { n += $2 } END { print n + 0 }' "/proc/$p/io")))
  done
  echo "$total"
}
# per_req COUNT REQUESTS: COUNT / REQUESTS with one decimal.
per_req() { awk -v c="$1" -v n="$2" 'BEGIN { if (n == 0) print "n/a"; else printf "%.1f", c / n }'; }
# us_per_req TICKS REQUESTS: CPU microseconds per request.
us_per_req() { awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { if (n == 0) print "n/a"; else printf "%.1f", t / hz * 1e6 / n }'; }
# minimum V...: the smallest number.
minimum() { printf '%s\n' "$@" | sort -g | head -1; }

# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
# minus A B: A-B with three decimals.
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
# median V...: the median of numbers.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

machine() {
  echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), shared), $(uname -sr), $(go version | cut -d' ' -f3), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $(nginx -v 2>&1 | cut -d' ' -f3)"
}
