#!/usr/bin/env bash
# The Automation API command line (automation/cli.ts) with this harness's environment (lib.sh): every
# stack operation of the scripts goes through it.
#   scripts/automation.sh <command> [args...]   e.g. deploy local --refresh; outputs local apiUrl
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Types are checked by `npx tsc`; here the CLI is only transpiled, which starts faster.
export TS_NODE_PROJECT="$REPO_ROOT/tsconfig.json" TS_NODE_TRANSPILE_ONLY="${TS_NODE_TRANSPILE_ONLY:-true}"
exec node -r "$REPO_ROOT/node_modules/ts-node/register" "$REPO_ROOT/automation/cli.ts" "$@"
