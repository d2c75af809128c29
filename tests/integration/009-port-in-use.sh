#!/bin/sh
# A port already taken stops echod with the listener and the reason; the
# echod that holds it is undisturbed.  A restart right after echod closed
# connections itself (TIME_WAIT on its port) succeeds.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; close_after_reply = true; }
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"

for proto in tcp udp; do
	write_conf "$tmp/second.conf" <<CONF
{ protocol = "$proto"; address = "127.0.0.1"; port = $p; }
CONF
	start_must_fail "$tmp/second.conf" "a second echod on $proto port $p" \
	    "$proto 127.0.0.1:$p: Address already in use"
done
expect_eq "$("$ECHOD_TCP" -m 'still here' 127.0.0.1 "$p")" "STILL HERE" "first echod still serves tcp"
expect_eq "$("$ECHOD_UDP" -m 'still here' 127.0.0.1 "$p")" "STILL HERE" "first echod still serves udp"

# echod closed those connections first, so its port has TIME_WAIT sockets.
stop_echod
start_echod "$tmp/echod.conf"
expect_eq "$("$ECHOD_TCP" -m 'again' 127.0.0.1 "$p")" "AGAIN" "restart on a port in TIME_WAIT"
stop_echod
