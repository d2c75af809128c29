#!/bin/sh
# SIGTERM: echod stops accepting, goes on serving a client that still
# talks to it, closes each connection cleanly once it owes nothing, and
# exits 0; a client that takes nothing is cut off after
# shutdown_timeout.  A second signal stops at once.  (034 holds the
# cut-off to a reset, never a clean close.)
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
# start_slow: the slow client on $p, in the background, once it stalls.
start_slow() {
	rm -f "$tmp/go"
	: > "$tmp/slow"
	python3 "$(dirname "$TESTLIB")/flood.py" "$p" "$tmp/go" > "$tmp/slow" &
	slow=$!
	bg_pids="$bg_pids $slow"
	wait_for grep -q '^sent' "$tmp/slow" || fail "the slow client did not stall"
}

# slow_then_term SECONDS: echod with shutdown_timeout SECONDS, a slow
# client stalled on it, then SIGTERM.
slow_then_term() {
	write_conf "$tmp/echod.conf" "shutdown_timeout = $1;" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
	start_echod "$tmp/echod.conf"
	start_slow
	kill -TERM "$echod_pid"
}

write_conf "$tmp/echod.conf" "shutdown_timeout = 30;" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; max_pending = 1048576; }
CONF
start_echod "$tmp/echod.conf"
start_slow
kill -TERM "$echod_pid"
wait_for grep -q "SIGTERM: shutting down; 1 connections to finish" "$tmp/echod.log" ||
    fail "no shutdown logged"
ok "SIGTERM with a reply pending: $(cat "$tmp/slow")"
"$ECHOD_TCP" -m 'late' 127.0.0.1 "$p" > /dev/null 2>&1 && fail "accepted a client after SIGTERM"
ok "no new connections while finishing"
echod_alive
ok "still running while a reply is pending"
touch "$tmp/go"
wait "$slow"
bg_pids=
expect_match "$tmp/slow" " complete intact" \
    "every byte sent before SIGTERM comes back after it, then a clean close"
wait_exit "$echod_pid" || fail "echod exited $? after finishing"
echod_pid=
ok "echod exits 0 once the last reply is sent"
grep -q "shutdown_timeout" "$tmp/echod.log" && fail "the deadline fired"
ok "well before shutdown_timeout"

# A client that never reads: cut off when shutdown_timeout runs out.
slow_then_term 2
wait_exit "$echod_pid" || fail "echod exited $? at the deadline"
echod_pid=
expect_match "$tmp/echod.log" "shutdown_timeout (2 s): closing 1 connections that are not done" \
    "the deadline closes what is left, and says so"
kill "$slow" 2>/dev/null
bg_pids=

# Idle clients (the lab's client connects, then waits for its user):
# closed at once, so echod stops long before the deadline.
write_conf "$tmp/echod.conf" "shutdown_timeout = 60;" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"
hold idle 127.0.0.1 "$p" 5
kill -TERM "$echod_pid"
wait_exit "$echod_pid" || fail "echod exited $? with idle clients"
echod_pid=
grep -q "shutdown_timeout" "$tmp/echod.log" && fail "idle clients held echod until the deadline"
ok "idle connections do not hold a shutdown"

# A second signal: at once.
slow_then_term 600
wait_for grep -q "SIGTERM: shutting down" "$tmp/echod.log" || fail "no shutdown logged"
kill -INT "$echod_pid"
wait_exit "$echod_pid" || fail "echod exited $? on a second signal"
echod_pid=
expect_match "$tmp/echod.log" "SIGINT: stopping now" "a second signal stops at once"
