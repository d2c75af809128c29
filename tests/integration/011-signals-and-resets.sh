#!/bin/sh
# Clients that reset mid-stream or vanish without reading cost only their
# own connection; SIGHUP does not stop echod; SIGINT and SIGTERM exit 0.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"

head -c 2097152 /dev/urandom > "$tmp/big"
i=0
while [ $i -lt 20 ]; do
	"$PROBE" reset 127.0.0.1 "$p" < "$tmp/big" || fail "reset client $i"
	i=$((i + 1))
done
echod_alive
expect_eq "$("$ECHOD_TCP" -m 'after resets' 127.0.0.1 "$p")" "AFTER RESETS" "serves after 20 resets mid-stream"

kill -HUP "$echod_pid"
wait_for grep -q 'SIGHUP' "$tmp/echod.log" || fail "SIGHUP not logged"
echod_alive
expect_eq "$("$ECHOD_TCP" -m 'after hup' 127.0.0.1 "$p")" "AFTER HUP" "serves after SIGHUP"

stop_echod INT
expect_match "$tmp/echod.log" "SIGINT: shutting down" "SIGINT logged"

start_echod "$tmp/echod.conf"
stop_echod TERM
expect_match "$tmp/echod.log" "SIGTERM: shutting down" "SIGTERM logged"
