#!/usr/bin/env bash
# Gateway overhead: the product service (a real upstream, MariaDB + Redis
# behind it) measured (a) directly, (b) behind the gateway with JWT
# verification and rate limiting on (limits raised so they never throttle),
# (c) behind Debian's nginx as a plain keep-alive reverse proxy and, as the
# gateway's Go peers, (d) behind Caddy (a plain reverse_proxy from a JSON
# config) and (e) behind Traefik (file provider, one router). Every request
# is GET /api/products/{id} with a valid user token: product reads are public
# at the gateway, but a token that is sent is verified (and the request is
# rate-limited per user), so (b) exercises both.
#
# The fixed-rate part (the latency a proxy adds at 2000 req/s) runs against
# a steady upstream by default: `bench/loadgen serve`, answering the same
# product JSON from memory, with each proxy given a second front to it (a
# second gateway process, a second nginx server block, Caddy server and
# Traefik entry point). Measured against the product service itself, the
# upstream's own tail (MariaDB and Redis on the same two cores) is tens of
# milliseconds and swings between rounds, which hides what a proxy adds.
#
#   bench/gateway.sh
#
# Environment (all optional):
#   BENCH_ROUNDS=3          wrk rounds per target (medians are reported)
#   BENCH_DURATION=10s      each wrk round: wrk -t2 -c32 -d$BENCH_DURATION
#   BENCH_RATE=2000         fixed-rate run (bench/loadgen rate), req/s
#   BENCH_RATE_DURATION=10s its length (after a 2 s warm-up at the same rate)
#   BENCH_RATE_UPSTREAM=steady  the fixed-rate part's upstream: steady (bench/loadgen serve,
#                           the product's JSON from memory) or product (the product service)
#   BENCH_PROFILE=10        seconds of gateway CPU profile under wrk load (0: skip)
#   BENCH_ACCESS_LOG=on     off: neither the services nor nginx log each request
#                           (the services run at LOG_LEVEL=warn, nginx with access_log off)
#   BENCH_NGINX_LOG_BUFFER=0 1: nginx writes its access log as the services do, in batches
#                           (`buffer=64k flush=100ms`, the services' logging.Buffered); 0: nginx's
#                           default, one write per request
#   BENCH_KEEP=1            keep logs, proxy configs and the profile in the temp dir
#   BENCH_GATEWAY_ENV       extra VAR=value words for the gateway's environment (e.g. GOMAXPROCS=1)
#   SHOP_CACHE              the tool cache (default ~/.cache/shop-platform): Traefik is taken from
#                           its bin/ (scripts/deps.sh; skipped when absent), Caddy is built once into
#                           its bench-bin/ with go install (Go module proxy)
# Everything runs on 127.0.0.1; every process started is stopped on exit.
# R_* variables are set by parse_result (printf -v).
# shellcheck source=lib/common.sh disable=SC2154
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ROUNDS="${BENCH_ROUNDS:-3}"
DURATION="${BENCH_DURATION:-10s}"
RATE="${BENCH_RATE:-2000}"
RATE_DURATION="${BENCH_RATE_DURATION:-10s}"
PROFILE_SECS="${BENCH_PROFILE:-10}"
ACCESS_LOG="${BENCH_ACCESS_LOG:-on}"
ACCESS_LOG_BUFFERED="${BENCH_NGINX_LOG_BUFFER:-0}"
RATE_UPSTREAM="${BENCH_RATE_UPSTREAM:-steady}"
[[ "$RATE_UPSTREAM" =~ ^(steady|product)$ ]] || die "BENCH_RATE_UPSTREAM must be steady or product, got '$RATE_UPSTREAM'"
[[ "$ACCESS_LOG_BUFFERED" =~ ^[01]$ ]] || die "BENCH_NGINX_LOG_BUFFER must be 0 or 1, got '$ACCESS_LOG_BUFFERED'"
CADDY_VERSION=v2.11.9
TRAEFIK_VERSION=v3.6.12
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || die "BENCH_ROUNDS must be 1 to 99, got '$ROUNDS'"
[[ "$RATE" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RATE must be a positive integer, got '$RATE'"
case "$ACCESS_LOG" in
  on) SVC_LOG=LOG_LEVEL=info; NGX_ACCESS_LOG="access_log $BENCH_TMP/nginx/logs/access.log"
    [[ "$ACCESS_LOG_BUFFERED" == 1 ]] && NGX_ACCESS_LOG+=" combined buffer=64k flush=100ms"
    CADDY_ACCESS_LOG='"logs": {},'; TRAEFIK_ACCESS_LOG="accessLog: {filePath: $BENCH_TMP/traefik/access.log}" ;;
  off) SVC_LOG=LOG_LEVEL=warn; NGX_ACCESS_LOG="access_log off"; CADDY_ACCESS_LOG=""; TRAEFIK_ACCESS_LOG="" ;;
  *) die "BENCH_ACCESS_LOG must be on or off, got '$ACCESS_LOG'" ;;
