#!/bin/sh
# SIGTERM never turns "not answered" into a clean close.  A client sends
# more than the socket buffers hold without reading, shuts down its
# write side, and echod gets SIGTERM; then the client reads.  It must
# get either every byte back, transformed, before a clean close, or a
# reset.  A clean close after missing bytes is the failure.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)

# run TIMEOUT WHEN: echod with shutdown_timeout TIMEOUT, a stalled
# flood client, SIGTERM; the client reads at once (WHEN "now") or once
# echod has exited ("after").  The client's verdict is in $tmp/flood.
run() {
	write_conf "$tmp/echod.conf" "shutdown_timeout = $1;" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
	start_echod "$tmp/echod.conf"
	rm -f "$tmp/go"
	: > "$tmp/flood"
	python3 "$(dirname "$TESTLIB")/flood.py" "$p" "$tmp/go" --shutdown \
	    > "$tmp/flood" &
	flood=$!
	bg_pids="$bg_pids $flood"
	wait_for grep -q '^sent' "$tmp/flood" || fail "the client did not stall"
	kill -TERM "$echod_pid"
	if [ "$2" = after ]; then
		wait_exit "$echod_pid" || fail "echod exited $? at the deadline"
		echod_pid=
	fi
	touch "$tmp/go"
	wait "$flood"
	bg_pids=
	if [ -n "$echod_pid" ]; then
		wait_exit "$echod_pid" || fail "echod exited $?"
		echod_pid=
	fi
	grep -q "^got .* intact$" "$tmp/flood" ||
	    fail "replies not an upper-case copy: $(cat "$tmp/flood")"
	grep -q TRUNCATED "$tmp/flood" &&
	    fail "a clean close with bytes missing: $(cat "$tmp/flood")"
	return 0
}

# The client reads at once, with time to spare: served to the end.
run 60 now
expect_match "$tmp/flood" " complete intact" \
    "a client still talking is served to the end after SIGTERM"
grep -q "shutdown_timeout" "$tmp/echod.log" && fail "the deadline fired"

# The client reads only after the deadline: a reset, never a clean close.
run 1 after
expect_match "$tmp/flood" " reset intact" \
    "at the deadline, a connection with input unanswered is reset"
expect_match "$tmp/echod.log" "reset 1 connection with input not answered" \
    "the reset is logged"

# Twenty runs at every timing in between: complete or reset, and never
# a clean close after a cut-short echo.
complete=0 reset=0 round=0 # not i: wait_for counts with that
while [ "$round" -lt 20 ]; do
	round=$((round + 1))
	case $((round % 4)) in
	0) run 1 now ;;
	1) run 1 after ;;
	2) run 2 now ;;
	3) run 30 now ;;
	esac
	if grep -q " complete intact" "$tmp/flood"; then
		complete=$((complete + 1))
	else
		reset=$((reset + 1))
	fi
done
expect_eq "$((complete + reset))" 20 \
    "20 stops: $complete complete, $reset reset, none truncated"
