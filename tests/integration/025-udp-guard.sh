#!/bin/sh
# UDP loop and reflection guard: no reply to a datagram from a source
# port below 1024, from one of echod's own UDP ports, or from a port in
# udp_ignore_ports; no more than udp_rate a second (udp_burst at once)
# to one source address.  Each drop is counted.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
q=$(free_port)
# One worker: it answers datagrams in the order they come (udpburst
# relies on that).
write_conf "$tmp/echod.conf" "workers = 1; udp_ignore_ports = ( $q ); udp_rate = 1; udp_burst = 3;" <<CONF
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"

# unanswered WHAT PROBE-OPTIONS...: no reply within 2 s.  Not a timing
# claim: an answered datagram comes back in microseconds, and the
# refusal is then read from echod's own count.
unanswered() {
	what=$1
	shift
	if printf 'loop?' | "$PROBE" udp -w 2 "$@" 127.0.0.1 "$p" > "$tmp/reply" 2>/dev/null; then
		fail "$what: answered '$(cat "$tmp/reply")'"
	fi
	ok "$what: no reply"
}

expect_eq "$(printf 'hello' | "$PROBE" udp -b 127.0.0.1 127.0.0.1 "$p")" "HELLO" "an ordinary client is answered"

loops=0
if [ "$(id -u)" -eq 0 ]; then
	low=$("$PROBE" free-low-port) || fail "no free port below 1024"
	unanswered "from port $low, below 1024" -b 127.0.0.1 -p "$low"
	loops=$((loops + 1))
else
	echo "not root: cannot send from a port below 1024; that case is skipped"
fi
# Another address, so the port can be echod's own.
unanswered "from echod's own port $p" -b 127.0.0.2 -p "$p"
unanswered "from udp_ignore_ports's $q" -b 127.0.0.1 -p "$q"
loops=$((loops + 2))
expect_match "$tmp/echod.log" "is never answered" "a drop is logged"

# 20 at once from one address: its bucket starts full, so the first 3
# (udp_burst) are answered, and it gains a token a second (udp_rate), so
# no more are unless echod took a second over the 20.  udpburst counts
# the replies once a marker sent after them from 127.0.0.7 is answered,
# and says how long that took: at most how long echod can have spent on
# the 20, as its clock sees it within a tick (10 ms at worst).
"$PROBE" udpburst -b 127.0.0.5 127.0.0.1 "$p" 20 127.0.0.7 > "$tmp/burst" ||
    fail "udpburst: no answer to its marker"
read -r n ms < "$tmp/burst"
if [ "$ms" -lt 900 ]; then
	expect_eq "$n" 3 "udp_rate: udp_burst's 3 of 20 at once answered"
else
	# A machine so busy that the exact count is not knowable: a token
	# may have come back for each second.
	if [ "$n" -lt 3 ] || [ "$n" -gt $((3 + ms / 1000 + 1)) ]; then
		fail "udp_rate: $n of 20 answered in $ms ms"
	fi
	ok "udp_rate: $n of 20 answered in $ms ms (slow: 3 plus one a second)"
fi
expect_eq "$(printf 'other' | "$PROBE" udp -b 127.0.0.6 127.0.0.1 "$p")" "OTHER" "another address is not held back"

stop_echod
expect_match "$tmp/echod.log" "over udp_rate, $loops from a source never answered" "every drop is counted"
over=$(sed -n 's/.*, \([0-9]*\) over udp_rate.*/\1/p' "$tmp/echod.log")
expect_eq "$over" $((20 - n)) "every datagram over the rate is counted"
