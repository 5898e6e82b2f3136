#!/usr/bin/env bash
# Makes a stack's generated config file and prints its path: `stack-file` of the automation CLI
# (automation/stack-file.ts says what goes in it; env: BASE_STACK, OVERRIDES, THIRD_PARTY_IMAGES, GENERATE_SECRETS).
# Usage: scripts/stack-config.sh <stack> [images.json]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Types are checked by `npx tsc`; here the CLI is only transpiled, which starts faster.
export TS_NODE_PROJECT="$REPO_ROOT/tsconfig.json" TS_NODE_TRANSPILE_ONLY="${TS_NODE_TRANSPILE_ONLY:-true}"
exec node -r "$REPO_ROOT/node_modules/ts-node/register" "$REPO_ROOT/automation/cli.ts" stack-file "$@"
