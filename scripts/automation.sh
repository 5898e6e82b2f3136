#!/usr/bin/env bash
# The Automation API command line (automation/cli.ts) with this harness's environment (lib.sh): every
# stack operation of the scripts goes through it.
#   scripts/automation.sh <command> [args...]   e.g. deploy local --refresh; outputs local apiUrl
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# The local cluster's kubeconfig when none is set: the `local` stack and the harness's stacks take their
# cluster from KUBECONFIG, and without it the provider's configuration changes in the state (its
# kubeconfig becomes the default one) before the update fails, unable to reach any cluster. A stack
# naming its cluster (dev, prod: shop:cluster) is unaffected; one naming a context this file lacks fails
# at once, naming the context.
if [[ -z "${KUBECONFIG:-}" && -f "$KUBECONFIG_LOCAL" ]]; then export KUBECONFIG="$KUBECONFIG_LOCAL"; fi
# Types are checked by `npx tsc`; here the CLI is only transpiled, which starts faster: by swc, once
# per source (automation/ts-cache.js keeps the JavaScript in the toolchain cache, made on demand), so a
# run loads neither ts-node nor TypeScript; SHOP_FAST_START=0 goes back to ts-node (transpile-only).
export TS_NODE_PROJECT="$REPO_ROOT/tsconfig.json" TS_NODE_TRANSPILE_ONLY="${TS_NODE_TRANSPILE_ONLY:-true}"
export SHOP_TS_CACHE="${SHOP_TS_CACHE-$SHOP_CACHE/ts-cache}"
# automation/fast-start.js first: the compile cache (in the toolchain cache, made on demand) for the CLI's
# own modules (the Automation API loads the SDK, gRPC and protobuf). The CLI hands the same hook to the
# program's processes through NODE_OPTIONS (automation/settings.ts). SHOP_FAST_START=0 turns it and the
# CLI's shortcuts off (automation/settings.ts, fastStartOn).
export SHOP_NODE_COMPILE_CACHE="${SHOP_NODE_COMPILE_CACHE-$SHOP_CACHE/node-compile-cache}"
register="$REPO_ROOT/automation/ts-cache.js"
[[ "${SHOP_FAST_START:-1}" != 0 ]] || register="$REPO_ROOT/node_modules/ts-node/register"
exec node -r "$REPO_ROOT/automation/fast-start.js" -r "$register" "$REPO_ROOT/automation/cli.ts" "$@"
