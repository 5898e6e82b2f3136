#!/usr/bin/env bash
# Installs the repo's npm packages from the lock file when they are missing or stale.
# npm 11 does not run install scripts here, so the @pulumi/* packages never try to download plugins.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
stamp="node_modules/.shop-lock-sha"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" >"$stamp"
fi
