#!/bin/sh
# Starts this policy pack as an analyzer plugin, for Pulumi CLIs whose Node.js
# language host cannot run policy packs itself (it answers RunPlugin with
# "not supported"). Pass the script's path as the pack:
#   pulumi preview --policy-pack policy/analyzer.sh
# The CLI runs an executable pack directly with the engine address as its only
# argument; @pulumi/policy reads the pack version from package.json in the
# working directory, so run from this folder.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
exec node "$here/../node_modules/@pulumi/pulumi/cmd/run-policy-pack" "$1" .