esac
{ [[ "$PROFILE_SECS" =~ ^[0-9]+$ ]] && ((PROFILE_SECS <= 60)); } || die "BENCH_PROFILE must be 0 to 60 seconds, got '$PROFILE_SECS'"

need_tools
build gateway product user
build_loadgen
CADDY="$(go_tool caddy github.com/caddyserver/caddy/v2/cmd/caddy "$CADDY_VERSION")" || die "building Caddy $CADDY_VERSION failed"
TRAEFIK=""
# (The version is captured before matching: `traefik version | grep -q` fails under pipefail when grep
# exits before traefik has written everything.)
traefik_version="$("$SHOP_BIN/traefik" version 2>/dev/null || true)"
if [[ -x "$SHOP_BIN/traefik" && "$traefik_version" == *"$TRAEFIK_VERSION"* ]]; then
  TRAEFIK="$SHOP_BIN/traefik"
else
  log "Traefik is skipped: no $TRAEFIK_VERSION binary at $SHOP_BIN/traefik (scripts/deps.sh puts it there)"
fi
# The profiled gateway: the same main package plus bench/gateway/pprof.go.overlay.
cat >"$BENCH_TMP/overlay.json" <<JSON
{"Replace": {"$REPO_ROOT/services/cmd/gateway/zz_bench_pprof.go": "$BENCH_DIR/gateway/pprof.go.overlay"}}
JSON
(cd "$REPO_ROOT/services" && CGO_ENABLED=0 go build -trimpath -overlay "$BENCH_TMP/overlay.json" -o "$BIN/gateway-pprof" ./cmd/gateway)
BIN_OF["gateway-pprof"]=gateway-pprof

start_stores
P_PRODUCT=$(free_port); P_USER=$(free_port); P_GATEWAY=$(free_port); P_NGINX=$(free_port)
P_PPROF=$(free_port); P_NOORDER=$(free_port); P_CADDY=$(free_port); P_TRAEFIK=$(free_port)
# The steady upstream and each proxy's second front to it (the fixed-rate part).
P_STEADY=$(free_port); P_GW_STEADY=$(free_port); P_NGINX_STEADY=$(free_port); P_CADDY_STEADY=$(free_port)
P_TRAEFIK_STEADY=$(free_port)
# shellcheck disable=SC2046
service product "$P_PRODUCT" $(mysql_env) "REDIS_ADDR=$SHOP_IT_REDIS_ADDR" "REDIS_PASSWORD=$SHOP_IT_REDIS_PASSWORD" CACHE_TTL=1h "$SVC_LOG"
# shellcheck disable=SC2046
service user "$P_USER" $(mysql_env) "JWT_SECRET=$BENCH_JWT_SECRET" BCRYPT_COST=4
wait_ready product "http://127.0.0.1:$P_PRODUCT/readyz" 60
wait_ready user "http://127.0.0.1:$P_USER/readyz" 60

# The gateway: rate limiting stays on with limits no benchmark reaches; the
# order upstream is not used here (a closed port).
read -ra extra_env <<<"${BENCH_GATEWAY_ENV:-}"
gateway_env=("JWT_SECRET=$BENCH_JWT_SECRET" "USER_URL=http://127.0.0.1:$P_USER"
  "PRODUCT_URL=http://127.0.0.1:$P_PRODUCT" "ORDER_URL=http://127.0.0.1:$P_NOORDER"
  RATE_LIMIT_RPS=1000000 RATE_LIMIT_BURST=1000000 UPSTREAM_TIMEOUT=10s "$SVC_LOG" "${extra_env[@]}")
