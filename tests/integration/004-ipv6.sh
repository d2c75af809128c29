#!/bin/sh
# IPv6: listeners on ::1 and on ::, which serves IPv4 too unless
# ipv6_only is set.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

"$PROBE" ipv6 || skip "no IPv6 loopback (::1) on this machine"

p=$(free_port)
q=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "::1"; port = $p; transform = "upper"; }
{ protocol = "udp"; address = "::1"; port = $p; transform = "rot13"; }
{ protocol = "tcp"; address = "::"; port = $q; transform = "upper"; }
{ protocol = "udp"; address = "::"; port = $q; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"
expect_match "$tmp/echod.log" "listening on tcp [::1]:$p, transform upper" "IPv6 listener logged in brackets"

expect_eq "$("$ECHOD_TCP" -6 -m 'over six' ::1 "$p")" "OVER SIX" "tcp over ::1"
expect_eq "$("$ECHOD_UDP" -6 -m 'over six' ::1 "$p")" "bire fvk" "udp over ::1"
expect_eq "$("$ECHOD_TCP" -m 'dual tcp' ::1 "$q")" "DUAL TCP" ":: serves tcp over IPv6"
expect_eq "$("$ECHOD_TCP" -m 'dual tcp' 127.0.0.1 "$q")" "DUAL TCP" ":: serves tcp over IPv4"
expect_eq "$("$ECHOD_UDP" -m 'dual udp' ::1 "$q")" "DUAL UDP" ":: serves udp over IPv6"
expect_eq "$("$ECHOD_UDP" -m 'dual udp' 127.0.0.4 "$q")" "DUAL UDP" ":: answers IPv4 from the right address"
stop_echod

# ipv6_only leaves IPv4 to another listener on the same port.
write_conf "$tmp/v6only.conf" <<CONF
{ protocol = "tcp"; address = "::"; port = $q; transform = "upper"; ipv6_only = true; }
{ protocol = "tcp"; address = "0.0.0.0"; port = $q; transform = "rot13"; }
CONF
start_echod "$tmp/v6only.conf"
expect_eq "$("$ECHOD_TCP" -m 'which' ::1 "$q")" "WHICH" "ipv6_only listener takes IPv6"
expect_eq "$("$ECHOD_TCP" -m 'which' 127.0.0.1 "$q")" "juvpu" "the 0.0.0.0 listener takes IPv4"
stop_echod
