#!/bin/sh
# ipv6_prefix: IPv6 clients are counted by their /64 (by default) for
# max_connections_per_ip, udp_rate and log_rate, so that addresses of
# one /64 share one count and one bucket, and another /64 has its own;
# 128 counts each address alone.  A connection is released under the
# key it was admitted under, across a reload that changes the prefix.
#
# It needs addresses of two /64s on loopback: the test makes a network
# namespace of its own (unshare --net, as root) and runs again inside
# it, where it adds 2001:db8:1::a and ::b (one /64) and 2001:db8:2::c
# (another) to lo.  Nothing leaves that namespace.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

if [ -z "${ECHOD_TEST_NETNS:-}" ]; then
	command -v unshare > /dev/null 2>&1 || skip "no unshare (util-linux) to make a network namespace"
	command -v ip > /dev/null 2>&1 || skip "no ip (iproute2) to set up the namespace's addresses"
	[ -e /proc/net/if_inet6 ] || skip "no IPv6 in this kernel"
	unshare --net true > "$tmp/unshare" 2>&1 ||
	    skip "cannot make a network namespace (unshare --net needs root or CAP_SYS_ADMIN): $(cat "$tmp/unshare")"
	# Again, inside a namespace of its own, with its own $tmp and
	# cleanup (which kills its echod and clients).
	ECHOD_TEST_NETNS=1 unshare --net sh "$0"
	exit $?
fi

a=2001:db8:1::a
b=2001:db8:1::b
c=2001:db8:2::c
ip link set lo up || fail "ip link set lo up"
for addr in $a $b $c; do
	ip -6 addr add "$addr/128" dev lo nodad || fail "ip -6 addr add $addr/128 dev lo"
done
ok "a network namespace with $a, $b (one /64) and $c (another) on lo"

p=$(free_port)
r=$(free_port)
conf="$tmp/echod.conf"
chmod 755 "$tmp" # echod reads it again as nobody

# config [TOP]: p is the listeners' port (tcp with max_connections_per_ip
# 2, udp with the rate), r the logging one's; one worker, so that
# datagrams and messages are served in the order they come.
config() {
	write_conf "$conf" "workers = 1; udp_rate = 1; udp_burst = 2; ${1:-}" <<CONF
{ protocol = "tcp"; address = "::"; port = $p; max_connections_per_ip = 2; }
{ protocol = "udp"; address = "::"; port = $p; }
{ protocol = "tcp"; address = "::"; port = $r; log_messages = true; log_rate = 1; log_burst = 2; }
CONF
}

# held NAME FROM N ANSWERED REFUSED WHAT: N connections from FROM to p,
# held open (by hold_pid); ANSWERED of them served and REFUSED closed at
# once.
held() {
	hold "$1" -w 60 -b "$2" ::1 "$p" "$3"
	expect_eq "$(cat "$tmp/$1")" "answered $4 refused $5 waiting 0" "$6"
}

# udp_seq: 2 datagrams from ::a, 1 from ::b, then 2 from ::c, the last
# of them the marker: once its reply is here, every reply to the others
# is (one worker answers in order).  Prints the replies from each
# address, "A B C", then the milliseconds from the first send to the
# marker's reply.
udp_seq() {
	python3 - "$p" "$a" "$b" "$c" <<'PY'
import socket, sys, time
port, srcs = int(sys.argv[1]), sys.argv[2:5]
socks = []
for src in srcs:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind((src, 0))
    socks.append(s)
a, b, c = socks
t0 = time.monotonic()
for s, msg in ((a, b"d"), (a, b"d"), (b, b"d"), (c, b"d"), (c, b"mark")):
    s.sendto(msg, ("::1", port))
got = [0, 0, 0]
c.settimeout(30)
while True:
    try:
        reply = c.recv(100)
    except socket.timeout:
        sys.exit("no reply to the marker within 30 s")
    got[2] += 1
    if reply == b"mark":
        break
ms = int((time.monotonic() - t0) * 1000)
for i in (0, 1):
    socks[i].setblocking(False)
    while True:
        try:
            socks[i].recv(100)
        except BlockingIOError:
            break
        got[i] += 1
print(got[0], got[1], got[2], ms)
PY
}

# log_seq: messages to r, each on a connection of its own and each once
# the last one's echo is back: a1 and a2 from ::a, b1 from ::b, c1 from
# ::c; then, 1.2 s later, a3 from ::a.  Prints the milliseconds from
# a1's send to b1's echo.
log_seq() {
	python3 - "$r" "$a" "$b" "$c" <<'PY'
import socket, sys, time
port, a, b, c = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def send(src, msg):
    s = socket.create_connection(("::1", port), timeout=30,
                                 source_address=(src, 0))
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        chunk = s.recv(100)
        if not chunk:
            sys.exit("%s: closed" % msg.decode())
        got += chunk
    s.close()
t0 = time.monotonic()
send(a, b"a1")
send(a, b"a2")
send(b, b"b1")
ms = int((time.monotonic() - t0) * 1000)
send(c, b"c1")
time.sleep(1.2)
send(a, b"a3")
print(ms)
PY
}

# logged FROM TEXT: the log line of message TEXT from FROM (on r).
logged() {
	grep "^echod: tcp \\[::\\]:$r: Received from $1#[0-9]*: $2" "$tmp/echod.log"
}

