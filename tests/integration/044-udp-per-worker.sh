#!/bin/sh
# UDP with two workers: each reads a socket of its own, one of a
# SO_REUSEPORT group, so that a datagram wakes one worker, not both.
# Checked from outside: the sockets on the port (ss), and the worker
# threads' wake-ups (voluntary context switches in /proc) against the
# datagrams sent, one at a time, on 32 flows.  A second echod on the same
# ports still fails loudly, both when echod bound the sockets itself and
# when systemd-socket-activate passed one.  A passed socket is used as
# passed, read by one worker; two passed for one address (a socket unit
# with ReusePort=yes) are one a worker, and three for two workers are
# refused.  A passed UDP socket loses systemd's SO_REUSEADDR, so that no
# other program binds beside it.
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

# woken_per_datagram BEFORE AFTER SENT: the wake-ups of echod's threads
# (AFTER's counts less BEFORE's) are below 1.5 a datagram.  With both
# workers watching one socket, each datagram woke both: two a datagram
# (1,111 for 640 when this was written).  Fewer than one a datagram only
# means the next datagram came before a worker went back to sleep.
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
# Both workers had a share: worker 1 woke 10 times at least, which one
# flow of 20 datagrams does.  32 flows all hashed to worker 0's socket
# would be one chance in 2^32.  Worker 0 is the main thread, whose id is
# echod's.
awk -v main="$echod_pid" 'NR == FNR { b[$1] = $2; next }
    $1 != main && $2 - b[$1] >= 10 { w = 1 } END { exit !w }' "$tmp/before" "$tmp/after" ||
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
start_must_fail "$tmp/second.conf" "a second echod on the port the first holds" \
    "udp 127.0.0.1:$p: Address already in use"
expect_eq "$(printf 'still\n' | "$ECHOD_UDP" 127.0.0.1 "$p")" "STILL" "the first serves on"

# A reload keeps the group: still two sockets, still answered.
kill -HUP "$echod_pid"
wait_for grep -q "SIGHUP: reloaded" "$tmp/echod.log" || fail "no reload"
expect_eq "$(sockets "$p" "$echod_pid")" 2 "after a reload: still two sockets"
expect_eq "$(printf 'reloaded\n' | "$ECHOD_UDP" 127.0.0.1 "$p")" "RELOADED" "after a reload: answered"
stop_echod

# Passed by systemd-socket-activate: used as passed, one socket read by
# one worker (echod binds none beside it: it may be another user's, in
# another network namespace, bound to a device).
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
# It starts echod at the first datagram: time for a sanitizer build.
expect_eq "$(printf 'first\n' | "$ECHOD_UDP" -w 30 127.0.0.1 "$p")" "FIRST" "the passed socket is served"
wait_for grep -q " ready" "$tmp/echod.log" || fail "echod not ready"
expect_match "$tmp/echod.log" "udp 127.0.0.1:$p: 1 socket passed by systemd for 2 workers, each read by one worker" \
    "passed: echod says one worker reads it"
expect_eq "$(sockets "$p" "$echod_pid")" 1 "passed: the one socket, none bound beside it"
wakeups "$echod_pid" > "$tmp/before"
sent=$(flows 127.0.0.1 "$p") || fail "32 flows to the passed socket"
wakeups "$echod_pid" > "$tmp/after"
woken_per_datagram "$tmp/before" "$tmp/after" "$sent"
start_must_fail "$tmp/second.conf" "passed: a second echod" \
    "udp 127.0.0.1:$p: Address already in use"
python3 - "$p" <<'PY' || fail "a socket with SO_REUSEADDR bound beside the passed one"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError as e:
    sys.exit(0 if e.errno == 98 else "bind: %s" % e)
sys.exit("bound")
PY
ok "passed: another program's SO_REUSEADDR socket cannot bind beside it"
stop_echod

# pass_sockets N CONF: echod on CONF with N sockets for 127.0.0.1:$p,
# each with SO_REUSEPORT, as a socket unit with ReusePort=yes that lists
# the address N times passes them (systemd-socket-activate cannot).  Its
# log is $tmp/echod.log; echod keeps the launcher's pid, which
# LISTEN_PID names.
pass_sockets() {
	python3 - "$1" "$p" "$ECHOD" "$2" >> "$tmp/echod.log" 2>&1 <<'PY' &
import fcntl, os, socket, sys
n, port, echod, conf = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
high = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    high.append(fcntl.fcntl(s.detach(), fcntl.F_DUPFD_CLOEXEC, 10))
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)  # inheritable
    os.close(fd)
env = dict(os.environ, LISTEN_FDS=str(n), LISTEN_PID=str(os.getpid()))
os.execve(echod, [echod, "-d", "-f", conf], env)
PY
	echod_pid=$!
}

: > "$tmp/echod.log"
pass_sockets 2 "$tmp/passed.conf"
wait_for grep -q " ready" "$tmp/echod.log" || fail "echod not ready with two passed sockets"
expect_match "$tmp/echod.log" "2 sockets passed by systemd" "two passed sockets taken"
grep -q "each read by one worker" "$tmp/echod.log" &&
    fail "two passed sockets for two workers: echod should need no more"
expect_eq "$(sockets "$p" "$echod_pid")" 2 "ReusePort: both passed sockets held, no more"
wakeups "$echod_pid" > "$tmp/before"
sent=$(flows 127.0.0.1 "$p") || fail "32 flows to two passed sockets"
wakeups "$echod_pid" > "$tmp/after"
woken_per_datagram "$tmp/before" "$tmp/after" "$sent"
awk -v main="$echod_pid" 'NR == FNR { b[$1] = $2; next }
    $1 != main && $2 - b[$1] >= 10 { w = 1 } END { exit !w }' "$tmp/before" "$tmp/after" ||
    fail "two passed sockets: worker 1 served no flow"
ok "two passed sockets: worker 1 served flows of its own"
stop_echod

: > "$tmp/echod.log"
pass_sockets 3 "$tmp/passed.conf"
wait_exit "$echod_pid" && fail "echod started with three passed sockets for two workers"
echod_pid=
expect_match "$tmp/echod.log" "systemd passed the udp socket 127.0.0.1:$p more times than echod has workers" \
    "three passed sockets for two workers: refused, saying why"
