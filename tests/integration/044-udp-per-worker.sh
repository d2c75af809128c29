#!/bin/sh
# UDP with two workers: each reads a socket of its own, one of a
# SO_REUSEPORT group, so that a datagram wakes one worker, not both.
# Checked from outside: the sockets on the port (ss), and the worker
# threads' wake-ups (voluntary context switches in /proc) against the
# datagrams sent, one at a time, on 32 flows.  A second echod on the same
# ports still fails loudly, both when echod bound the sockets itself and
# when systemd-socket-activate passed one; a socket passed from another
# network namespace (PrivateNetwork=) is read by one worker alone, and
# two passed for one address (ReusePort=) are one a worker.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

command -v ss > /dev/null || skip "no ss (Debian: iproute2)"
chmod 755 "$tmp" # echod re-reads its config as nobody

p=$(free_port)
q=$(free_port)
write_conf "$tmp/echod.conf" "workers = 2; udp_rate = 0;" <<CONF
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
{ protocol = "udp"; address = "::"; port = $q; transform = "rot13"; }
CONF

# sockets PORT PID: how many UDP sockets PID holds on PORT.
sockets() {
	ss -H -uapn "sport = :$1" | grep -c "pid=$2,"
}

# bound PORT: some process has a UDP socket on PORT.
bound() {
	[ -n "$(ss -H -uan "sport = :$1")" ]
}

# wakeups PID: voluntary context switches of all of PID's threads, each
# on a line as "TID COUNT".
wakeups() {
	for t in /proc/"$1"/task/*; do
		printf '%s %s\n' "${t##*/}" \
		    "$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "$t/status")"
	done
}

# flows HOST PORT: 32 sockets each send 20 datagrams one at a time,
# waiting for each reply, and check every byte of it; prints the count.
flows() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
socks = [socket.socket(fam, socket.SOCK_DGRAM) for _ in range(32)]
n = 0
for s in socks:
    s.settimeout(20)
    for i in range(20):
        msg = b"flow %d message %d" % (socks.index(s), i)
        s.sendto(msg, (host, port))
        got, _ = s.recvfrom(2048)
        if got != msg.upper():
            sys.exit("reply %r to %r" % (got, msg))
        n += 1
print(n)
PY
}

# woken_per_datagram BEFORE AFTER SENT THREADS: every thread that is a
# worker woke (AFTER's counts above BEFORE's) and the sum of wake-ups is
# below 1.5 a datagram: with the two workers watching one socket, each
# datagram woke both, two a datagram.  Fewer wake-ups than datagrams
# only mean a worker found more than one waiting.
woken_per_datagram() {
	total=$(awk 'NR == FNR { b[$1] = $2; next } { d += $2 - b[$1] } END { print d }' "$1" "$2")
	[ "$((total * 2))" -lt "$(($3 * 3))" ] ||
	    fail "$total wake-ups of echod's threads for $3 datagrams"
	ok "$total wake-ups of echod's threads for $3 datagrams: one worker a datagram"
}

start_echod "$tmp/echod.conf"
expect_eq "$(sockets "$p" "$echod_pid")" 2 "udp 127.0.0.1: a socket for each of the two workers"
expect_eq "$(sockets "$q" "$echod_pid")" 2 "udp [::]: a socket for each of the two workers"

wakeups "$echod_pid" > "$tmp/before"
sent=$(flows 127.0.0.1 "$p") || fail "32 flows to 127.0.0.1"
wakeups "$echod_pid" > "$tmp/after"
expect_eq "$sent" 640 "640 datagrams on 32 flows, every reply right"
woken_per_datagram "$tmp/before" "$tmp/after" "$sent"
# Both workers had a share: 32 flows all hashed to one socket would be
# one chance in 2^31.  Worker 0 is the main thread, whose id is echod's.
awk -v main="$echod_pid" 'NR == FNR { b[$1] = $2; next }
    $1 != main && $2 - b[$1] >= 20 { w = 1 } END { exit !w }' "$tmp/before" "$tmp/after" ||
    fail "worker 1 served no flow"
ok "worker 1 served flows of its own"
# IPv4 to the dual-stack group, and IPv6.
expect_eq "$(printf 'dual\n' | "$ECHOD_UDP" 127.0.0.1 "$q")" "qhny" "udp [::] answers IPv4"
expect_eq "$(printf 'six\n' | "$ECHOD_UDP" ::1 "$q")" "fvk" "udp [::] answers IPv6"

# A second echod on the same ports: refused, loudly, and the first
# serves on.
write_conf "$tmp/second.conf" "workers = 2;" <<CONF
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "echo"; }
CONF
"$ECHOD" -d -f "$tmp/second.conf" > "$tmp/second.log" 2>&1 &
second=$!
wait_exit "$second" && fail "a second echod started on udp 127.0.0.1:$p"
expect_match "$tmp/second.log" "udp 127.0.0.1:$p: Address already in use" \
    "a second echod fails on the port the first holds"
expect_eq "$(printf 'still\n' | "$ECHOD_UDP" 127.0.0.1 "$p")" "STILL" "the first serves on"

# A reload keeps the group: still two sockets, still answered.
kill -HUP "$echod_pid"
wait_for grep -q "SIGHUP: reloaded" "$tmp/echod.log" || fail "no reload"
expect_eq "$(sockets "$p" "$echod_pid")" 2 "after a reload: still two sockets"
expect_eq "$(printf 'reloaded\n' | "$ECHOD_UDP" 127.0.0.1 "$p")" "RELOADED" "after a reload: answered"
stop_echod

