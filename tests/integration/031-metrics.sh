#!/bin/sh
# The counters: scraped from the metrics listener (Prometheus text at
# /metrics, over http.c) after real traffic, and written to the log on
# SIGUSR1 whatever log_level says.  The metrics listener obeys its
# allow/deny at accept time and its caps (in all, per address, a
# deadline for a request, a memory pool), answers nothing but GET
# /metrics, survives running out of descriptors, follows a reload, and
# a bad metrics setting is an error with its line.  Built without
# libmicrohttpd, a metrics group is an error that says why.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
m=$(free_port)
m2=$(free_port)
conf="$tmp/echod.conf"
chmod 755 "$tmp" # echod reads it again as nobody

# config METRICS-PORT [METRICS-ADDRESS] [TOP]
config() {
	write_conf "$conf" "workers = 2; udp_rate = 0; ${3:-}
metrics = { address = \"${2:-127.0.0.1}\"; port = $1; deny = ( \"127.0.0.3\" ); };" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; deny = ( "127.0.0.2" ); }
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "rot13"; }
CONF
}

if [ "${HAVE_HTTP:-yes}" = no ]; then
	config "$m"
	"$ECHOD" -t -f "$conf" > "$tmp/t.out" 2>&1 && fail "echod -t took a metrics group without HTTP"
	expect_match "$tmp/t.out" "$conf:2: metrics: echod was built without libmicrohttpd (configure --with-microhttpd): no HTTP listener can serve it" \
	    "built without libmicrohttpd, a metrics group is an error that says why"
	exit 0
fi

# metric PORT SAMPLE VALUE: the scrape has the line "SAMPLE VALUE".
metric() { http "$1" | grep -qxF -- "$2 $3"; }

config "$m"
start_echod "$conf"
expect_match "$tmp/echod.log" "metrics on http://127.0.0.1:$m/metrics" "the metrics listener is announced"

# Traffic to count: 3 tcp messages of 5 bytes and 2 connections held
# open after one byte each, 2 datagrams of 5 bytes, 1 refusal.
for i in 1 2 3; do
	expect_eq "$("$ECHOD_TCP" -m hello 127.0.0.1 "$p")" HELLO "tcp message $i"
done
for i in 1 2; do
	expect_eq "$("$ECHOD_UDP" -m hello 127.0.0.1 "$p")" uryyb "datagram $i"
done
expect_eq "$(printf x | "$PROBE" tcp -w 10 -b 127.0.0.2 127.0.0.1 "$p" 2>/dev/null)" "" "127.0.0.2 is refused"
hold held 127.0.0.1 "$p" 2
wait_for grep -q "answered 2" "$tmp/held" || fail "two connections not held open"

t="listener=\"tcp 127.0.0.1:$p\""
u="listener=\"udp 127.0.0.1:$p\""
# Workers count a reply once the kernel took it, maybe just after the
# client read it: wait for each count rather than read it once.
for want in \
    "echod_connections_accepted_total{$t} 5" \
    "echod_connections_active{$t} 2" \
    "echod_messages_received_total{$t} 5" \
    "echod_received_bytes_total{$t} 17" \
    "echod_replies_sent_total{$t} 5" \
    "echod_sent_bytes_total{$t} 17" \
    "echod_refused_total{$t,reason=\"acl\"} 1" \
    "echod_refused_total{$t,reason=\"limit\"} 0" \
    "echod_messages_received_total{$u} 2" \
    "echod_received_bytes_total{$u} 10" \
    "echod_sent_bytes_total{$u} 10" \
    "echod_refused_total{$u,reason=\"loop\"} 0" \
    "echod_tcp_connections_open 2" \
    "echod_listener_info{$t,transform=\"upper\",framing=\"stream\"} 1" \
    "echod_listener_info{$u,transform=\"rot13\",framing=\"stream\"} 1" \
    "echod_workers 2" \
    "echod_reloads_total{result=\"applied\"} 0"; do
	wait_for metric "$m" "${want% *}" "${want##* }" ||
	    { http "$m" >&2; fail "no '$want' in the scrape"; }
	ok "scraped $want"
done

# The whole scrape is well-formed text format 0.0.4: every family has
# HELP and TYPE before its samples, every sample a number.
http "$m" > "$tmp/scrape"
expect_eq "$(head -n 1 "$tmp/scrape")" 200 "GET /metrics is answered"
python3 - "$tmp/scrape" <<'PY' || fail "the scrape is not well-formed"
import re, sys
lines = open(sys.argv[1]).read().split("\n")[1:]
typed, seen = set(), set()
for line in lines:
    if not line:
        continue
    m = re.match(r"# (HELP|TYPE) ([a-z_]+) (.+)$", line)
    if m:
        if m.group(1) == "TYPE":
            assert m.group(3) in ("counter", "gauge"), line
            typed.add(m.group(2))
        continue
    m = re.match(r'([a-z_]+)(\{([a-z_]+="[^"\\]*",?)+\})? (-?[0-9.e+]+)$', line)
    assert m, "bad sample: " + line
    assert m.group(1) in typed, "no TYPE before " + line
    float(m.group(4))
    assert line.rsplit(" ", 1)[0] not in seen, "duplicate: " + line
    seen.add(line.rsplit(" ", 1)[0])
