#!/bin/sh
# systemd: the units pass `systemd-analyze verify` and score within the
# targets of `systemd-analyze security` (1.5 standalone, 0.5 socket-
# activated); echod adopts sockets passed by systemd-socket-activate (TCP
# and UDP: two nested calls), matching each to its listener or to the
# metrics listener or the console, refuses one that matches none, and tells
# NOTIFY_SOCKET when it is ready, reloading, stopping, and alive (the
# watchdog).  No systemd as PID 1 is needed.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

[ "${HAVE_HTTP:-yes}" = yes ] || skip "built without libmicrohttpd: the passed metrics socket cannot be served"

command -v systemd-analyze > /dev/null || skip "no systemd-analyze (Debian: systemd)"
command -v systemd-socket-activate > /dev/null || skip "no systemd-socket-activate"

# The units as built, pointed at this build's echod and config.
units="$tmp/units"
mkdir -p "$units"
for u in echod.service echod-socket.service; do
	sed -e "s|^\(Exec[A-Za-z]*=\)[^ ]*/echod |\1$ECHOD |" \
	    -e "s| -f [^ ]*echod.conf| -f $SAMPLE_CONF|" \
	    "$TOP_BUILDDIR/systemd/$u" > "$units/$u"
done
cp "$TOP_SRCDIR/systemd/echod.socket" "$units/"
(cd "$units" && systemd-analyze verify --man=no ./echod.service \
    ./echod-socket.service ./echod.socket) > "$tmp/verify" 2>&1 ||
    { cat "$tmp/verify"; fail "systemd-analyze verify"; }
[ -s "$tmp/verify" ] && { cat "$tmp/verify"; fail "systemd-analyze verify said something"; }
ok "systemd-analyze verify: all three units clean"

# exposure UNIT: the overall exposure, times ten ("1.4" is 14).
exposure() {
	(cd "$units" && systemd-analyze security --offline=true "./$1") 2>&1 |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9]*\)\.\([0-9]\).*/\1\2/p'
}
e=$(exposure echod.service)
[ "${e:-99}" -le 15 ] || fail "echod.service exposure is $e/10, above 1.5"
ok "echod.service: exposure $e/10, at most 1.5"
e=$(exposure echod-socket.service)
[ "${e:-99}" -le 5 ] || fail "echod-socket.service exposure is $e/10, above 0.5"
ok "echod-socket.service: exposure $e/10, at most 0.5"

# listening PORT: something accepts TCP connections there.
listening() { [ "$("$PROBE" scan 127.0.0.1 "$1" "$1")" = "$1" ]; }

notify_catch

tcp=$(free_port)
udp=$(free_port)
other=$(free_port)
metrics=$(free_port)
console=$(free_port)
# Both sockets passed, and the metrics listener's and the console's; one
# more listener, not passed, which echod opens.
write_conf "$tmp/echod.conf" "workers = 2; udp_rate = 0; metrics = { port = $metrics; }; console = { port = $console; };" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $tcp; transform = "upper"; }
{ protocol = "udp"; address = "127.0.0.1"; port = $udp; transform = "rot13"; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $other; transform = "rot13"; }
CONF
chmod 755 "$tmp"
: > "$tmp/echod.log"
# It waits for a first client before it starts echod.
systemd-socket-activate -l "127.0.0.1:$tcp" -l "127.0.0.1:$metrics" \
    -l "127.0.0.1:$console" systemd-socket-activate --datagram -l "127.0.0.1:$udp" \
    -E NOTIFY_SOCKET="$tmp/notify.sock" -E WATCHDOG_USEC=400000 \
    -E ASAN_OPTIONS -E UBSAN_OPTIONS -E TSAN_OPTIONS \
    "$ECHOD" -d -f "$tmp/echod.conf" >> "$tmp/echod.log" 2>&1 &
echod_pid=$!
wait_for listening "$tcp" || fail "no socket on $tcp"
expect_eq "$("$ECHOD_TCP" -m 'passed' 127.0.0.1 "$tcp")" "PASSED" "the first client starts echod and is answered"
expect_match "$tmp/echod.log" "4 sockets passed by systemd" "echod takes all four sockets"
expect_eq "$("$ECHOD_UDP" -m 'passed' 127.0.0.1 "$udp")" "cnffrq" "the passed udp socket serves its listener"
expect_eq "$("$ECHOD_TCP" -m 'opened' 127.0.0.1 "$other")" "bcrarq" "a listener with no passed socket is opened as usual"
python3 -c "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=20).read().decode())" \
    "http://127.0.0.1:$metrics/metrics" > "$tmp/scrape" || fail "no metrics on the passed socket"
# (The count of connections is not asserted: the probe that saw the
# port open was accepted too.)
expect_match "$tmp/scrape" "echod_messages_received_total{listener=\"tcp 127.0.0.1:$tcp\"} 1" \
    "the passed socket serves the metrics"
[ "$(http "$console" 127.0.0.1 'GET / HTTP/1.0\r\n\r\n' | head -n 1)" = 200 ] ||
    fail "no console on its passed socket"
ok "the passed socket serves the console"
wait_for grep -q '^READY=1' "$tmp/notify" || fail "no READY=1"
ok "READY=1 once the listeners are open"
wait_for grep -q '^WATCHDOG=1' "$tmp/notify" || fail "no WATCHDOG=1"
ok "WATCHDOG=1 pings, as WATCHDOG_USEC asks"

: > "$tmp/notify"
kill -HUP "$echod_pid"
wait_for grep -q '^READY=1' "$tmp/notify" || fail "no READY=1 after the reload"
grep -q '^RELOADING=1 MONOTONIC_USEC=[0-9][0-9]*$' "$tmp/notify" || { cat "$tmp/notify"; fail "no RELOADING=1 with MONOTONIC_USEC"; }
ok "a reload is RELOADING=1 with MONOTONIC_USEC=, then READY=1"
expect_eq "$("$ECHOD_TCP" -m 'kept' 127.0.0.1 "$tcp")" "KEPT" "the passed socket is kept by a reload"
kill -TERM "$echod_pid"
wait_exit "$echod_pid" || fail "echod exited $?"
echod_pid=
expect_match "$tmp/notify" "STOPPING=1" "STOPPING=1 on SIGTERM"

# A passed socket that no listener asks for: a clear error.
spare=$(free_port)
: > "$tmp/echod.log"
systemd-socket-activate -l "127.0.0.1:$spare" \
    "$ECHOD" -d -f "$tmp/echod.conf" >> "$tmp/echod.log" 2>&1 &
echod_pid=$!
wait_for listening "$spare" || fail "no socket on $spare"
wait_exit "$echod_pid" && fail "echod started with a socket it has no listener for"
echod_pid=
expect_match "$tmp/echod.log" "$tmp/echod.conf: the tcp socket 127.0.0.1:$spare passed by systemd matches no listener" \
    "a passed socket with no listener is an error that names it"
