#!/bin/sh
# allow and deny, over IPv4 and IPv6: the longest matching prefix
# decides, deny winning a tie; IPv4 clients of a dual-stack socket (seen
# as ::ffff:a.b.c.d) match IPv4 rules.  Refused connections are closed
# at once, refused datagrams dropped, and both are counted.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

"$PROBE" ipv6 || skip "no IPv6 on loopback"
a=$(free_port)
b=$(free_port)
c=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "::"; port = $a; allow = ( "127.0.0.0/8", "::1" ); deny = ( "127.0.0.2" ); }
{ protocol = "tcp"; address = "::"; port = $b; deny = ( "::1/128" ); }
{ protocol = "udp"; address = "::"; port = $c; allow = ( "127.0.0.1", "::ffff:127.0.0.4/127" ); }
CONF
start_echod "$tmp/echod.conf"

# tcp_from SOURCE HOST PORT: the reply to "x" sent from SOURCE, or "".
tcp_from() { printf x | "$PROBE" tcp -w 10 -b "$1" "$2" "$3" 2>/dev/null; }
udp_from() { printf x | "$PROBE" udp -w 2 -b "$1" "$2" "$3" 2>/dev/null; }

expect_eq "$(tcp_from 127.0.0.1 127.0.0.1 "$a")" x "a: 127.0.0.1 is in 127.0.0.0/8"
expect_eq "$(tcp_from 127.0.0.2 127.0.0.1 "$a")" "" "a: 127.0.0.2 is denied: /32 beats /8"
expect_eq "$(tcp_from ::1 ::1 "$a")" x "a: ::1 is allowed over IPv6"
expect_eq "$(tcp_from ::1 ::1 "$b")" "" "b: ::1 is denied"
expect_eq "$(tcp_from 127.0.0.1 127.0.0.1 "$b")" x "b: no allow list, so IPv4 is let in"

expect_eq "$(udp_from 127.0.0.1 127.0.0.1 "$c")" x "c: 127.0.0.1 is allowed"
expect_eq "$(udp_from 127.0.0.5 127.0.0.1 "$c")" x "c: a mapped /127 rule is an IPv4 /31"
expect_eq "$(udp_from 127.0.0.3 127.0.0.1 "$c")" "" "c: 127.0.0.3 is not allowed"
expect_eq "$(udp_from ::1 ::1 "$c")" "" "c: ::1 is not allowed"
expect_match "$tmp/echod.log" "not allowed by allow/deny" "a refusal is logged"

stop_echod
expect_match "$tmp/echod.log" "closed tcp [::]:$a: 2 connections (0 open), 2 messages (2 bytes), 2 replies (2 bytes), 0 closed idle; refused 1 by allow/deny" "a: one refusal counted"
expect_match "$tmp/echod.log" "closed tcp [::]:$b: 1 connections (0 open), 1 messages (1 bytes), 1 replies (1 bytes), 0 closed idle; refused 1 by allow/deny" "b: one refusal counted"
expect_match "$tmp/echod.log" "closed udp [::]:$c: 4 datagrams (4 bytes), 2 replies (2 bytes), 0 dropped; refused 2 by allow/deny" "c: two datagrams dropped"
