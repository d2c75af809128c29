#!/bin/sh
# idle_timeout: a connection that sends nothing, or takes none of its
# replies, for that long is closed, counted and logged; a listener
# without one (idle_timeout = 0) keeps its connections.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

a=$(free_port)
b=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $a; idle_timeout = 1; max_pending = 4096; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $b; idle_timeout = 0; }
CONF
start_echod "$tmp/echod.conf"

# Held on b from the start: it must outlive every idle one on a.
hold held -b 127.0.0.3 127.0.0.1 "$b" 1
expect_eq "$(cat "$tmp/held")" "answered 1 refused 0 waiting 0" "a connection held where there is no idle_timeout"

# Silent from the start: echod closes it, and probe reads EOF.
out=$("$PROBE" tcp -n -w 60 127.0.0.1 "$a" < /dev/null) || fail "a silent connection was not closed"
expect_eq "$out" "" "a silent client is closed after idle_timeout"
expect_match "$tmp/echod.log" "idle for 1 s; closing" "the close is logged"

# Answered once, then silent: closed too, after its reply.
out=$(printf 'once' | "$PROBE" tcp -n -w 60 127.0.0.1 "$a") || fail "an idle connection was not closed"
expect_eq "$out" "once" "a client that went quiet gets its reply, then is closed"

# Sends and never reads: once max_pending is full nothing moves, and
# idle_timeout ends it too.
"$PROBE" flood -w 60 -b 127.0.0.9 127.0.0.1 "$a" 67108864 > "$tmp/flood" &
bg_pids="$bg_pids $!"
wait_for grep -Eq "127\.0\.0\.9:[0-9]+: closed" "$tmp/echod.log" ||
    fail "a client that does not read was never closed"
ok "a client that takes no replies is closed after idle_timeout"

stop_echod
expect_match "$tmp/echod.log" "closed tcp 127.0.0.1:$a: 3 connections" "three connections on a"
expect_match "$tmp/echod.log" "3 closed idle" "all three closed idle, counted"
expect_match "$tmp/echod.log" "closed tcp 127.0.0.1:$b: 1 connections (0 open), 1 messages (1 bytes), 1 replies (1 bytes), 0 closed idle" "none closed where idle_timeout = 0"
