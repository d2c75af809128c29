#!/bin/sh
# echod-bench checks what it measures: each mode runs briefly against the
# real echod with every reply right, and a wrong --expect is caught.
# udp -w keeps several datagrams in flight; --proxy v1 and v2 (tcp,
# connect, udp) reach a proxy_protocol listener, whose log names the
# sources sent and whose max_connections_per_ip counts them.
# Correctness only: no figure here is compared with a speed.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
pp=$(free_port) # PROXY, log_messages
pl=$(free_port) # PROXY, max_connections_per_ip = 2
bal='proxy_protocol = true; proxy_from = ( "127.0.0.1" );'
write_conf "$tmp/echod.conf" "workers = 2; udp_rate = 0;" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pp; transform = "upper"; log_messages = true; $bal }
{ protocol = "udp"; address = "127.0.0.1"; port = $pp; transform = "upper"; log_messages = true; $bal }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pl; transform = "upper"; max_connections_per_ip = 2; $bal }
CONF
start_echod "$tmp/echod.conf"

# bench_ok WHAT KEY ARGS...: exit 0, no mismatch, KEY above zero.
bench_ok() {
	what=$1 key=$2
	shift 2
	"$ECHOD_BENCH" -q -j -d 1 "$@" > "$tmp/out.json" ||
	    { cat "$tmp/out.json" >&2; fail "$what: echod-bench exited $?"; }
	expect_eq "$(json_field "$tmp/out.json" mismatches)" 0 "$what: no mismatch"
	expect_eq "$(json_field "$tmp/out.json" errors)" 0 "$what: no error"
	v=$(json_field "$tmp/out.json" "$key")
	awk -v v="$v" 'BEGIN { exit !(v > 0) }' || fail "$what: $key is '$v'"
	ok "$what: $key $v"
}

bench_ok "tcp ping-pong" messages -c 4 -e upper tcp 127.0.0.1 "$p"
bench_ok "stream" mb_per_s -c 2 -s 4096 -w 65536 -e upper stream 127.0.0.1 "$p"
bench_ok "connect" messages -c 4 -e upper connect 127.0.0.1 "$p"
bench_ok "udp ping-pong" messages -c 4 -e upper udp 127.0.0.1 "$p"
bench_ok "idle" held -c 20 -e upper idle 127.0.0.1 "$p"
expect_eq "$(json_field "$tmp/out.json" held)" 20 "idle: all 20 held"
bench_ok "udp, 16 in flight" messages -c 4 -w 16 -e upper udp 127.0.0.1 "$p"
expect_eq "$(json_field "$tmp/out.json" window)" 16 "udp -w 16: the window reported"
bench_ok "udp, 9 in flight on 1-byte messages" messages -c 2 -s 1 -w 9 -e upper udp 127.0.0.1 "$p"