service gateway "$P_GATEWAY" "${gateway_env[@]}"
wait_ready gateway "http://127.0.0.1:$P_GATEWAY/readyz" 30

# nginx: a plain reverse proxy with upstream keep-alive, logging each request
# like the gateway does (the gateway writes one JSON line per request).
NGX="$BENCH_TMP/nginx"
mkdir -p "$NGX/logs" "$NGX/tmp"
# nginx_server PORT UPSTREAM: one server block proxying 127.0.0.1:PORT to the named upstream.
nginx_server() {
  cat <<CONF
  server {
    listen 127.0.0.1:$1;
    location / {
      proxy_pass http://$2;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
CONF
}
cat >"$NGX/nginx.conf" <<CONF
worker_processes auto;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log warn;
events { worker_connections 4096; }
http {
  $NGX_ACCESS_LOG;
  client_body_temp_path $NGX/tmp/body;
  proxy_temp_path $NGX/tmp/proxy;
  fastcgi_temp_path $NGX/tmp/fastcgi;
  uwsgi_temp_path $NGX/tmp/uwsgi;
  scgi_temp_path $NGX/tmp/scgi;
  upstream product { server 127.0.0.1:$P_PRODUCT; keepalive 128; }
  upstream steady { server 127.0.0.1:$P_STEADY; keepalive 128; }
$(nginx_server "$P_NGINX" product)
$(nginx_server "$P_NGINX_STEADY" steady)
}
CONF
start nginx -- nginx -p "$NGX" -e "$NGX/logs/error.log" -c "$NGX/nginx.conf" -g 'daemon off;'
wait_ready nginx "http://127.0.0.1:$P_NGINX/readyz" 10

# Caddy: a plain reverse_proxy to the same upstream (keep-alive, as many idle connections as nginx
# keeps), no admin endpoint, no automatic HTTPS, its JSON access log to a file like the others (not
# rolled: rolling gzips the old file in Caddy's process, which would count in its CPU per request).
# caddy_server LISTEN_PORT UPSTREAM_PORT: one Caddy server proxying 127.0.0.1:LISTEN_PORT to the upstream.
caddy_server() {
  cat <<JSON
{
    "listen": ["127.0.0.1:$1"],
    "automatic_https": {"disable": true},
    $CADDY_ACCESS_LOG
    "routes": [{"handle": [{
      "handler": "reverse_proxy",
      "upstreams": [{"dial": "127.0.0.1:$2"}],
      "transport": {"protocol": "http", "keep_alive": {"enabled": true, "max_idle_conns_per_host": 128}}
    }]}]
  }
JSON
}
mkdir -p "$BENCH_TMP/caddy"
cat >"$BENCH_TMP/caddy/caddy.json" <<JSON
{
  "admin": {"disabled": true},
  "storage": {"module": "file_system", "root": "$BENCH_TMP/caddy/data"},
  "logging": {"logs": {"default": {"level": "INFO", "writer": {"output": "file", "filename": "$BENCH_TMP/caddy/caddy.log", "roll": false}, "encoder": {"format": "json"}}}},
  "apps": {"http": {"servers": {
    "bench": $(caddy_server "$P_CADDY" "$P_PRODUCT"),
    "steady": $(caddy_server "$P_CADDY_STEADY" "$P_STEADY")
  }}}
}
JSON
start caddy HOME="$BENCH_TMP/caddy" XDG_DATA_HOME="$BENCH_TMP/caddy/data" XDG_CONFIG_HOME="$BENCH_TMP/caddy/config" \
  -- "$CADDY" run --config "$BENCH_TMP/caddy/caddy.json"
wait_ready caddy "http://127.0.0.1:$P_CADDY/readyz" 20

# Traefik: the file provider with one router to the same upstream (keep-alive, 128 idle connections
# per host), access log to a file; no API, dashboard, metrics or version check.
if [[ -n "$TRAEFIK" ]]; then
  mkdir -p "$BENCH_TMP/traefik"
  cat >"$BENCH_TMP/traefik/traefik.yml" <<YAML
entryPoints:
  web:
    address: "127.0.0.1:$P_TRAEFIK"
  steady:
    address: "127.0.0.1:$P_TRAEFIK_STEADY"
providers:
  file:
    filename: "$BENCH_TMP/traefik/dynamic.yml"
serversTransport:
  maxIdleConnsPerHost: 128
log:
  level: WARN
  filePath: "$BENCH_TMP/traefik/traefik.log"
$TRAEFIK_ACCESS_LOG
global:
  checkNewVersion: false
  sendAnonymousUsage: false
YAML
  cat >"$BENCH_TMP/traefik/dynamic.yml" <<YAML
http:
  routers:
    product:
      entryPoints: [web]
      rule: "PathPrefix(\`/\`)"
      service: product
    steady:
      entryPoints: [steady]
      rule: "PathPrefix(\`/\`)"
      service: steady
  services:
    product:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:$P_PRODUCT"
    steady:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:$P_STEADY"
YAML
  start traefik HOME="$BENCH_TMP/traefik" -- "$TRAEFIK" --configFile="$BENCH_TMP/traefik/traefik.yml"
  wait_ready traefik "http://127.0.0.1:$P_TRAEFIK/readyz" 30
fi

PRODUCT_ID="$(create_product "http://127.0.0.1:$P_PRODUCT" "Bench mug" 1000)" || die "creating a product failed"
TOKEN="$(user_token "http://127.0.0.1:$P_USER" "bench-gw@example.com")" || die "login failed"
AUTH="Authorization: Bearer $TOKEN"
PATH_="/api/products/$PRODUCT_ID"
declare -A URL=([direct]="http://127.0.0.1:$P_PRODUCT$PATH_" [gateway]="http://127.0.0.1:$P_GATEWAY$PATH_"
  [nginx]="http://127.0.0.1:$P_NGINX$PATH_" [caddy]="http://127.0.0.1:$P_CADDY$PATH_" [traefik]="http://127.0.0.1:$P_TRAEFIK$PATH_")
TARGETS=(direct gateway nginx caddy)

# The steady upstream answers with the product's JSON as the product service sent it; the second
# gateway differs from the first only in its product upstream.
curl -sf -o "$BENCH_TMP/steady-body.json" "${URL[direct]}" || die "reading the product's answer failed"
start steady -- "$BIN/loadgen" serve -addr "127.0.0.1:$P_STEADY" -body "$BENCH_TMP/steady-body.json"
wait_ready steady "http://127.0.0.1:$P_STEADY/readyz" 10
steady_env=()
for v in "${gateway_env[@]}"; do
  [[ "$v" == PRODUCT_URL=* ]] && v="PRODUCT_URL=http://127.0.0.1:$P_STEADY"
  steady_env+=("$v")
done
BIN_OF["gateway-steady"]=gateway
service gateway-steady "$P_GW_STEADY" "${steady_env[@]}"
wait_ready gateway-steady "http://127.0.0.1:$P_GW_STEADY/readyz" 30
declare -A URL_STEADY=([direct]="http://127.0.0.1:$P_STEADY$PATH_" [gateway]="http://127.0.0.1:$P_GW_STEADY$PATH_"
  [nginx]="http://127.0.0.1:$P_NGINX_STEADY$PATH_" [caddy]="http://127.0.0.1:$P_CADDY_STEADY$PATH_"
  [traefik]="http://127.0.0.1:$P_TRAEFIK_STEADY$PATH_")
GO_PEERS=(caddy)
if [[ -n "$TRAEFIK" ]]; then TARGETS+=(traefik); GO_PEERS+=(traefik); fi

# Each target answers 200 from the cache; the gateway refuses a forged token where one is required
# (on this public read it parses the token too, and treats a bad one as no token).
for t in "${TARGETS[@]}"; do
  code="$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "${URL[$t]}")"
  [[ "$code" == 200 ]] || die "$t answered $code to GET $PATH_"
done
# The fixed-rate part's targets: the steady fronts (BENCH_RATE_UPSTREAM=steady) or the same as wrk's.
declare -A RATE_URL RATE_PIDS
for t in "${TARGETS[@]}"; do
  if [[ "$RATE_UPSTREAM" == steady ]]; then
    RATE_URL[$t]="${URL_STEADY[$t]}"
    body="$(curl -sf -H "$AUTH" "${RATE_URL[$t]}")" || die "$t (steady front) did not answer 200 to GET $PATH_"
    [[ "$body" == "$(cat "$BENCH_TMP/steady-body.json")" ]] || die "$t (steady front) answered another body than the product's"
  else
    RATE_URL[$t]="${URL[$t]}"
  fi
done
code="$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer ${TOKEN}x" "${URL[gateway]}")"
[[ "$code" == 401 ]] || die "the gateway answered $code (not 401) to a forged token on DELETE"
log "targets ready: product $P_PRODUCT, gateway $P_GATEWAY, nginx $P_NGINX, caddy $P_CADDY${TRAEFIK:+, traefik $P_TRAEFIK}; GET $PATH_ with a user token"

log "warm-up: 3 s of wrk per target"
for t in "${TARGETS[@]}"; do wrk_run "warm-up $t" -t2 -c32 -d3s -H "$AUTH" "${URL[$t]}" 2>/dev/null; done

# The CPU each proxy uses per request (nginx: master and workers) is measured alongside: on a
# shared machine it is steadier than throughput, which also depends on what else runs.
# shellcheck disable=SC2154
declare -A PROXY_PIDS=([direct]="" [gateway]="$PID_gateway" [nginx]="$PID_nginx" [caddy]="$PID_caddy" [traefik]="${PID_traefik:-}")
proxy_ticks() { if [[ -n "${PROXY_PIDS[$1]}" ]]; then cpu_ticks "${PROXY_PIDS[$1]}"; else echo 0; fi; }
# shellcheck disable=SC2154
RATE_PIDS=([direct]="" [gateway]="$PID_gateway" [nginx]="$PID_nginx" [caddy]="$PID_caddy" [traefik]="${PID_traefik:-}")
[[ "$RATE_UPSTREAM" == steady ]] && RATE_PIDS[gateway]="$PID_gateway_steady"
rate_ticks() { if [[ -n "${RATE_PIDS[$1]}" ]]; then cpu_ticks "${RATE_PIDS[$1]}"; else echo 0; fi; }
proxy_io() { if [[ -n "${PROXY_PIDS[$1]}" ]]; then io_calls "${PROXY_PIDS[$1]}"; else echo 0; fi; }

declare -A RPS P50 P99 CPU IOC
for ((r = 1; r <= ROUNDS; r++)); do
  for t in "${TARGETS[@]}"; do
    log "round $r/$ROUNDS: wrk -t2 -c32 -d$DURATION $t"
    c0=$(proxy_ticks "$t"); i0=$(proxy_io "$t")
    wrk_run "$t #$r" -t2 -c32 -d"$DURATION" -H "$AUTH" "${URL[$t]}"
    c1=$(proxy_ticks "$t"); i1=$(proxy_io "$t")
    RPS[$t]+="$R_rps "; P50[$t]+="$R_p50_ms "; P99[$t]+="$R_p99_ms "
    if [[ -n "${PROXY_PIDS[$t]}" ]]; then
      CPU[$t]+="$(us_per_req $((c1 - c0)) "$R_requests") "; IOC[$t]+="$(per_req $((i1 - i0)) "$R_requests") "
    fi
  done
done

declare -A FR50 FR99 FR999 FRCPU
for ((r = 1; r <= ROUNDS; r++)); do
  for t in "${TARGETS[@]}"; do
    log "round $r/$ROUNDS: fixed rate $RATE req/s for $RATE_DURATION against $t, $RATE_UPSTREAM upstream (bench/loadgen rate)"
    c0=$(rate_ticks "$t")
    out="$("$BIN/loadgen" rate -url "${RATE_URL[$t]}" -rate "$RATE" -duration "$RATE_DURATION" -warmup 2s -conns 64 -header "$AUTH")"
    printf '%s\n' "$out" | sed "s/^/  [$t @$RATE #$r] /" >&2
    parse_result "$(printf '%s\n' "$out" | grep '^RESULT ')"
    ((R_errors + R_non2xx == 0)) || die "$t: failed requests at $RATE req/s"
    c1=$(rate_ticks "$t")
    FR50[$t]+="$R_p50_ms "; FR99[$t]+="$R_p99_ms "; FR999[$t]+="$R_p999_ms "
    # The 2 s warm-up is sent too: it counts in the CPU per request.
    [[ -n "${RATE_PIDS[$t]}" ]] && FRCPU[$t]+="$(us_per_req $((c1 - c0)) $((R_requests + 2 * RATE))) "
  done
done

PROFILE_TOP=""
if ((PROFILE_SECS > 0)); then
  log "profiling the gateway: ${PROFILE_SECS}s CPU profile under wrk -t2 -c32 (gateway built with bench/gateway/pprof.go.overlay)"
  stop gateway
  service gateway-pprof "$P_GATEWAY" "${gateway_env[@]}" "BENCH_PPROF_ADDR=127.0.0.1:$P_PPROF"
  wait_ready gateway-pprof "http://127.0.0.1:$P_GATEWAY/readyz" 30
  wrk -t2 -c32 -d"$((PROFILE_SECS + 3))s" -H "$AUTH" "${URL[gateway]}" >"$BENCH_TMP/profile-wrk.txt" &
  wrk_pid=$!
  sleep 1
  curl -sf -o "$BENCH_TMP/gateway.cpu.pprof" "http://127.0.0.1:$P_PPROF/debug/pprof/profile?seconds=$PROFILE_SECS" ||
    die "fetching the CPU profile failed"
  wait "$wrk_pid"
  PROFILE_TOP="$(go tool pprof -top -nodecount=25 "$BIN/gateway-pprof" "$BENCH_TMP/gateway.cpu.pprof" 2>/dev/null)"
  PROFILE_CUM="$(go tool pprof -top -cum -nodecount=40 "$BIN/gateway-pprof" "$BENCH_TMP/gateway.cpu.pprof" 2>/dev/null |
    grep -E 'shop/|net/http|log/slog|prometheus|gobreaker|x/time|crypto|encoding/json|syscall|runtime.gcBgMarkWorker|Total|flat%' || true)"
