#!/usr/bin/env bash
# Makes the generated config file of a stack that the harness runs:
#   $STACK_CONFIG_DIR/Pulumi.<stack>.yaml = the committed Pulumi.<stack>.yaml
#     + the stack's encryption salt (kept, never written into a tracked file)
#     + shop:images.prebuilt from an images.json (when given)
#     + shop:secrets: every secret the stack does not set is generated once and kept, encrypted
#     + shop:docker.host: the local engine's address, unless the committed file or the overrides set it
#       (a committed file cannot name the socket: it lives in this machine's cache)
# Usage: scripts/stack-config.sh <stack> [images.json]   (prints the generated file's path)
# Env: BASE_STACK=<name> takes the committed Pulumi.<name>.yaml as the base (default: the stack itself);
#      OVERRIDES=<file.yaml> deep-merges a map of config keys over the base (e.g. cluster, namespace).
#      THIRD_PARTY_IMAGES=1 (or a file) sets shop:images.thirdParty.<name> to the images built here, by digest,
#      from $SHOP_RUN/third-party-images.json (scripts/images.sh third-party); keys the config sets win.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STACK="${1:?usage: stack-config.sh <stack> [images.json]}"
IMAGES="${2:-}"
SECRET_KEYS=(jwtKey mysqlPassword redisPassword rabbitmqPassword grafanaAdminPassword elasticPassword)
COMMITTED="$REPO_ROOT/Pulumi.${BASE_STACK:-$STACK}.yaml"
GEN="$STACK_CONFIG_DIR/Pulumi.$STACK.yaml"
[[ -z "${OVERRIDES:-}" || -f "$OVERRIDES" ]] || die "overrides file $OVERRIDES not found"
[[ -f "$COMMITTED" ]] || die "no Pulumi.${BASE_STACK:-$STACK}.yaml in the repo (stacks: $(cd "$REPO_ROOT" && ls Pulumi.*.yaml | sed 's/Pulumi\.\(.*\)\.yaml/\1/' | tr '\n' ' '))"
[[ -z "$IMAGES" || -f "$IMAGES" ]] || die "images file $IMAGES not found"
THIRD_PARTY="${THIRD_PARTY_IMAGES:-}"
[[ "$THIRD_PARTY" != 1 ]] || THIRD_PARTY="$SHOP_RUN/third-party-images.json"
[[ -z "$THIRD_PARTY" || -f "$THIRD_PARTY" ]] || die "third-party images file $THIRD_PARTY not found; run scripts/images.sh third-party first"
mkdir -p "$STACK_CONFIG_DIR"
cd "$REPO_ROOT"

stack_exists() { pulumi stack ls --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.exit(JSON.parse(s||"[]").some(x=>x.name===process.argv[1])?0:1))' "$1"; }

salt=""
if stack_exists "$STACK"; then
  [[ -f "$GEN" ]] || die "stack '$STACK' exists in $PULUMI_BACKEND_URL but its generated config $GEN is gone; remove the stack (pulumi stack rm $STACK --force) or restore the file"
  salt="$(sed -n 's/^encryptionsalt: //p' "$GEN")"
else
  # Create the stack from a scratch copy of the project so `stack init` writes its salt there, not into the repo.
  scratch="$(mktemp -d)"; cp Pulumi.yaml "$scratch/"
  (cd "$scratch" && pulumi stack init "$STACK" --secrets-provider passphrase >/dev/null)
  salt="$(sed -n 's/^encryptionsalt: //p' "$scratch/Pulumi.$STACK.yaml")"
  rm -rf "$scratch"
  rm -f "$GEN"   # secrets of an earlier stack of this name were encrypted with another salt
fi
[[ -n "$salt" ]] || die "could not read the encryption salt of stack '$STACK'"

# Committed config + overrides + the image digests (as `shop:images.prebuilt`) + the secrets kept from the
# last generation + the salt.
node - "$COMMITTED" "$GEN" "$salt" "${OVERRIDES:-}" "$IMAGES" "$LOCAL_DOCKER_HOST" "$THIRD_PARTY" <<'JS'
const fs = require("fs");
const yaml = require("js-yaml");
const [committed, gen, salt, overridesFile, imagesFile, dockerHost, thirdPartyFile] = process.argv.slice(2);
const base = yaml.load(fs.readFileSync(committed, "utf8")) || {};
const old = fs.existsSync(gen) ? yaml.load(fs.readFileSync(gen, "utf8")) || {} : {};
const overrides = overridesFile ? yaml.load(fs.readFileSync(overridesFile, "utf8")) || {} : {};
const isObj = (v) => v && typeof v === "object" && !Array.isArray(v);
const merge = (a, b) => {
  if (!isObj(a) || !isObj(b)) return b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === null) delete out[k]; // null in the overrides removes a key
    else out[k] = merge(a[k], v);
  }
  return out;
};
const images = imagesFile ? { "shop:images": { prebuilt: JSON.parse(fs.readFileSync(imagesFile, "utf8")) } } : {};
const config = merge(merge({ ...(base.config || {}) }, overrides), images);
for (const [k, v] of Object.entries(config)) if (v === null) delete config[k];
// The images built here, under the program's names (the MariaDB image stands in for mysql); the cluster's
// own (pause, coredns, traefik) are not the program's.
if (thirdPartyFile) {
  const built = JSON.parse(fs.readFileSync(thirdPartyFile, "utf8"));
  const names = { mariadb: "mysql", redis: "redis", rabbitmq: "rabbitmq", prometheus: "prometheus", alertmanager: "alertmanager", "kube-state-metrics": "kube-state-metrics" };
  const images = config["shop:images"] || {};
  const set = { ...(images.thirdParty || {}) };
  const stores = config["shop:dataStores"] || {};
  for (const [from, to] of Object.entries(names)) if (built[from] && set[to] === undefined && !(stores[to] || {}).image) set[to] = built[from];
  config["shop:images"] = { ...images, thirdParty: set };
}
// The daemon the program's docker provider builds with, when it builds (no prebuilt images).
if (!(config["shop:docker"] || {}).host) config["shop:docker"] = { ...(config["shop:docker"] || {}), host: dockerHost };
const kept = (old.config || {})["shop:secrets"];
if (kept && !config["shop:secrets"]) config["shop:secrets"] = kept;
fs.writeFileSync(gen, yaml.dump({ config, encryptionsalt: salt }, { lineWidth: -1, noRefs: true }));
JS

cfg() { pulumi config --config-file "$GEN" -s "$STACK" "$@"; }
have="$(cfg get shop:secrets --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const v=JSON.parse(s);const o=typeof v.value==="string"?JSON.parse(v.value):v.value||{};console.log(Object.keys(o).join(" "))}catch{console.log("")}})')" || have=""
[[ "${GENERATE_SECRETS:-1}" == 1 ]] || SECRET_KEYS=()
for k in "${SECRET_KEYS[@]}"; do
  [[ " $have " == *" $k "* ]] && continue
  # The value goes through stdin, so it never shows up in a process list.
  openssl rand -hex 24 | tr -d '\n' | cfg set --secret --path "shop:secrets.$k"
done
echo "$GEN"
