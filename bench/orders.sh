#!/usr/bin/env bash
# Orders with stock reservation: 32 concurrent clients (each a signed-in user)
# place one-unit orders through the gateway (JWT, rate limit raised) -> order
# service -> product service (atomic reservation in MariaDB) until every
# product is sold out, then each client tries once more per product. Prints
# orders/s and proves from MariaDB that stock never went negative and that
# orders placed = initial stock - remaining stock.
#
#   bench/orders.sh
#
# Environment (all optional): BENCH_CLIENTS=32, BENCH_STOCK=3000 (units per
# product), BENCH_PRODUCTS=1 (products sold; 1 = one hot row),
# BENCH_TIMEOUT=120 (seconds; the load stops then even if stock is left),
# BENCH_KEEP=1 (keep logs). Everything runs on 127.0.0.1; every process
# started is stopped on exit.
# R_* variables are set by parse_result (printf -v).
# shellcheck source=lib/common.sh disable=SC2154
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

CLIENTS="${BENCH_CLIENTS:-32}"
STOCK="${BENCH_STOCK:-3000}"
NPROD="${BENCH_PRODUCTS:-1}"
TIMEOUT="${BENCH_TIMEOUT:-120}"
[[ "$CLIENTS" =~ ^[1-9][0-9]{0,2}$ ]] || die "BENCH_CLIENTS must be 1 to 999, got '$CLIENTS'"
[[ "$STOCK" =~ ^[1-9][0-9]{0,5}$ ]] || die "BENCH_STOCK must be 1 to 999999, got '$STOCK'"
[[ "$NPROD" =~ ^[1-9][0-9]?$ ]] || die "BENCH_PRODUCTS must be 1 to 99, got '$NPROD'"
[[ "$TIMEOUT" =~ ^[1-9][0-9]{0,3}$ ]] || die "BENCH_TIMEOUT must be 1 to 9999 seconds, got '$TIMEOUT'"

need_tools
build gateway product user order
build_loadgen
start_stores
P_PRODUCT=$(free_port); P_USER=$(free_port); P_ORDER=$(free_port); P_GATEWAY=$(free_port)
# shellcheck disable=SC2046
service product "$P_PRODUCT" $(mysql_env) "REDIS_ADDR=$SHOP_IT_REDIS_ADDR" "REDIS_PASSWORD=$SHOP_IT_REDIS_PASSWORD"
# shellcheck disable=SC2046
service user "$P_USER" $(mysql_env) "JWT_SECRET=$BENCH_JWT_SECRET" BCRYPT_COST=4
# Unpaid orders expire after an hour: nothing is released by the sweeper during the run.
# shellcheck disable=SC2046
service order "$P_ORDER" $(mysql_env) "RABBITMQ_HOST=$SHOP_IT_RABBITMQ_HOST" "RABBITMQ_PORT=$SHOP_IT_RABBITMQ_PORT" \
  "RABBITMQ_USER=$SHOP_IT_RABBITMQ_USER" "RABBITMQ_PASSWORD=$SHOP_IT_RABBITMQ_PASSWORD" \
  "RABBITMQ_VHOST=$SHOP_IT_RABBITMQ_VHOST" "PRODUCT_URL=http://127.0.0.1:$P_PRODUCT" ORDER_PAYMENT_TIMEOUT=1h
service gateway "$P_GATEWAY" "JWT_SECRET=$BENCH_JWT_SECRET" "USER_URL=http://127.0.0.1:$P_USER" \
  "PRODUCT_URL=http://127.0.0.1:$P_PRODUCT" "ORDER_URL=http://127.0.0.1:$P_ORDER" \
  RATE_LIMIT_RPS=1000000 RATE_LIMIT_BURST=1000000
for s in product user order gateway; do
  p="P_${s^^}"
  wait_ready "$s" "http://127.0.0.1:${!p}/readyz" 90
done
GW="http://127.0.0.1:$P_GATEWAY"

PRODUCTS=()
for ((i = 1; i <= NPROD; i++)); do
  PRODUCTS+=("$(create_product "http://127.0.0.1:$P_PRODUCT" "Bench limited edition $i" "$STOCK")") || die "creating a product failed"
done
IDS="$(IFS=,; echo "${PRODUCTS[*]}")"
log "registering $CLIENTS users through the gateway"
: >"$BENCH_TMP/tokens"
for ((i = 1; i <= CLIENTS; i++)); do
  user_token "$GW" "bench-orders-$i@example.com" >>"$BENCH_TMP/tokens" || die "login of user $i failed"
done
# One order through the whole path first (then cancelled, returning its unit): the path works.
tok="$(head -1 "$BENCH_TMP/tokens")"
oid="$(curl -sf -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $tok" \
  -d "{\"items\":[{\"product_id\":${PRODUCTS[0]},\"quantity\":1}]}" "$GW/api/orders" | jq -er .id)" || die "placing a first order failed"
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $tok" "$GW/api/orders/$oid/cancel" || die "cancelling the first order failed"
for ((i = 0; i < 100; i++)); do
  [[ "$(sql "SELECT stock FROM products WHERE id = ${PRODUCTS[0]}")" == "$STOCK" ]] && break
  sleep 0.1