fi

echo
echo "== gateway overhead ($(date -u +%Y-%m-%dT%H:%MZ)) =="
machine
echo "request: GET /api/products/{id} with a user JWT (Redis cache hit at the product service); access logs $ACCESS_LOG"
echo "throughput: wrk -t2 -c32 -d$DURATION, median of $ROUNDS rounds (each round's values in brackets)"
echo "proxy_cpu_us: user+system CPU time of the proxy process(es) per request, in microseconds;"
echo "proxy_rw: their read+write system calls per request (/proc/PID/io); medians"
declare -A M_RPS M_P50 M_P99 M_CPU M_IOC
for t in "${TARGETS[@]}"; do
  # shellcheck disable=SC2086
  M_RPS[$t]=$(median ${RPS[$t]}); M_P50[$t]=$(median ${P50[$t]}); M_P99[$t]=$(median ${P99[$t]})
  # shellcheck disable=SC2086
  if [[ -n "${CPU[$t]:-}" ]]; then M_CPU[$t]=$(median ${CPU[$t]}); M_IOC[$t]=$(median ${IOC[$t]}); else M_CPU[$t]=-; M_IOC[$t]=-; fi
done
# The best Go peer: the highest req/s, and (separately) the lowest CPU per request, of Caddy and Traefik.
BEST_RPS="${GO_PEERS[0]}"; BEST_CPU="${GO_PEERS[0]}"
for t in "${GO_PEERS[@]}"; do
  awk -v a="${M_RPS[$t]}" -v b="${M_RPS[$BEST_RPS]}" 'BEGIN { exit !(a > b) }' && BEST_RPS=$t
  awk -v a="${M_CPU[$t]}" -v b="${M_CPU[$BEST_CPU]}" 'BEGIN { exit !(a < b) }' && BEST_CPU=$t
