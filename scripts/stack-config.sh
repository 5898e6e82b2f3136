#!/usr/bin/env bash
# Makes a stack's generated config file and prints its path: `stack-file` of the automation CLI
# (automation/stack-file.ts says what goes in it; env: BASE_STACK, OVERRIDES, THIRD_PARTY_IMAGES, GENERATE_SECRETS).
# Usage: scripts/stack-config.sh <stack> [images.json]
exec "$(dirname "${BASH_SOURCE[0]}")/automation.sh" stack-file "$@"
