#!/bin/sh
# The clients' errors and exit statuses: unknown host, refused, no reply
# in time (1); usage (2).
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
for c in "$ECHOD_TCP" "$ECHOD_UDP"; do
	name=$(basename "$c")
	"$c" -m x no-such-host.invalid "$p" > "$tmp/out" 2>&1
	expect_eq "$?" 1 "$name: unknown host exits 1"
	expect_match "$tmp/out" "no-such-host.invalid port $p:" "$name: unknown host named"

	"$c" -m x 127.0.0.1 "$p" > "$tmp/out" 2>&1
	expect_eq "$?" 1 "$name: nothing listening exits 1"
	expect_match "$tmp/out" "127.0.0.1 port $p: Connection refused" "$name: refusal reported"

	"$c" > "$tmp/out" 2>&1
	expect_eq "$?" 2 "$name: no host is a usage error"
	"$c" -w -1 -m x 127.0.0.1 > "$tmp/out" 2>&1
	expect_eq "$?" 2 "$name: a bad -w is a usage error"
	"$c" -h > "$tmp/out" 2>&1
	expect_eq "$?" 0 "$name: -h exits 0"
	expect_match "$tmp/out" "usage: $name" "$name: -h prints usage"
done

# A server that accepts but never answers.
"$PROBE" sink "$p" > "$tmp/sink" &
bg_pids=$!
wait_for grep -q ready "$tmp/sink" || fail "sink did not start"
for c in "$ECHOD_TCP" "$ECHOD_UDP"; do
	name=$(basename "$c")
	"$c" -w 0.5 -m x 127.0.0.1 "$p" > "$tmp/out" 2>&1
	expect_eq "$?" 1 "$name: no reply exits 1"
	expect_match "$tmp/out" "no reply from 127.0.0.1 port $p within 0.5 s" "$name: time-out reported"
done