done
echo "x_nginx, x_go: req/s and CPU per request as a ratio to nginx and to the best Go peer"
echo "(req/s: $BEST_RPS, the faster of ${GO_PEERS[*]}; CPU: $BEST_CPU, the leaner)"
printf '%-8s %8s %8s %8s %8s %8s %8s %8s %8s %8s   %s\n' target req/s x_nginx x_go p50_ms p99_ms cpu_us x_nginx x_go rw/req "rounds (req/s)"
for t in "${TARGETS[@]}"; do
  if [[ "$t" == direct ]]; then cx_n=-; cx_g=-; else cx_n=$(ratio "${M_CPU[$t]}" "${M_CPU[nginx]}"); cx_g=$(ratio "${M_CPU[$t]}" "${M_CPU[$BEST_CPU]}"); fi
  printf '%-8s %8.0f %8s %8s %8.3f %8.3f %8s %8s %8s %8s   [%s]\n' "$t" "${M_RPS[$t]}" \
    "$(ratio "${M_RPS[$t]}" "${M_RPS[nginx]}")" "$(ratio "${M_RPS[$t]}" "${M_RPS[$BEST_RPS]}")" \
    "${M_P50[$t]}" "${M_P99[$t]}" "${M_CPU[$t]}" "$cx_n" "$cx_g" "${M_IOC[$t]}" "${RPS[$t]% }"