assert len(seen) > 20, len(seen)
PY
ok "the scrape is well-formed ($(grep -vc '^#' "$tmp/scrape") samples)"
fds=$(sed -n 's/^echod_open_fds \([0-9]*\)$/\1/p' "$tmp/scrape")
[ "${fds:-0}" -gt 0 ] || fail "echod_open_fds is '$fds'"
ok "descriptors in use: $fds"
grep -q '^echod_uptime_seconds [0-9]' "$tmp/scrape" || fail "no uptime"
ok "uptime is there"

# Only GET /metrics, only for those allowed; nothing breaks echod.
# Refused at accept: closed (EOF, or a reset if the request was
# already in) before a byte of HTTP comes back.
case $(http "$m" 127.0.0.3 | head -n 1) in
"error: no answer" | "error: [Errno 104] Connection reset by peer")
	ok "deny = 127.0.0.3 is closed at accept, unanswered" ;;
*) fail "deny = 127.0.0.3 was answered: $(http "$m" 127.0.0.3 | head -n 1)" ;;
esac
expect_match "$tmp/echod.log" "metrics 127.0.0.1:$m: refused 127.0.0.3#" "and the refusal is logged"
expect_eq "$(http "$m" 127.0.0.1 'GET / HTTP/1.0\r\n\r\n' | head -n 1)" 404 "another path is not found"
expect_eq "$(http "$m" 127.0.0.1 'POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc' | head -n 1)" \
    405 "POST is refused"
big=$(head -c 20000 /dev/zero | tr '\0' a)
expect_eq "$(http "$m" 127.0.0.1 "GET /metrics HTTP/1.0\\r\\nX-Big: $big\\r\\n\\r\\n" | head -n 1)" \
    431 "20 kB of headers are refused (the connection's memory pool)"
# The caps: 16 connections from one address, and the 17th to 20th
# closed at once; 64 in all, and the 65th waits in the kernel's queue
# until one closes.
python3 - "$m" > "$tmp/caps" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def hold(n, source):
    return [socket.create_connection(("127.0.0.1", port), timeout=10,
                                     source_address=(source, 0))
            for _ in range(n)]
def still_open(socks):
    time.sleep(0.5)
    n = 0
    for s in socks:
        s.settimeout(0.2)
        try:
            n += s.recv(1) != b""
        except socket.timeout:
            n += 1
        except OSError:
            pass
    return n
one = hold(20, "127.0.0.5")
print("per-ip", still_open(one))
for s in one:
    s.close()
time.sleep(0.5)
many = [s for k in range(4) for s in hold(16, "127.0.0.%d" % (20 + k))]
late = socket.create_connection(("127.0.0.1", port), timeout=10,
                                source_address=("127.0.0.30", 0))
late.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
late.settimeout(1)
try:
    print("late-before", "answered" if late.recv(12) else "closed")
except socket.timeout:
    print("late-before", "waiting")
many[0].close()
late.settimeout(10)
print("late-after", late.recv(12).decode())
PY
expect_match "$tmp/caps" "per-ip 16" "16 connections from one address, the rest closed at once"
expect_match "$tmp/caps" "late-before waiting" "at 64 connections in all, the next one waits"
expect_match "$tmp/caps" "late-after HTTP/1.1 200" "and is served once one closes"
# A client that trickles its headers, a byte every 2 s, never silent
# for the 10 s timeout: cut off once its request is 10 s late.
python3 - "$m" > "$tmp/trickle" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /metrics HTTP/1.0\r\nX-Slow: ")
began, got, end = time.time(), b"", "open after 40 s"
while time.time() - began < 40:
    try:
        s.sendall(b"a")
    except OSError:
        end = "closed"
        break
    s.settimeout(2)
    try:
        b = s.recv(4096)
        if not b:
            end = "closed"
            break
        got += b
    except socket.timeout:
        pass
    except OSError:
        end = "closed"
        break
print(end, "after", int(time.time() - began), "s;", "answered" if got else "no answer")
PY
expect_match "$tmp/trickle" "closed after" "a client trickling its headers is cut off"
expect_match "$tmp/trickle" "no answer" "without its scrape"
expect_match "$tmp/echod.log" "took over 10 s to send its request" "and that is logged"
echod_alive
expect_eq "$("$ECHOD_TCP" -m still 127.0.0.1 "$p")" STILL "echod still serves"

