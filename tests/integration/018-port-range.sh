#!/bin/sh
# The scanning exercise: a listener on a port range binds one free port
# picked at random and logs it; a scan of the range finds exactly that
# port.  same_port gives TCP and UDP one pick; taken ports are skipped.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"


lo=$("$PROBE" free-range 40) || fail "no free range"
hi=$((lo + 19))
lo2=$((lo + 20))
hi2=$((lo + 39))
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = "$lo-$hi"; transform = "upper"; }
{ protocol = "tcp"; address = "127.0.0.1"; port = "$lo2-$hi2"; same_port = true; transform = "rot13"; }
{ protocol = "udp"; address = "127.0.0.1"; port = "$lo2-$hi2"; same_port = true; transform = "rot13"; }
CONF
start_echod "$tmp/echod.conf"
expect_match "$tmp/echod.log" "(picked from $lo-$hi), transform upper" "the pick is logged"
port=$(sed -n "s/.*listening on tcp 127\.0\.0\.1:\([0-9]*\) (picked from $lo-$hi).*/\1/p" "$tmp/echod.log")
[ -n "$port" ] || fail "no port in the log"
expect_eq "$("$PROBE" scan 127.0.0.1 "$lo" "$hi")" "$port" \
    "a connect() scan of $lo-$hi finds exactly the logged port"
expect_eq "$("$ECHOD_TCP" -m 'found it' 127.0.0.1 "$port")" "FOUND IT" "the found port answers"

tport=$(sed -n "s/.*listening on tcp 127\.0\.0\.1:\([0-9]*\) (picked from $lo2-$hi2).*/\1/p" "$tmp/echod.log")
uport=$(sed -n "s/.*listening on udp 127\.0\.0\.1:\([0-9]*\) (picked from $lo2-$hi2).*/\1/p" "$tmp/echod.log")
[ -n "$tport" ] || fail "no tcp port in the log"
expect_eq "$uport" "$tport" "same_port: tcp and udp got one pick"
expect_eq "$("$ECHOD_UDP" -m 'abc' 127.0.0.1 "$uport")" "nop" "udp answers on the shared port"
stop_echod

# Taken ports are skipped: with all but one of a 3-port range held by
# another program, echod gets the free one; a fixed port in the range is
# the fixed listener's, never the range's.
"$PROBE" sink "$lo" > "$tmp/sink1" & bg_pids="$bg_pids $!"
"$PROBE" sink "$((lo + 2))" > "$tmp/sink2" & bg_pids="$bg_pids $!"
wait_for grep -q ready "$tmp/sink1" || fail "sink 1"
wait_for grep -q ready "$tmp/sink2" || fail "sink 2"
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = "$lo-$((lo + 2))"; }
{ protocol = "tcp"; address = "127.0.0.1"; port = "$lo2-$((lo2 + 1))"; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $lo2; }
CONF
start_echod "$tmp/echod.conf"
expect_match "$tmp/echod.log" "listening on tcp 127.0.0.1:$((lo + 1)) (picked from $lo-$((lo + 2)))" \
    "the one free port of the range is picked"
expect_match "$tmp/echod.log" "listening on tcp 127.0.0.1:$((lo2 + 1)) (picked from $lo2-$((lo2 + 1)))" \
    "a range leaves a listener's fixed port alone"
stop_echod

# A range with no free port is a clear start-up error.
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = "$lo-$lo"; }
CONF
start_must_fail "$tmp/echod.conf" "a range with no free port" \
    "tcp 127.0.0.1:$lo: Address already in use"
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "udp"; address = "127.0.0.1"; port = "$lo-$((lo + 2))"; }
{ protocol = "udp"; address = "127.0.0.1"; port = "$lo-$((lo + 2))"; }
{ protocol = "udp"; address = "127.0.0.1"; port = "$lo-$((lo + 2))"; }
CONF
start_must_fail "$tmp/echod.conf" "a range too small for its listeners" \
    "udp 127.0.0.1:$lo-$((lo + 2)): every port of the range is in use"