done
echo "goals: gateway/nginx req/s $(ratio "${M_RPS[gateway]}" "${M_RPS[nginx]}") (>= 0.8), gateway/$BEST_RPS req/s $(ratio "${M_RPS[gateway]}" "${M_RPS[$BEST_RPS]}") (>= 1),"
echo "       gateway/nginx CPU per request $(ratio "${M_CPU[gateway]}" "${M_CPU[nginx]}") (<= 2)"
echo "ratio gateway/direct req/s: $(ratio "${M_RPS[gateway]}" "${M_RPS[direct]}");  nginx/direct: $(ratio "${M_RPS[nginx]}" "${M_RPS[direct]}")"
echo
echo "fixed rate $RATE req/s for $RATE_DURATION (bench/loadgen rate, open loop, latency from each request's due time),"
if [[ "$RATE_UPSTREAM" == steady ]]; then
  echo "against the steady upstream (bench/loadgen serve: the product's JSON from memory; direct = it alone),"
else
  echo "against the product service,"
fi
echo "median of $ROUNDS rounds; best_p99 is the lowest p99 of the rounds (the least disturbed by other load)"
printf '%-8s %10s %10s %10s %10s %14s   %s\n' target p50_ms p99_ms best_p99 p99.9_ms proxy_cpu_us "rounds (p99_ms)"
declare -A M50 M99 M999 B99 MC
for t in "${TARGETS[@]}"; do
  # shellcheck disable=SC2086
  M50[$t]=$(median ${FR50[$t]}); M99[$t]=$(median ${FR99[$t]}); M999[$t]=$(median ${FR999[$t]}); B99[$t]=$(minimum ${FR99[$t]})
  # shellcheck disable=SC2086
  if [[ -n "${FRCPU[$t]:-}" ]]; then MC[$t]=$(median ${FRCPU[$t]}); else MC[$t]=-; fi
  printf '%-8s %10.3f %10.3f %10.3f %10.3f %14s   [%s]\n' "$t" "${M50[$t]}" "${M99[$t]}" "${B99[$t]}" "${M999[$t]}" "${MC[$t]}" "${FR99[$t]% }"