# SIGUSR1 writes every counter to the log.  The last client's close may
# not have reached echod yet: asked again until it has.
usr1_settled() {
	kill -USR1 "$echod_pid"
	sleep 0.2
	grep "SIGUSR1: tcp 127.0.0.1:$p: " "$tmp/echod.log" | tail -n 1 |
	    grep -qF "6 connections (2 open)"
}
wait_for usr1_settled || fail "no SIGUSR1 line with 2 connections open"
wait_for grep -q "SIGUSR1: udp 127.0.0.1:$p:" "$tmp/echod.log" || fail "no SIGUSR1 lines"
expect_match "$tmp/echod.log" "SIGUSR1: tcp 127.0.0.1:$p: 6 connections (2 open), 6 messages (22 bytes)" "SIGUSR1: the tcp listener's counts"
expect_match "$tmp/echod.log" "refused 1 by allow/deny, 0 at a limit" "SIGUSR1: its refusal"
expect_match "$tmp/echod.log" "SIGUSR1: udp 127.0.0.1:$p: 2 datagrams (10 bytes), 2 replies (10 bytes)" "SIGUSR1: the udp listener's counts"
expect_match "$tmp/echod.log" "2 tcp connections open" "SIGUSR1: the process's counts"

# A reload moves the metrics listener; a bad metrics setting changes
# nothing and says where it is.
config "$m2"
kill -HUP "$echod_pid"
wait_for grep -q "SIGHUP: reloaded" "$tmp/echod.log" || fail "reload not done"
wait_for metric "$m2" 'echod_reloads_total{result="applied"}' 1 || fail "no metrics on $m2 after the reload"
ok "after a reload, metrics move to port $m2"
case $(http "$m") in error:*) ok "and port $m is closed" ;; *) fail "port $m still answers" ;; esac
config "$m2" localhost
kill -HUP "$echod_pid"
wait_for grep -q "nothing changed" "$tmp/echod.log" || fail "a bad reload was not refused"
expect_match "$tmp/echod.log" "$conf:2: metrics.address: \"localhost\" is not a numeric IPv4 or IPv6 address" "the bad setting is named with its line"
wait_for metric "$m2" 'echod_reloads_total{result="failed"}' 1 || fail "the failed reload is not counted"
ok "the failed reload is counted, and metrics still served"

# At start-up, a metrics port in use (here by the running echod's tcp
# listener) is an error that names the metrics listener.
q=$(free_port)
cat > "$tmp/clash.conf" <<CONF
metrics = { port = $p; };
listeners = ( { protocol = "tcp"; address = "127.0.0.1"; port = $q; } );
CONF
start_must_fail "$tmp/clash.conf" "a metrics port in use" \
    "metrics 127.0.0.1:$p: Address already in use"
stop_echod

# Out of descriptors: the metrics listener pauses instead of spinning,
# then serves again.  SIGUSR1 is logged even at log_level "warning".
config "$m" 127.0.0.1 'log_level = "warning";'
# shellcheck disable=SC3045 # dash and bash both have ulimit -n
( ulimit -n 64 && exec "$ECHOD" -F -f "$conf" ) > "$tmp/echod.log" 2>&1 &
echod_pid=$!
wait_for metric "$m" "echod_workers" 2 || fail "echod with 64 descriptors not serving"
# 60 connections, under the listener's cap of 64, from four addresses,
# under its 16 each: more than the descriptors left.
python3 - "$m" "$tmp/flood" "$tmp/flood-done" <<'PY' &
import os, socket, sys, time
port, out, done = int(sys.argv[1]), sys.argv[2], sys.argv[3]
held = []
for i in range(60):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), timeout=5,
                    source_address=("127.0.0.%d" % (10 + i % 4), 0)))
    except OSError:
        break
open(out, "w").write("%d\n" % len(held))
for _ in range(600):
    if os.path.exists(done):
        break
    time.sleep(0.05)
PY
flood=$!
bg_pids="$bg_pids $flood"
wait_for grep -q "metrics 127.0.0.1:$m: accept: Too many open files; pausing" "$tmp/echod.log" ||
    fail "no pause logged with every descriptor in use"
ok "out of descriptors, the metrics listener pauses"
touch "$tmp/flood-done"
wait "$flood"
wait_for metric "$m" "echod_workers" 2 || fail "no metrics after descriptors came back"
ok "and serves again once they come back"
n=$(grep -c "accept: Too many open files" "$tmp/echod.log")
[ "$n" -le 3 ] || fail "$n accept errors logged: not rate-limited"
ok "its accept errors are logged at a bounded rate ($n)"
kill -USR1 "$echod_pid"
wait_for grep -q "SIGUSR1: tcp 127.0.0.1:$p:" "$tmp/echod.log" ||
    fail "SIGUSR1 not logged at log_level warning"
grep -q "listening on" "$tmp/echod.log" && fail "info lines logged at log_level warning"
ok "SIGUSR1 is logged at log_level warning, info lines are not"
stop_echod