# --proxy: each run names its own sources, which echod's log must show
# (and not the one after them).
# proxy_ok WHAT PROTOCOL AFTER SOURCE...: every SOURCE logged by the
# PROTOCOL listener, AFTER by none.
proxy_ok() {
	what=$1 proto=$2 after=$3
	shift 3
	for a; do
		wait_for grep -qF "$proto 127.0.0.1:$pp: Received from $a#" "$tmp/echod.log" ||
		    fail "$what: echod logged nothing from $a"
	done
	grep -qF "Received from $after#" "$tmp/echod.log" && fail "$what: $after was named"
	ok "$what: echod logged $*, not $after"
}
for pv in v1 v2; do
	pn=${pv#v}
	bench_ok "tcp --proxy $pv" messages -c 3 -e upper --proxy "$pv" \
	    --proxy-source "192.0.2.${pn}0" --proxy-sources 3 tcp 127.0.0.1 "$pp"
	expect_eq "$(json_field "$tmp/out.json" proxy_sources)" 3 "tcp --proxy $pv: 3 sources reported"
	proxy_ok "tcp --proxy $pv" tcp "192.0.2.${pn}3" "192.0.2.${pn}0" "192.0.2.${pn}1" "192.0.2.${pn}2"
	bench_ok "connect --proxy $pv" messages -c 3 -e upper --proxy "$pv" \
	    --proxy-source "192.0.2.${pn}4" --proxy-sources 2 connect 127.0.0.1 "$pp"
	proxy_ok "connect --proxy $pv" tcp "192.0.2.${pn}6" "192.0.2.${pn}4" "192.0.2.${pn}5"
	bench_ok "udp --proxy $pv" messages -c 3 -w 4 -e upper --proxy "$pv" \
	    --proxy-source "198.51.100.${pn}0" --proxy-sources 3 udp 127.0.0.1 "$pp"
	proxy_ok "udp --proxy $pv" udp "198.51.100.${pn}3" "198.51.100.${pn}0" "198.51.100.${pn}1" "198.51.100.${pn}2"
	bench_ok "tcp --proxy $pv from IPv6 to IPv4" messages -c 2 -e upper --proxy "$pv" \
	    --proxy-source "2001:db8::${pn}0" --proxy-sources 2 tcp 127.0.0.1 "$pp"
	proxy_ok "tcp --proxy $pv from IPv6" tcp "2001:db8::${pn}2" "2001:db8::${pn}0" "2001:db8::${pn}1"
done
"$ECHOD_BENCH" -q -d 1 -e upper --proxy v2 --proxy-sources 3 tcp 127.0.0.1 "$pp" > "$tmp/out.txt" ||
    fail "text report run with --proxy"
expect_match "$tmp/out.txt" ", PROXY v2 from 192.0.2.1 to 192.0.2.3" "the text report names the sources"

# max_connections_per_ip counts the address in the header: of 4 from one
# address 2 are held and 2 refused; spread over 2 addresses, all 4 held.
"$ECHOD_BENCH" -q -j -d 1 -c 4 -e upper --proxy v2 --proxy-source 192.0.2.99 \
    idle 127.0.0.1 "$pl" > "$tmp/out.json" 2> "$tmp/err"
expect_eq "$?" 2 "idle --proxy, one source over the limit: exits 2"
expect_eq "$(json_field "$tmp/out.json" held)" 2 "one source: 2 held"
expect_eq "$(json_field "$tmp/out.json" errors)" 2 "one source: 2 refused"
expect_match "$tmp/echod.log" "tcp 127.0.0.1:$pl: refused 192.0.2.99#" "echod refused the header's address"
expect_match "$tmp/echod.log" ": max_connections_per_ip (2) reached" "at its limit"
bench_ok "idle --proxy, two sources" held -c 4 -e upper --proxy v1 \
    --proxy-source 192.0.2.97 --proxy-sources 2 idle 127.0.0.1 "$pl"
expect_eq "$(json_field "$tmp/out.json" held)" 4 "two sources: all 4 held"

# The checking is real: rot13 is not what this listener answers.
"$ECHOD_BENCH" -q -j -d 1 -e rot13 tcp 127.0.0.1 "$p" > "$tmp/out.json"
expect_eq "$?" 2 "a wrong --expect exits 2"
[ "$(json_field "$tmp/out.json" mismatches)" -ge 1 ] ||
    fail "a wrong --expect counts no mismatch: $(cat "$tmp/out.json")"
ok "a wrong --expect is counted as a mismatch"

# The text report, and bad arguments.
"$ECHOD_BENCH" -q -d 1 -e upper tcp 127.0.0.1 "$p" > "$tmp/out.txt" ||
    fail "text report run"
expect_match "$tmp/out.txt" "messages/s" "the text report shows messages/s"
expect_match "$tmp/out.txt" "p99.9" "the text report shows p99.9 latency"
"$ECHOD_BENCH" ping 127.0.0.1 "$p" 2> "$tmp/err"
expect_eq "$?" 1 "an unknown mode exits 1"
expect_match "$tmp/err" '"ping" is not a mode' "and names it"
"$ECHOD_BENCH" -e lower tcp 127.0.0.1 "$p" 2> "$tmp/err"
expect_eq "$?" 1 "an unknown transform exits 1"
# bad_args WHAT PATTERN ARGS...: exit 1, PATTERN said.
bad_args() {
	what=$1 pattern=$2
	shift 2
	"$ECHOD_BENCH" "$@" 2> "$tmp/err"
	expect_eq "$?" 1 "$what exits 1"
	expect_match "$tmp/err" "$pattern" "$what: said why"
}
bad_args "--proxy v3" '"v3" is not v1 or v2' --proxy v3 tcp 127.0.0.1 "$p"
bad_args "--proxy-source without --proxy" "only with --proxy" --proxy-source 192.0.2.1 tcp 127.0.0.1 "$p"
bad_args "a --proxy-source that is a name" "is not an IPv4 or IPv6 address" \
    --proxy v1 --proxy-source localhost tcp 127.0.0.1 "$p"
bad_args "--proxy-sources past the end" "pass the end of the address space" \
    --proxy v1 --proxy-source 255.255.255.254 --proxy-sources 3 tcp 127.0.0.1 "$p"
bad_args "udp -w beyond what 2-byte numbers tell" "need messages of more than 2 bytes" \
    -s 2 -w 100 udp 127.0.0.1 "$p"
"$ECHOD_BENCH" --help > "$tmp/out.txt"
expect_eq "$?" 0 "--help exits 0"

echod_alive
stop_echod
