#!/bin/sh
# max_connections (in all and per listener) and max_connections_per_ip:
# a client over a limit is closed at once, is counted and logged, and
# everyone else goes on being served; a closed connection makes room.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

a=$(free_port)
b=$(free_port)
write_conf "$tmp/echod.conf" "max_connections = 8; max_connections_per_ip = 3;" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $a; max_connections = 5; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $b; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"

hold one -w 60 -b 127.0.0.1 127.0.0.1 "$a" 5
pid_one=$hold_pid
expect_eq "$(cat "$tmp/one")" "answered 3 refused 2 waiting 0" "per address: 3 of 5 connections"
hold two -w 60 -b 127.0.0.2 127.0.0.1 "$a" 5
expect_eq "$(cat "$tmp/two")" "answered 2 refused 3 waiting 0" "per listener: 5 in all on it"
hold three -w 60 -b 127.0.0.3 127.0.0.1 "$b" 3
expect_eq "$(cat "$tmp/three")" "answered 3 refused 0 waiting 0" "another listener: its own room"
hold four -w 60 -b 127.0.0.4 127.0.0.1 "$b" 1
expect_eq "$(cat "$tmp/four")" "answered 0 refused 1 waiting 0" "max_connections: 8 in all"

expect_match "$tmp/echod.log" "refused 127.0.0.1#" "a refusal is logged with the client"
expect_match "$tmp/echod.log" "max_connections_per_ip (3) reached" "the per-address limit is named"
# The second listener's refusals within LOG_LIMIT_SECONDS of the first
# are counted, not logged: a client can repeat them at will.
n=$(grep -c 'refused 127.0.0.2#' "$tmp/echod.log")
expect_eq "$n" 0 "refusals right after a logged one are not logged"
expect_match "$tmp/echod.log" "max_connections (8) reached" "the total is named"

# Closing the first five makes room again: in all, and for the address.
# Each close reaches echod's books a moment later, so ask until it has.
kill "$pid_one"
served_three() {
	[ "$(printf x | "$PROBE" tcp -w 5 -c 3 -b 127.0.0.1 127.0.0.1 "$a" 2>/dev/null)" = x ]
}
wait_for served_three || fail "127.0.0.1 never had room for 3 again"
ok "the address's count went back down"
wait_for tcp_answers 127.0.0.1 "$b" "room again" "ROOM AGAIN" ||
    fail "never served again on the full listener"
ok "room in all once others closed"

stop_echod
# 5 refused above, and any that asked again too early.
n=$(sed -n "s/^echod: closed tcp 127.0.0.1:$a: .*refused 0 by allow\/deny, \([0-9]*\) at a limit; .*/\1/p" "$tmp/echod.log")
[ "${n:-0}" -ge 5 ] || fail "listener a's refusals: '$n', expected 5 or more"
ok "refusals are counted per listener: $n"
