#!/bin/sh
# close_after_reply: like the lab's TCP server, one reply, then echod
# closes.  echod-tcp reconnects for its next line.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; close_after_reply = true; }
CONF
start_echod "$tmp/echod.conf"

expect_eq "$("$ECHOD_TCP" -m 'just once' 127.0.0.1 "$p")" "JUST ONCE" "-m gets the reply"

# The probe does not shut down its side; it ends only when echod closes.
printf 'then close' | "$PROBE" tcp -n -w 30 127.0.0.1 "$p" > "$tmp/out" ||
    fail "echod did not close after the reply"
expect_eq "$(cat "$tmp/out")" "THEN CLOSE" "reply, then echod closes the connection"

before=$(grep -c ': connected' "$tmp/echod.log")
printf 'first\nsecond\nthird\n' | "$ECHOD_TCP" 127.0.0.1 "$p" > "$tmp/out"
expect_eq "$?" 0 "piped lines against close_after_reply exit 0"
expect_eq "$(cat "$tmp/out")" "$(printf 'FIRST\nSECOND\nTHIRD')" "each line answered"
after=$(grep -c ': connected' "$tmp/echod.log")
expect_eq "$((after - before))" 3 "one connection per line"

echod_alive
stop_echod
