#!/usr/bin/env bash
# Validates the generated observability configuration with the real tools:
#   promtool check config   the Prometheus configuration (rule files and referenced files included)
#   promtool check rules    the shop's alert rules
#   promtool test rules     their unit tests (test/observability/rules.test.yml)
#   amtool check-config     the Alertmanager configuration, with and without a webhook
#   amtool config routes    where a critical and a warning alert are routed
# The files are rendered by test/observability/render.ts exactly as the
# components serialise them.
#
# Debian's promtool is built without Kubernetes service discovery, so it rejects
# `kubernetes_sd_configs`. When the installed promtool lacks it, the config check
# uses test/observability/promconfig (Prometheus' own config loader at the version
# of the deployed image), built once into $SHOP_CACHE/bin.
#
#   scripts/check-observability.sh [--keep]   (--keep: leave the rendered files and print where)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

keep=false
[[ "${1:-}" == "--keep" ]] && keep=true

# Debian's prometheus and prometheus-alertmanager; apt may be busy with another job: wait for it.
for attempt in $(seq 1 60); do
  if "$REPO_ROOT/scripts/deps.sh" observability; then break; fi
  if ((attempt == 60)); then die "could not install prometheus / prometheus-alertmanager (see above)"; fi
  log "apt is busy or failed; retrying in 10s ($attempt/60)"
  sleep 10
done
command -v promtool >/dev/null || die "promtool not found after installing prometheus"
command -v amtool >/dev/null || die "amtool not found after installing prometheus-alertmanager"

out="$(mktemp -d "${TMPDIR:-/tmp}/shop-observability.XXXXXX")"
if $keep; then log "rendered files kept in $out"; else trap 'rm -rf "$out"' EXIT; fi

start=$SECONDS
failures=0
step() { # step NAME COMMAND...: runs, prints the tool's output, counts a failure
  local name="$1"; shift
  log "$name"
  if "$@"; then printf '  ok: %s\n' "$name"; else printf '  FAILED: %s\n' "$name"; failures=$((failures + 1)); fi
}

log "rendering the generated configuration into $out"
ts-node test/observability/render.ts "$out" >/dev/null

# ---- Prometheus configuration ----
probe="$out/probe.yml"
printf 'scrape_configs:\n  - job_name: probe\n    kubernetes_sd_configs:\n      - role: pod\n' > "$probe"
if promtool check config --syntax-only "$probe" >/dev/null 2>&1; then
  step "promtool check config" promtool check config "$out/prometheus/prometheus.yml"
else
  log "this promtool ($(promtool --version 2>&1 | head -1)) has no Kubernetes service discovery; using Prometheus' config loader"
  command -v go >/dev/null || die "go is needed to build test/observability/promconfig (run scripts/toolchain.sh)"
  src="$REPO_ROOT/test/observability/promconfig"
  sum="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)"
  checker="$SHOP_BIN/promconfig-check-$sum"
  if [[ ! -x "$checker" ]]; then
    log "building $checker (once)"
    (cd "$src" && GOWORK=off go build -trimpath -o "$checker.tmp" . && mv "$checker.tmp" "$checker")
  fi
  step "prometheus config check (upstream loader, kubernetes_sd included)" "$checker" "$out/prometheus/prometheus.yml"
fi

# ---- rules and their unit tests ----
step "promtool check rules" promtool check rules "$out/prometheus/rules/shop.yml" "$out/prometheus/rules/logging.yml"
cp test/observability/rules.test.yml "$out/prometheus/rules.test.yml"
step "promtool test rules" bash -c "cd '$out/prometheus' && promtool test rules rules.test.yml"

# ---- Alertmanager ----
step "amtool check-config (webhook receiver)" amtool check-config "$out/alertmanager/webhook.yml"
step "amtool check-config (no receiver)" amtool check-config "$out/alertmanager/none.yml"
route_is() { # route_is CONFIG EXPECTED LABELS...
  local config="$1" want="$2"; shift 2
  local got
  got="$(amtool config routes test --config.file="$config" "$@" 2>/dev/null)"
  [[ "$got" == "$want" ]] || { printf '  routed to "%s", want "%s"\n' "$got" "$want"; return 1; }
}
step "critical alert goes to the webhook" route_is "$out/alertmanager/webhook.yml" shop-webhook alertname=ShopServiceDown severity=critical service=gateway
step "warning alert goes to the webhook" route_is "$out/alertmanager/webhook.yml" shop-webhook alertname=ShopHighLatencyP99 severity=warning service=gateway
step "without a webhook alerts stay in Alertmanager" route_is "$out/alertmanager/none.yml" shop-none alertname=ShopServiceDown severity=critical

# ---- dashboards: every query is valid PromQL, the JSON parses, uids are unique ----
step "promtool parses every dashboard query" promtool check rules "$out/grafana/queries.rules.yml"
step "Grafana dashboards parse and have unique uids" node -e '
  const fs = require("fs"), path = require("path"), dir = process.argv[1];
  const uids = fs.readdirSync(dir).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")).uid);
  if (new Set(uids).size !== uids.length || uids.some((u) => !u)) { console.error("  uids:", uids); process.exit(1); }
  console.log(`  ${uids.length} dashboards: ${uids.join(", ")}`);
' "$out/grafana/dashboards"

elapsed=$((SECONDS - start))
if ((failures)); then
  die "$failures observability check(s) failed (${elapsed}s)"
fi
log "all observability checks passed (${elapsed}s)"
