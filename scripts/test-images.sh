#!/usr/bin/env bash
# Image digest tests: builds service images on the project's local engine with the program's build
# settings (components/image-build.ts) and checks which digests an edit changes. Needs no Pulumi plugin.
# Starts the engine and makes the base images first (both cached; shared with the rest of the harness).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
scripts/deps.sh docker
scripts/images.sh engine
scripts/images.sh bases
npx mocha --config test/images/.mocharc.yml "$@"
