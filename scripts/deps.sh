#!/usr/bin/env bash
# Installs the Debian packages the repo's jobs and tests use, only when missing.
#   scripts/deps.sh [docker|node|stores|observability|bench|lint|all]...
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

declare -A GROUPS_=(
  [docker]="docker.io docker-registry busybox-static ca-certificates tzdata"
  # the real node (Debian's containerd and runc come with docker.io) and its images and checks
  [node]="containerd runc iptables mmdebstrap uidmap tcpdump"
  [stores]="mariadb-server redis-server rabbitmq-server"
  [observability]="prometheus prometheus-alertmanager"
  [bench]="wrk nginx-light"
  [lint]="shellcheck"
)

missing=()
(($#)) || set -- all
if [[ " $* " == *" all "* ]]; then set -- docker node stores observability bench lint; fi
for g in "$@"; do
  [[ -n "${GROUPS_[$g]:-}" ]] || die "unknown package group '$g' (use docker|node|stores|observability|bench|lint|all)"
  for p in ${GROUPS_[$g]}; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
done
if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Installing must not start the servers: the tests start their own on spare ports.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
