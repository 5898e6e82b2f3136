#!/bin/sh
# Entrypoint of the local MariaDB image. Accepts the environment of the official MySQL image:
#   MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD, and one of MYSQL_ROOT_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD=yes
#   or MYSQL_ALLOW_EMPTY_PASSWORD=yes (each password also as <NAME>_FILE, read from that file).
# The data directory is a subdirectory of the volume, so a volume's lost+found never meets the server:
#   MYSQL_DATADIR, or a --datadir=<dir> argument; default /var/lib/mysql/data.
# A first start initialises into <datadir>.init and renames it at the end: an interrupted first start
# begins again instead of leaving a half-made database behind. Other arguments go to mariadbd.
set -eu

datadir="${MYSQL_DATADIR:-/var/lib/mysql/data}"
for a in "$@"; do
  case "$a" in --datadir=*) datadir="${a#--datadir=}" ;; esac
done

fail() { printf 'mariadb-entrypoint: %s\n' "$*" >&2; exit 1; }

# file_env NAME: NAME_FILE's contents become NAME (not both).
file_env() {
  eval "v=\${$1:-}; f=\${$1_FILE:-}"
  if [ -n "$f" ]; then
    [ -z "$v" ] || fail "both $1 and $1_FILE are set; set one"
    [ -r "$f" ] || fail "$1_FILE names $f, which cannot be read"
    v="$(cat "$f")"
  fi
  eval "$1=\$v"
}

# sql_string TEXT: TEXT as a quoted SQL string literal (printf: dash's echo mangles backslashes).
sql_string() { printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")"; }
sql_name() { printf '`%s`' "$(printf '%s' "$1" | sed -e 's/`/``/g')"; }

init() {
  file_env MYSQL_ROOT_PASSWORD
  file_env MYSQL_PASSWORD
  root_pw="$MYSQL_ROOT_PASSWORD"
  if [ -z "$root_pw" ]; then
    if [ "${MYSQL_RANDOM_ROOT_PASSWORD:-}" = "yes" ]; then
      # Random, never printed: the root account is not for use from outside the pod.
      root_pw="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
    elif [ "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" != "yes" ]; then
      fail "the database is not initialised and no root password option is set: set MYSQL_ROOT_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD=yes or MYSQL_ALLOW_EMPTY_PASSWORD=yes"
    fi
  fi
  if [ -n "${MYSQL_USER:-}" ]; then
    [ "$MYSQL_USER" != root ] || fail "MYSQL_USER=root: root is made from MYSQL_ROOT_PASSWORD; name another user"
    [ -n "$MYSQL_PASSWORD" ] || fail "MYSQL_USER is set without MYSQL_PASSWORD; set MYSQL_PASSWORD"
  fi

  tmp="$datadir.init"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  echo "mariadb-entrypoint: initialising $datadir" >&2
  mariadb-install-db --datadir="$tmp" --skip-test-db --auth-root-authentication-method=normal \
    --skip-name-resolve --user="$(id -un)" >/dev/null

  sock="/tmp/mariadb-init.sock"
  mariadbd --datadir="$tmp" --skip-networking --socket="$sock" --skip-log-bin &
  pid=$!
  i=0
  until mariadb --protocol=socket --socket="$sock" -uroot -e 'SELECT 1' >/dev/null 2>&1; do
    i=$((i + 1))
    kill -0 "$pid" 2>/dev/null || fail "the server stopped during initialisation"
    [ "$i" -lt 300 ] || fail "the server did not answer within 30 s during initialisation"
    sleep 0.1
  done
  {
    printf "DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host NOT IN ('localhost'));\n"
    # Rows for the initialising container's hostname mean nothing in another pod.
    printf "DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost');\n"
    printf "ALTER USER 'root'@'localhost' IDENTIFIED BY %s;\n" "$(sql_string "$root_pw")"
    printf "CREATE USER 'root'@'%%' IDENTIFIED BY %s;\n" "$(sql_string "$root_pw")"
    printf "GRANT ALL ON *.* TO 'root'@'%%' WITH GRANT OPTION;\n"
    if [ -n "${MYSQL_DATABASE:-}" ]; then
      printf 'CREATE DATABASE IF NOT EXISTS %s;\n' "$(sql_name "$MYSQL_DATABASE")"
    fi
    if [ -n "${MYSQL_USER:-}" ]; then
      printf "CREATE USER %s@'%%' IDENTIFIED BY %s;\n" "$(sql_string "$MYSQL_USER")" "$(sql_string "$MYSQL_PASSWORD")"
      if [ -n "${MYSQL_DATABASE:-}" ]; then
        printf "GRANT ALL ON %s.* TO %s@'%%';\n" "$(sql_name "$MYSQL_DATABASE")" "$(sql_string "$MYSQL_USER")"
      fi
    fi
    printf 'FLUSH PRIVILEGES;\n'
  } | mariadb --protocol=socket --socket="$sock" -uroot || { kill "$pid"; fail "creating the database and user failed"; }
  kill "$pid"
  wait "$pid" || true
  mv "$tmp" "$datadir"
  echo "mariadb-entrypoint: initialised" >&2
}

[ -d "$datadir/mysql" ] || init
unset MYSQL_PASSWORD MYSQL_ROOT_PASSWORD
# Debian's configuration binds 127.0.0.1; a pod serves on its own address.
exec mariadbd --datadir="$datadir" --bind-address=0.0.0.0 --skip-name-resolve "$@"
