# shellcheck shell=bash
# tests/rig/mysql.sh - throwaway MariaDB 10.11 for the test rig (sourced by
# start.sh / stop.sh; needs rig-lib.sh).
#
# mariadbd runs as root on 127.0.0.1:$RIG_MYSQL_PORT (default 13306) with
# its socket in DIR/mysql; root has no password over TCP.  utf8mb4 is the
# server character set (as in Debian's packaged config), LOAD DATA LOCAL
# is enabled, packets up to 256 MiB, InnoDB tuned for speed over safety.
# RIG_MYSQL_ARGS: more mariadbd options, after (so overriding) these; the
# tests use it for a private server with other startup-only settings.

RIG_MYSQL_PORT=${RIG_MYSQL_PORT:-13306}

_my_client() {
    mariadb --no-defaults --connect-timeout=2 -uroot -h127.0.0.1 \
        -P"$RIG_MYSQL_PORT" "$@"
}

_my_ok() {
    [ "$(_my_client -N -B -e 'select 1' 2>/dev/null)" = 1 ]
}

_my_alive() {
    rig_pid_is "$(cat "$MYD/pid" 2>/dev/null)" 'mariadbd|mysqld'
}

# rig_start_mysql DIR (run in a subshell: exits on error)
rig_start_mysql() {
    local dir=$1 pid
    MYD=$dir/mysql
    if _my_alive && _my_ok; then
        rig_log "mysql: already running on port $RIG_MYSQL_PORT (pid $(cat "$MYD/pid"))"
        return 0
    fi
    if [ -e "$MYD/pid" ]; then
        rig_log "mysql: stale instance in $MYD: stopping it first"
        rig_stop_mysql "$dir"
    fi
    command -v mariadbd >/dev/null 2>&1 ||
        { rig_log "mysql: mariadbd not found (scripts/install-deps.sh installs mariadb-server)"; return 1; }
    rig_port_free mysql "$RIG_MYSQL_PORT" || return 1

    mkdir -p "$MYD"
    cd "$MYD" || return 1
    if [ ! -d "$MYD/data/mysql" ]; then
        rm -rf "$MYD/data"
        if ! mariadb-install-db --no-defaults --datadir="$MYD/data" --user=root \
                --auth-root-authentication-method=normal --skip-test-db \
                > "$MYD/install.log" 2>&1; then
            rig_log "mysql: mariadb-install-db failed"
            rig_tail "$MYD/install.log"
            return 1
        fi
    fi

    rm -f "$MYD/env"
    nohup mariadbd --no-defaults --datadir="$MYD/data" --user=root \
        --socket="$MYD/mysqld.sock" --pid-file="$MYD/mariadbd.pid" \
        --port="$RIG_MYSQL_PORT" --bind-address=127.0.0.1 \
        --log-error="$MYD/error.log" \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        --local-infile=1 --max-allowed-packet=256M --max-connections=200 \
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
        --innodb-buffer-pool-size=512M --innodb-log-file-size=256M \
        --skip-log-bin ${RIG_MYSQL_ARGS:-} \
        >> "$MYD/mariadbd.out" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$MYD/pid"
    if ! rig_wait mysql _my_ok _my_alive "$MYD/error.log" "$MYD/mariadbd.out"; then
        rig_stop_mysql "$dir"
        return 1
    fi
    cat > "$MYD/env" <<EOF
export MYSQL_HOST=127.0.0.1
export MYSQL_PORT=$RIG_MYSQL_PORT
export MYSQL_USER=root
export MYSQL_SOCKET='$MYD/mysqld.sock'
EOF
    rig_log "mysql: MariaDB $(_my_client -N -B -e 'select version()' 2>/dev/null) on 127.0.0.1:$RIG_MYSQL_PORT (pid $pid)"
}

rig_stop_mysql() {
    local dir=$1 pid
    MYD=$dir/mysql
    rm -f "$MYD/env"
    pid=$(cat "$MYD/pid" 2>/dev/null) || { rig_log "mysql: not started in $dir"; return 0; }
    rig_stop_pids mysql 'mariadbd|mysqld' TERM 60 "$pid"
    rm -f "$MYD/pid"
}
