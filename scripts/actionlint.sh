#!/usr/bin/env bash
# Lints every GitHub Actions workflow with actionlint (built once from its Go module
# into $SHOP_CACHE/bin, pinned). Exit status is non-zero when actionlint finds anything.
#   scripts/actionlint.sh [workflow files...]   (default: .github/workflows/*.yml|yaml)
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHOP_CACHE="${SHOP_CACHE:-$HOME/.cache/shop-platform}"
BIN="$SHOP_CACHE/bin"
ACTIONLINT_VERSION=v1.7.12

if [[ ! -x "$BIN/actionlint" || ! -f "$BIN/.actionlint-$ACTIONLINT_VERSION" ]]; then
  mkdir -p "$BIN"
  printf '[%s] building actionlint %s\n' "$(date +%H:%M:%S)" "$ACTIONLINT_VERSION" >&2
  GOBIN="$BIN" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  rm -f "$BIN"/.actionlint-*
  touch "$BIN/.actionlint-$ACTIONLINT_VERSION"
fi

cd "$REPO_ROOT"
if (($#)); then
  files=("$@")
else
  shopt -s nullglob
  files=(.github/workflows/*.yml .github/workflows/*.yaml)
fi
((${#files[@]})) || { echo "no workflow files found under .github/workflows" >&2; exit 1; }
# shellcheck/pyflakes integration is used when those tools are on PATH; actionlint's own checks always run.
"$BIN/actionlint" -no-color "${files[@]}"
echo "actionlint $ACTIONLINT_VERSION: ${#files[@]} workflow file(s) clean"