done
echo "p99 added by the gateway at $RATE req/s: $(minus "${M99[gateway]}" "${M99[direct]}") ms median, $(minus "${B99[gateway]}" "${B99[direct]}") ms best rounds   (goal < 1 ms)"
echo "p99 added by nginx at $RATE req/s:       $(minus "${M99[nginx]}" "${M99[direct]}") ms median, $(minus "${B99[nginx]}" "${B99[direct]}") ms best rounds"
for t in "${GO_PEERS[@]}"; do
  printf 'p99 added by %-8s at %s req/s:   %s ms median, %s ms best rounds\n' "$t" "$RATE" "$(minus "${M99[$t]}" "${M99[direct]}")" "$(minus "${B99[$t]}" "${B99[direct]}")"
done
echo "p50 added by the gateway / nginx:        $(minus "${M50[gateway]}" "${M50[direct]}") / $(minus "${M50[nginx]}" "${M50[direct]}") ms"
if [[ -n "$PROFILE_TOP" ]]; then
  echo
  echo "gateway CPU profile, ${PROFILE_SECS}s under wrk -t2 -c32 (top 25 by flat time):"
  printf '%s\n' "$PROFILE_TOP" | sed -n '/flat%/,$p'
  echo
  echo "cumulative, selected frames:"
  printf '%s\n' "$PROFILE_CUM"
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
    echo "profile: $BENCH_TMP/gateway.cpu.pprof (go tool pprof -http=127.0.0.1:0 $BIN/gateway-pprof $BENCH_TMP/gateway.cpu.pprof)"
  fi
fi