# served FROM N: N connections at once from FROM to p are served.
served() {
	[ "$(printf x | "$PROBE" tcp -w 5 -c "$2" -b "$1" ::1 "$p" 2>/dev/null)" = x ]
}

# reloaded N: N reloads done.
reloaded() { [ "$(grep -c "SIGHUP: reloaded" "$tmp/echod.log")" -eq "$1" ]; }

# ---- ipv6_prefix 64, the default ----
config
start_echod "$conf"

held a1 $a 2 2 0 "/64: 2 connections from ::a"
pid_a1=$hold_pid
held b1 $b 1 0 1 "/64: ::b, in ::a's /64, is refused (max_connections_per_ip 2)"
pid_b1=$hold_pid
held c1 $c 3 2 1 "/64: ::c, in another /64, has room for 2 of its own"
pid_c1=$hold_pid
expect_match "$tmp/echod.log" "refused $b#" "the refusal is logged with the client's own address"
expect_match "$tmp/echod.log" "max_connections_per_ip (2) reached" "and names the limit"

udp_seq > "$tmp/udp" || fail "udp: no answer to the marker"
read -r na nb nc ms < "$tmp/udp"
expect_eq "$na" 2 "/64 udp: ::a's 2 datagrams answered (udp_burst 2)"
if [ "$ms" -lt 900 ]; then
	expect_eq "$nb" 0 "/64 udp: ::b shares ::a's bucket, empty: not answered"
else
	# So busy that a token may have come back meanwhile.
	ok "/64 udp: ::b got $nb of 1 in $ms ms (slow: not knowable)"
fi
expect_eq "$nc" 2 "/64 udp: ::c has a bucket of its own"

log_seq > "$tmp/log" || fail "the logging listener's messages"
read -r ms < "$tmp/log"
wait_for logged $a a3 > /dev/null || fail "a3 from ::a never logged"
expect_eq "$(logged $a a1 | wc -l)$(logged $a a2 | wc -l)" 11 "/64 log: ::a's 2 lines (log_burst 2)"
expect_eq "$(logged $c c1 | wc -l)" 1 "/64 log: ::c logged, a bucket of its own"
if [ "$ms" -lt 900 ]; then
	expect_eq "$(logged $b b1 | wc -l)" 0 "/64 log: ::b shares ::a's bucket, empty: b1 not logged"
	expect_eq "$(logged $a a3 | sed 's/.*: a3//')" " (1 earlier message over log_rate not logged)" \
	    "/64 log: ::a's next line counts ::b's message left out"
else
	ok "/64 log: b1 $(logged $b b1 | wc -l) time(s) logged in $ms ms (slow: not knowable)"
fi

# A reload to 128 counts new connections by address; ::a's 2, admitted
# under its /64, are released from there when they close.
config "ipv6_prefix = 128;"
kill -HUP "$echod_pid"
wait_for reloaded 1 || fail "reload to ipv6_prefix 128 not done"
held b2 $b 3 2 1 "after a reload to 128: ::b has room for 2 of its own"
pid_b2=$hold_pid
kill "$pid_a1" "$pid_b2"
config
kill -HUP "$echod_pid"
wait_for reloaded 2 ||
    fail "reload back to ipv6_prefix 64 not done"
wait_for served $b 2 || fail "::a's /64 never had room for 2 again: released under the wrong key?"
ok "back at 64, ::a's /64 has room again: its connections were released under it"
kill "$pid_b1" "$pid_c1"

stop_echod
expect_match "$tmp/echod.log" "closed udp [::]:$p: 5 datagrams" "udp: 5 datagrams counted"
over=$(sed -n "s/^echod: closed udp \\[::\\]:$p: .*, \\([0-9]*\\) over udp_rate, .*/\\1/p" "$tmp/echod.log")
expect_eq "$over" $((1 - nb)) "udp: ::b's refused datagram counted over udp_rate"
n=$(sed -n "s/^echod: closed tcp \\[::\\]:$p: .*refused 0 by allow\\/deny, \\([0-9]*\\) at a limit; .*/\\1/p" "$tmp/echod.log")
[ "${n:-0}" -ge 3 ] || fail "tcp refusals at a limit: '$n', expected 3 or more"
ok "tcp: refusals counted: $n"

# ---- ipv6_prefix 128: each address alone ----
config "ipv6_prefix = 128;"
start_echod "$conf"
held a3 $a 3 2 1 "/128: ::a has room for 2"
held b3 $b 3 2 1 "/128: ::b, in the same /64, 2 more: 4 in all"
udp_seq > "$tmp/udp" || fail "udp: no answer to the marker"
read -r na nb nc ms < "$tmp/udp"
expect_eq "$na $nb $nc" "2 1 2" "/128 udp: ::a, ::b and ::c each a bucket of their own"
log_seq > "$tmp/log" || fail "the logging listener's messages"
wait_for logged $a a3 > /dev/null || fail "a3 from ::a never logged"
expect_eq "$(logged $b b1 | wc -l)" 1 "/128 log: ::b logged, a bucket of its own"
expect_eq "$(logged $a a3 | sed 's/.*: a3//')" "" "/128 log: nothing left out for ::a"
stop_echod
