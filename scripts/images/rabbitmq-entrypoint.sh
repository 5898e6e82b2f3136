#!/bin/sh
# Entrypoint of the local RabbitMQ image. Accepts the environment of the official image:
#   RABBITMQ_DEFAULT_USER, RABBITMQ_DEFAULT_PASS, RABBITMQ_DEFAULT_VHOST (written into a config file
#   under /tmp, mode 0600, since the image is read-only), plus the server's own RABBITMQ_* variables.
# The node's data, cookie (HOME) and enabled-plugins file live on the volume /var/lib/rabbitmq; the node
# name is fixed, so a new pod name does not orphan the data directory (which is named after the node).
set -eu
conf=/tmp/rabbitmq-shop.config
umask 077
esc() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }
terms=""
add() { [ -z "$2" ] || terms="${terms:+$terms,
}  {$1, <<\"$(esc "$2")\">>}"; }
add default_user "${RABBITMQ_DEFAULT_USER:-}"
add default_pass "${RABBITMQ_DEFAULT_PASS:-}"
add default_vhost "${RABBITMQ_DEFAULT_VHOST:-}"
printf '[{rabbit, [\n%s\n]}].\n' "$terms" >"$conf"
export RABBITMQ_ADVANCED_CONFIG_FILE="$conf"
unset RABBITMQ_DEFAULT_PASS
exec rabbitmq-server "$@"