done
[[ "$(sql "SELECT stock FROM products WHERE id = ${PRODUCTS[0]}")" == "$STOCK" ]] || die "the cancelled order's unit did not come back"
# Baseline: only that cancelled order exists.
[[ "$(sql "SELECT COUNT(*) FROM orders WHERE status <> 'cancelled'")" == 0 ]] || die "unexpected orders before the run"

# The stock as MariaDB sees it, sampled every 100 ms while the load runs (lowest value seen).
sampler() {
  local lo="" v
  while [[ ! -f "$BENCH_TMP/load.done" ]]; do
    v="$(sql "SELECT MIN(stock) FROM products WHERE id IN ($IDS)")" || { sleep 0.1; continue; }
    if [[ -z "$lo" ]] || ((v < lo)); then lo="$v"; fi
    echo "$lo" >"$BENCH_TMP/min-stock"
    sleep 0.1
  done
}
sampler &
SAMPLER=$!
BENCH_PIDS+=("$SAMPLER"); BENCH_NAMES+=(stock-sampler)

log "load: $CLIENTS clients ordering one unit at a time of products $IDS ($STOCK units each) through the gateway"
out="$("$BIN/loadgen" orders -url "$GW" -tokens "$BENCH_TMP/tokens" -products "$IDS" -clients "$CLIENTS" \
  -max $((NPROD * STOCK * 3 + CLIENTS * 10)) -timeout "${TIMEOUT}s")"
touch "$BENCH_TMP/load.done"
wait "$SAMPLER" || true
printf '%s\n' "$out" | sed 's/^/  [orders] /' >&2
parse_result "$(printf '%s\n' "$out" | grep '^RESULT ')"
CREATED=$R_created

# The relay publishes every order.created event (outbox drained within 60 s).
for ((i = 0; i < 600; i++)); do
  [[ "$(sql "SELECT COUNT(*) FROM order_outbox WHERE published_at IS NULL")" == 0 ]] && break
  sleep 0.1
done

echo
echo "== orders with stock reservation ($(date -u +%Y-%m-%dT%H:%MZ)) =="
machine
echo "path: loadgen -> gateway (JWT, rate limit) -> order -> product (reservation in MariaDB) ; events -> RabbitMQ via the outbox"
echo "$CLIENTS clients, $NPROD product(s) x $STOCK units, one unit per order"
printf '%s\n' "$out" | grep -v '^RESULT'
echo "orders/s: $R_orders_per_s   (created $CREATED in ${R_seconds}s; p50 ${R_p50_ms} ms, p99 ${R_p99_ms} ms per order)"
echo
echo "proof (MariaDB, after the run):"
fail=0
check() { # check DESCRIPTION GOT WANT
  if [[ "$2" == "$3" ]]; then echo "  ok   $1: $2"; else echo "  FAIL $1: got $2, want $3"; fail=1; fi
}
min_seen="$(cat "$BENCH_TMP/min-stock" 2>/dev/null || echo none)"
echo "  lowest stock sampled during the run (every 100 ms): $min_seen"
[[ "$min_seen" =~ ^[0-9]+$ ]] || { echo "  FAIL the stock was never sampled or went negative"; fail=1; }
total_initial=$((NPROD * STOCK))
remaining="$(sql "SELECT SUM(stock) FROM products WHERE id IN ($IDS)")"
negative="$(sql "SELECT COUNT(*) FROM products WHERE stock < 0")"
check "products with stock < 0" "$negative" 0
check "orders placed (201) = initial stock - remaining stock ($total_initial - $remaining)" "$CREATED" "$((total_initial - remaining))"
check "pending orders in MariaDB = orders placed" "$(sql "SELECT COUNT(*) FROM orders WHERE status = 'pending'")" "$CREATED"
check "units in pending orders = initial - remaining" \
  "$(sql "SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status = 'pending'")" "$((total_initial - remaining))"
check "units held by reservations = initial - remaining" \
  "$(sql "SELECT COALESCE(SUM(quantity), 0) FROM stock_reservations WHERE state = 'reserved' AND product_id IN ($IDS)")" "$((total_initial - remaining))"
check "orders stuck in new or failed" "$(sql "SELECT COUNT(*) FROM orders WHERE status IN ('new','failed')")" 0
check "requests answered other than 201/409, or failed" "$((R_other + R_errors))" 0
check "load stopped by the time limit" "$R_timed_out" false
check "stock left (every product sold out)" "$remaining" 0
check "order.created events still unpublished in the outbox" "$(sql "SELECT COUNT(*) FROM order_outbox WHERE published_at IS NULL")" 0
check "order.created events published" \
  "$(sql "SELECT COUNT(*) FROM order_outbox WHERE routing_key = 'order.created' AND published_at IS NOT NULL")" "$((CREATED + 1))"
echo "  (the one extra order.created is the cancelled check order placed before the run)"
((fail == 0)) || die "the stock proof failed"