# Passed by systemd-socket-activate, in echod's own network namespace:
# the passed socket is worker 0's, and echod binds worker 1's.
command -v systemd-socket-activate > /dev/null ||
    skip "no systemd-socket-activate (Debian: systemd); the passed cases are not run"
write_conf "$tmp/passed.conf" "workers = 2; udp_rate = 0;" <<CONF
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
: > "$tmp/echod.log"
systemd-socket-activate --datagram -l "127.0.0.1:$p" \
    -E ASAN_OPTIONS -E UBSAN_OPTIONS -E TSAN_OPTIONS \
    "$ECHOD" -d -f "$tmp/passed.conf" >> "$tmp/echod.log" 2>&1 &
echod_pid=$!
wait_for bound "$p" || fail "systemd-socket-activate bound no socket on $p"
# It starts echod at the first datagram.
expect_eq "$(printf 'first\n' | "$ECHOD_UDP" 127.0.0.1 "$p")" "FIRST" "the passed socket is served"
wait_for grep -q " ready" "$tmp/echod.log" || fail "echod not ready"
expect_match "$tmp/echod.log" "1 socket passed by systemd" "echod takes the passed socket"
expect_eq "$(sockets "$p" "$echod_pid")" 2 "passed: the passed socket and one echod bound, a worker each"
wakeups "$echod_pid" > "$tmp/before"
sent=$(flows 127.0.0.1 "$p") || fail "32 flows to the passed socket"
wakeups "$echod_pid" > "$tmp/after"
woken_per_datagram "$tmp/before" "$tmp/after" "$sent"
"$ECHOD" -d -f "$tmp/second.conf" > "$tmp/second.log" 2>&1 &
second=$!
wait_exit "$second" && fail "a second echod started beside the socket-activated one"
expect_match "$tmp/second.log" "udp 127.0.0.1:$p: Address already in use" \
    "passed: a second echod fails loudly"
stop_echod

# From another network namespace, as under PrivateNetwork=: unshare -n
# (no fork: echod keeps the pid that LISTEN_PID names).  One socket,
# read by one worker; echod binds none in its empty namespace.  Then
# two sockets passed for the address (ReusePort=yes, listed twice).
[ "$(id -u)" -eq 0 ] && unshare -n true 2> /dev/null ||
    skip "cannot unshare -n (not root); the PrivateNetwork= cases are not run"
: > "$tmp/echod.log"
systemd-socket-activate --datagram -l "127.0.0.1:$p" \
    -E ASAN_OPTIONS -E UBSAN_OPTIONS -E TSAN_OPTIONS \
    unshare -n "$ECHOD" -d -f "$tmp/passed.conf" >> "$tmp/echod.log" 2>&1 &
echod_pid=$!
wait_for bound "$p" || fail "systemd-socket-activate bound no socket on $p"
expect_eq "$(printf 'private\n' | "$ECHOD_UDP" 127.0.0.1 "$p")" "PRIVATE" "PrivateNetwork: the passed socket is served"
wait_for grep -q " ready" "$tmp/echod.log" || fail "echod not ready"
expect_match "$tmp/echod.log" "udp 127.0.0.1:$p: systemd passed 1 socket for 2 workers, from another network namespace" \
    "PrivateNetwork: echod says why it binds no more"
expect_eq "$(sockets "$p" "$echod_pid")" 1 "PrivateNetwork: one socket"
wakeups "$echod_pid" > "$tmp/before"
sent=$(flows 127.0.0.1 "$p") || fail "32 flows under PrivateNetwork"
wakeups "$echod_pid" > "$tmp/after"
woken_per_datagram "$tmp/before" "$tmp/after" "$sent"
stop_echod

# Two sockets passed for one address, as a socket unit with ReusePort=yes
# that lists it twice passes them: a launcher of our own, since
# systemd-socket-activate has no ReusePort.
: > "$tmp/echod.log"
python3 - "$p" "$ECHOD" "$tmp/passed.conf" >> "$tmp/echod.log" 2>&1 <<'PY' &
import fcntl, os, socket, sys
port, echod, conf = int(sys.argv[1]), sys.argv[2], sys.argv[3]
high = []
for _ in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    high.append(fcntl.fcntl(s.detach(), fcntl.F_DUPFD, 10))
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)
env = dict(os.environ, LISTEN_FDS="2", LISTEN_PID=str(os.getpid()))
os.execve("/usr/bin/unshare", ["unshare", "-n", echod, "-d", "-f", conf], env)
PY
echod_pid=$!
wait_for grep -q " ready" "$tmp/echod.log" || fail "echod not ready with two passed sockets"
expect_match "$tmp/echod.log" "2 sockets passed by systemd" "two passed sockets taken"
grep -q "another network namespace" "$tmp/echod.log" &&
    fail "two passed sockets for two workers: echod should need no more"
expect_eq "$(sockets "$p" "$echod_pid")" 2 "ReusePort: both passed sockets held"
wakeups "$echod_pid" > "$tmp/before"
sent=$(flows 127.0.0.1 "$p") || fail "32 flows to two passed sockets"
wakeups "$echod_pid" > "$tmp/after"
woken_per_datagram "$tmp/before" "$tmp/after" "$sent"
awk -v main="$echod_pid" 'NR == FNR { b[$1] = $2; next }
    $1 != main && $2 - b[$1] >= 20 { w = 1 } END { exit !w }' "$tmp/before" "$tmp/after" ||
    fail "two passed sockets: worker 1 served no flow"
ok "two passed sockets: worker 1 served flows of its own"
stop_echod
