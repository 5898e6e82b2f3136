#!/usr/bin/env bash
# End-to-end suite: a real Pulumi CLI and Kubernetes provider against the local API server, with the
# service images built and pushed to the local registry. Sets everything up first (all cached).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
prepare_local
scripts/images.sh up >/dev/null
export SHOP_IMAGES_JSON="$SHOP_RUN/images.json"
scripts/images.sh controller >/dev/null
export SHOP_CONTROLLER_IMAGE_JSON="$SHOP_RUN/controller-image.json"
# scripts/e2e.sh test/e2e/<file>.test.ts [mocha options]: only those files (mocha adds files named on its
# command line to the config's spec list, so the config is left out then); otherwise the whole suite.
if [[ "${1:-}" == *.test.ts ]]; then
  npx mocha --no-config --require ts-node/register --require test/e2e/private-tmp.ts --extension ts --timeout 900000 "$@"
else
  npx mocha --config test/e2e/.mocharc.yml "$@"
fi
