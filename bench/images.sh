#!/usr/bin/env bash
# Image benchmark: size of each service image, and build time of all four cold (empty build cache),
# warm (nothing changed) and after a one-file change in one service, with which image IDs changed.
# Builds from a scratch copy of services/, so the repo is never touched. Prints a table.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/images.sh"   # engine, bases, build_image, SERVICES
cd "$REPO_ROOT"
bases >/dev/null
CHANGED="${CHANGED:-user}"
ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' EXIT
cp -r services/. "$ctx/"

declare -A ids
build_all() {  # builds all four images; sets ids[] and elapsed (wall seconds)
  local t0; t0=$(date +%s.%N)
  for svc in "${SERVICES[@]}"; do
    build_image "$ctx" "$svc" "shop-bench/$svc"
    ids[$svc]="$($DOCKER image inspect -f '{{.Id}}' "shop-bench/$svc")"
  done
  elapsed=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{print a-b}')
}

$DOCKER builder prune -af >/dev/null
for svc in "${SERVICES[@]}"; do $DOCKER rmi -f "shop-bench/$svc" >/dev/null 2>&1 || true; done
build_all; cold=$elapsed
declare -A before; for s in "${SERVICES[@]}"; do before[$s]=${ids[$s]}; done
build_all; warm=$elapsed
# A real code change (kept by the linker) in one service.
printf 'package main\n\nimport "os"\n\nfunc init() { _ = os.Setenv("SHOP_BUILD_MARK", "%s") }\n' "$RANDOM$RANDOM" >"$ctx/cmd/$CHANGED/zz_bench_mark.go"
build_all; onefile=$elapsed

printf '%-8s %10s %12s  %s\n' service size compressed "image changed after a one-file change in $CHANGED"
for svc in "${SERVICES[@]}"; do
  size=$($DOCKER image inspect -f '{{.Size}}' "shop-bench/$svc")
  changed=no; [[ "${before[$svc]}" != "${ids[$svc]}" ]] && changed=yes
  # Compressed: what a registry stores and a node pulls (gzip layers, as docker push sends them).
  gz=$($DOCKER save "shop-bench/$svc" | gzip -c | wc -c)
  printf '%-8s %7.2f MB %9.2f MB  %s\n' "$svc" "$(awk -v s="$size" 'BEGIN{print s/1000000}')" "$(awk -v s="$gz" 'BEGIN{print s/1000000}')" "$changed"
done
printf 'build all four: cold %.1f s, warm %.1f s, after one-file change %.1f s\n' "$cold" "$warm" "$onefile"

# Where the size goes: two reference programs built into images exactly as the services are (same
# Dockerfile, flags and runtime base), so the floor under the <= 10 MB goal is measured, not guessed.
# "base" serves HTTP and logs JSON (every service does); "base-metrics" also serves /metrics with
# client_golang's promhttp, which brings the protobuf runtime and the process/Go collectors.
floor() {  # floor NAME GO-SOURCE: prints the image size of a reference program
  mkdir -p "$ctx/cmd/zz-floor-$1"; printf '%s\n' "$2" >"$ctx/cmd/zz-floor-$1/main.go"
  build_image "$ctx" "zz-floor-$1" "shop-bench/floor-$1"
  printf '  %-14s %7.2f MB\n' "$1" "$(awk -v s="$($DOCKER image inspect -f '{{.Size}}' "shop-bench/floor-$1")" 'BEGIN{print s/1000000}')"
}
echo "image size floor (the runtime base alone: $(awk -v s="$($DOCKER image inspect -f '{{.Size}}' "$RUNTIME_IMAGE")" 'BEGIN{printf "%.2f", s/1000000}') MB):"
floor base 'package main
import ("log/slog"; "net/http"; "os")
func main() { slog.New(slog.NewJSONHandler(os.Stdout, nil)).Info("up"); _ = http.ListenAndServe("127.0.0.1:0", nil) }'
floor base-metrics 'package main
import ("log/slog"; "net/http"; "os"; "github.com/prometheus/client_golang/prometheus/promhttp")
func main() { slog.New(slog.NewJSONHandler(os.Stdout, nil)).Info("up"); http.Handle("/metrics", promhttp.Handler()); _ = http.ListenAndServe("127.0.0.1:0", nil) }'
