#!/usr/bin/env bash
# Product detail reads, cached vs uncached: GET /api/products/{id} straight to
# the product service, ids spread at random over a seeded catalog.
#   cached      Redis holds every product (cache hit; MySQL untouched)
#   mysql-only  a second product service whose REDIS_ADDR is a closed port:
#               the service cannot run without a cache configured, and this is
#               its documented fallback (reads go to MySQL; go-redis fails the
#               dial at once once 64 dials have failed, so after the warm-up
#               no Redis I/O is left in the path)
#   miss        the normal service with Redis refusing writes (maxmemory 1,
#               after FLUSHALL): every read is the cache-miss path, Redis GET
#               (nil) + MySQL + a refused SET
#
#   bench/product-cache.sh
#
# Environment (all optional): BENCH_ROUNDS=3 (rounds, medians reported),
# BENCH_DURATION=10s (wrk -t2 -c32 -d$BENCH_DURATION per run), BENCH_PRODUCTS=200
# (catalog size), BENCH_KEEP=1 (keep logs). Everything runs on 127.0.0.1;
# every process started is stopped on exit.
# R_* variables are set by parse_result (printf -v).
# shellcheck source=lib/common.sh disable=SC2154
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ROUNDS="${BENCH_ROUNDS:-3}"
DURATION="${BENCH_DURATION:-10s}"
PRODUCTS="${BENCH_PRODUCTS:-200}"
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || die "BENCH_ROUNDS must be 1 to 99, got '$ROUNDS'"
[[ "$PRODUCTS" =~ ^[1-9][0-9]{0,4}$ ]] || die "BENCH_PRODUCTS must be 1 to 99999, got '$PRODUCTS'"

need_tools
build product
start_stores
P_CACHED=$(free_port); P_NOCACHE=$(free_port); P_CLOSED=$(free_port)
# shellcheck disable=SC2046
service product "$P_CACHED" $(mysql_env) "REDIS_ADDR=$SHOP_IT_REDIS_ADDR" "REDIS_PASSWORD=$SHOP_IT_REDIS_PASSWORD" CACHE_TTL=1h
wait_ready product "http://127.0.0.1:$P_CACHED/readyz" 60
BIN_OF["product-mysql-only"]=product
# shellcheck disable=SC2046
service product-mysql-only "$P_NOCACHE" $(mysql_env) "REDIS_ADDR=127.0.0.1:$P_CLOSED" CACHE_TTL=1h
# Its /readyz stays 503 (the redis check fails); it serves once /healthz does.
wait_ready product-mysql-only "http://127.0.0.1:$P_NOCACHE/healthz" 30

redis() { REDISCLI_AUTH="$SHOP_IT_REDIS_PASSWORD" redis-cli -h 127.0.0.1 -p "${SHOP_IT_REDIS_ADDR##*:}" "$@"; }

log "seeding $PRODUCTS products through POST /api/products"
first="" last=""
for ((i = 1; i <= PRODUCTS; i++)); do
  id="$(create_product "http://127.0.0.1:$P_CACHED" "Bench product $i" 100)" || die "creating product $i failed"
  [[ -n "$first" ]] || first="$id"
  last="$id"
done
((last - first + 1 == PRODUCTS)) || die "product ids are not contiguous ($first..$last)"
export BENCH_PATH_PREFIX="/api/products/" BENCH_ID_MAX="$last"
((first == 1)) || die "the catalog must start at id 1 (got $first); the stores are fresh for each run"

# x_cache PORT ID: the X-Cache header of one detail read.
x_cache() { curl -sf -D - -o /dev/null "http://127.0.0.1:$1/api/products/$2" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-cache" { print $2 }'; }

declare -A RPS P50 P99
MODES=(cached mysql-only miss)
for ((r = 1; r <= ROUNDS; r++)); do
  # cached: Redis takes writes again, and a warm-up run fills it with every product.
  redis CONFIG SET maxmemory 0 >/dev/null
  wrk_run "warm-up" -t2 -c32 -d3s "http://127.0.0.1:$P_CACHED" 2>/dev/null
  for ((i = 1; i <= PRODUCTS; i++)); do
    [[ "$(x_cache "$P_CACHED" "$i")" == hit ]] || die "product $i is not cached after the warm-up"
  done
  for mode in "${MODES[@]}"; do
    case "$mode" in
      cached) port=$P_CACHED ;;
      mysql-only)
        port=$P_NOCACHE
        [[ "$(x_cache "$port" 1)" == miss ]] || die "the mysql-only service answered from a cache"
        ;;
      miss)
        port=$P_CACHED
        redis FLUSHALL >/dev/null
        redis CONFIG SET maxmemory 1 >/dev/null
        [[ "$(x_cache "$port" 1)" == miss && "$(x_cache "$port" 1)" == miss ]] || die "reads still hit the cache with maxmemory 1"
        ;;
    esac
    # An unmeasured warm-up: the mysql-only service's Redis client needs its first 64 dials to fail
    # (5 attempts 100 ms apart each) before it fails at once without dialing.
    wrk_run "warm-up $mode" -t2 -c32 -d3s "http://127.0.0.1:$port" 2>/dev/null
    log "round $r/$ROUNDS: wrk -t2 -c32 -d$DURATION $mode"
    wrk_run "$mode #$r" -t2 -c32 -d"$DURATION" "http://127.0.0.1:$port"
    RPS[$mode]+="$R_rps "; P50[$mode]+="$R_p50_ms "; P99[$mode]+="$R_p99_ms "
  done
done
redis CONFIG SET maxmemory 0 >/dev/null
hits="$(curl -s "http://127.0.0.1:$P_CACHED/metrics" | awk '/^product_cache_lookups_total/ { printf "%s=%s ", $1, $2 }')"

echo
echo "== product detail reads, cached vs uncached ($(date -u +%Y-%m-%dT%H:%MZ)) =="
machine
echo "request: GET /api/products/{random 1..$PRODUCTS} straight to the product service (MariaDB 10.11, Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2))"
echo "wrk -t2 -c32 -d$DURATION, median of $ROUNDS rounds (each round's req/s in brackets)"
printf '%-11s %10s %10s %10s   %s\n' mode req/s p50_ms p99_ms "rounds (req/s)"
declare -A M_RPS M_P99
for mode in "${MODES[@]}"; do
  # shellcheck disable=SC2046,SC2086
  M_RPS[$mode]=$(median ${RPS[$mode]}); M_P99[$mode]=$(median ${P99[$mode]})
  # shellcheck disable=SC2086
  printf '%-11s %10.0f %10.3f %10.3f   [%s]\n' "$mode" "${M_RPS[$mode]}" "$(median ${P50[$mode]})" "${M_P99[$mode]}" "${RPS[$mode]% }"
done
echo "ratio cached/mysql-only req/s: $(ratio "${M_RPS[cached]}" "${M_RPS[mysql-only]}")   p99 mysql-only/cached: $(ratio "${M_P99[mysql-only]}" "${M_P99[cached]}")"
echo "ratio cached/miss req/s:       $(ratio "${M_RPS[cached]}" "${M_RPS[miss]}")   p99 miss/cached: $(ratio "${M_P99[miss]}" "${M_P99[cached]}")"
echo "cache lookups counted by the cached service: $hits"
