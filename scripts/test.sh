#!/usr/bin/env bash
# Runs every test of the repo on this machine, installing what it needs first:
#   type check, mocha unit tests (program, components, policy pack, automation), observability config
#   checks (promtool/amtool), image digests under edits (real builds on the local engine), Go services
#   against real MariaDB/Redis/RabbitMQ, the canary controller against a real API server (envtest),
#   workflow lint, and the end-to-end suite (real pulumi up against the local API server and registry).
# SKIP="e2e services" skips steps by name (for quick local loops; CI runs everything).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
mkdir -p .tmp
SKIP=" ${SKIP:-} "
passed=0; failed=0; failed_steps=()

# step NAME CMD...: runs one suite, tees its output, counts its tests from the runner's own summary.
step() {
  local name="$1"; shift
  if [[ "$SKIP" == *" $name "* ]]; then log "skip $name"; return 0; fi
  log "== $name"
  local out=".tmp/test-$name.log" t=$SECONDS rc=0
  "$@" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
  local p f
  p=$( (grep -Eo '^ *[0-9]+ passing' "$out" || true) | awk '{s+=$1} END{print s+0}')
  f=$( (grep -Eo '^ *[0-9]+ failing' "$out" || true) | awk '{s+=$1} END{print s+0}')
  # The Go suites print their own totals, "services: N passed, M failed" (scripts/test-services.sh) and
  # "controller: N passed, M failed" (scripts/test-controller.sh).
  p=$((p + $( (grep -Eo '^(services|controller): [0-9]+ passed' "$out" || true) | awk '{s+=$2} END{print s+0}')))
  f=$((f + $( (grep -Eo '^(services|controller): [0-9]+ passed, [0-9]+ failed' "$out" || true) | awk '{s+=$4} END{print s+0}')))
  # A check with no count of its own (type check, promtool/amtool, actionlint) counts as one test.
  if ((rc != 0)) && ((f == 0)); then f=1; fi
  if ((rc == 0)) && ((p == 0)); then p=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  ((rc == 0)) || failed_steps+=("$name")
  log "$name: rc=$rc, $p passed, $f failed, $((SECONDS - t))s"
}

scripts/deps.sh all
scripts/node-deps.sh

step typecheck npx tsc --noEmit -p .
step unit npx mocha
step observability scripts/check-observability.sh
step images scripts/test-images.sh
step services scripts/test-services.sh
step controller scripts/test-controller.sh
step workflows scripts/actionlint.sh
step e2e scripts/e2e.sh

echo
((${#failed_steps[@]} == 0)) || echo "failed steps: ${failed_steps[*]}"
echo "$passed passed, $failed failed"
((${#failed_steps[@]} == 0))
