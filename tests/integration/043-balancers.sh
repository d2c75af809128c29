#!/bin/sh
# The real balancers, run on the configs in deploy/ as they are: HAProxy
# (deploy/haproxy: TCP, send-proxy-v2, an echo health check) and
# nginx's stream module (deploy/nginx: TCP and UDP, proxy_protocol on),
# each on 127.0.0.1:12000 in front of two echods (A on 12101, metrics
# 9464; B on 12102, metrics 9465).  With each, from the client's side,
# every reply checked byte for byte:
# - clients from 127.0.0.2 and 127.0.0.3 are answered, and logged by
#   echod under their own address and port; no line names the balancer;
#   the balancer's headers and health checks are never refused
#   (echod_refused_total{reason="proxy"} stays 0);
# - max_connections_per_ip (2 on each echod) holds per client address:
#   6 held from 127.0.0.2 are 4 served (2 on each echod) and 2 refused,
#   a 7th is refused, 127.0.0.3 is served meanwhile, and the refusals
#   are in the metrics and logged under 127.0.0.2; once they close,
#   127.0.0.2 is served again;
# - under two steady client loops (TCP; with nginx UDP too), echod A
#   is killed (SIGKILL): within 30 s they are served again, every
#   attempt, by B; A is started again on the same config and gets
#   traffic again (its log shows it), and from then on too every
#   attempt is served.  No reply ever has a wrong byte.
# What may fail in between is what the balancer does by design: a
# connection open on A when it dies is cut, and nginx answers a
# datagram it sent to the dead A with an empty one, then leaves A out
# for fail_timeout; the UDP client tries again, as clients must.
#
# The fixed ports are the deploy configs': the test makes a network
# namespace of its own (unshare --net, as root) and runs again inside
# it, where nothing else listens and nothing leaves.  haproxy and nginx
# come from ./dev's packages; the system's own instances and /etc are
# never touched (pid files and logs go to the test's directory through
# the command line).
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

deploy="$TOP_SRCDIR/deploy"

PATH="$PATH:/usr/sbin:/sbin" # haproxy and nginx, for a user's PATH too
export PATH
[ "${HAVE_HTTP:-yes}" = yes ] ||
    skip "built without libmicrohttpd: the deploy configs serve metrics, as a deployment should"
if [ -z "${ECHOD_TEST_NETNS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || skip "not root: the balancers run in a network namespace of the test's own"
	for c in unshare ip; do
		command -v "$c" > /dev/null 2>&1 || skip "no $c (./dev installs it)"
	done
	unshare --net true > "$tmp/unshare" 2>&1 ||
	    skip "cannot make a network namespace: $(cat "$tmp/unshare")"
	# Run as root: these come with ./dev, so missing is a failure.
	for c in haproxy nginx ss python3; do
		command -v "$c" > /dev/null 2>&1 ||
		    fail "no $c: ./dev installs haproxy, nginx and libnginx-mod-stream"
	done
	[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] ||
	    fail "no nginx stream module: ./dev installs libnginx-mod-stream"
	ECHOD_TEST_NETNS=1 unshare --net sh "$0"
	exit $?
fi
ip link set lo up || fail "ip link set lo up"
chmod 755 "$tmp" # the echods run as nobody, nginx's workers too

# proc_state PID: R, S, Z... (empty once reaped); children PID: its
# children's pids.  From /proc, so that no procps is needed.
proc_state() { sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2> /dev/null; }
children() {
	grep -l "^PPid:[[:space:]]*$1\$" /proc/[0-9]*/status 2> /dev/null |
	    sed 's|/proc/\([0-9]*\)/status|\1|'
}

# On exit, nginx's master is stopped first, by SIGTERM, so that it stops
# and reaps its workers (killed, it would leave them behind); then
# lib.sh's cleanup kills the rest.
ngx_pid=
balancers_cleanup() {
	if [ -n "$ngx_pid" ] && kill -TERM "$ngx_pid" 2> /dev/null; then
		i=0
		while [ "$i" -lt 100 ] && proc_state "$ngx_pid" | grep -q '[^Z]'; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	cleanup
}
trap balancers_cleanup EXIT

# On failure, every log this test has, not only lib.sh's echod.log.
fail() {
	echo "FAIL: $*" >&2
	for f in a.log b.log haproxy.log nginx.err loop.out; do
		[ -s "$tmp/$f" ] || continue
		echo "--- $f:" >&2
		tail -n 40 "$tmp/$f" >&2
	done
	exit 1
}

# bal.py: the clients, to 127.0.0.1:12000 from a given address.
cat > "$tmp/bal.py" <<'PY'
"""
bal.py once tcp|udp SRC MSG: one exchange from SRC; print "STATUS PORT
  DETAIL", PORT the client's own port.
bal.py loop OUT STOP ID PROTO...: until the file STOP exists, exchanges
  from 127.0.0.2 and 127.0.0.3 in turn, for each PROTO, one at a time,
  a line each appended to OUT: "IDN PROTO SRC PORT STATUS DETAIL".
STATUS: ok (the reply is exactly MSG in upper case), retried (udp: ok
  on a later try; DETAIL says what the earlier got), lost (nothing, or
  the start of the reply, then the end), wrong (any other byte).  UDP
  tries 3 times, from a new socket each, and waits 5 s for each reply.
"""
import os
import socket
import sys
import time

DEST = ("127.0.0.1", 12000)


def tcp(src, msg):
    want = msg.upper()
    try:
        s = socket.create_connection(DEST, timeout=10, source_address=(src, 0))
    except OSError as e:
        return "lost", 0, "connect: %s" % e
    port = s.getsockname()[1]
    got, end = b"", "fin"
    try:
        s.sendall(msg)
        s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except socket.timeout:
        end = "timeout"
    except OSError as e:
        end = e.strerror or str(e)
    s.close()
    if got == want:
        return "ok", port, end
    if want.startswith(got):
        return "lost", port, "%d bytes then %s" % (len(got), end)
    return "wrong", port, "got %r then %s" % (got, end)


def udp_try(src, msg):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(5)
    port = s.getsockname()[1]
    s.sendto(msg, DEST)
    try:
        got = s.recv(65536)
    except socket.timeout:
        return "none", port
    finally:
        s.close()
    if got == msg.upper():
        return "ok", port
    if got == b"":
        return "empty", port  # nginx: the upstream refused it
    return "wrong %r" % got, port


def udp(src, msg):
    earlier = []
    for i in range(3):
        got, port = udp_try(src, msg + (b" try %d" % (i + 1) if i else b""))
        if got == "ok":
            return ("retried" if earlier else "ok"), port, ",".join(earlier) or "-"
        if got.startswith("wrong"):
            return "wrong", port, got
        earlier.append(got)
    return "lost", port, ",".join(earlier)


def once(a):
    proto, src, msg = a
    status, port, detail = (tcp if proto == "tcp" else udp)(src, msg.encode())
    print(status, port, detail)


def loop(a):
    out, stop, name, protos = a[0], a[1], a[2], a[3:]
    n = 0
    start = time.monotonic()
    with open(out, "a") as f:
        while not os.path.exists(stop) and time.monotonic() - start < 600:
            for src in ("127.0.0.2", "127.0.0.3"):
                for proto in protos:
                    n += 1
                    msg = b"%s from %s %s%d" % (proto.encode(), src.encode(), name.encode(), n)
                    status, port, detail = (tcp if proto == "tcp" else udp)(src, msg)
                    f.write("%s%d %s %s %d %s %s\n" % (name, n, proto, src, port, status, detail))
                    f.flush()
                    # Slow enough for udp_rate and log_rate (per address).
                    time.sleep(0.05)


if __name__ == "__main__":
    {"once": once, "loop": loop}[sys.argv[1]](sys.argv[2:])
PY
bal() { python3 "$tmp/bal.py" "$@"; }

# start_inst a|b CONF: echod A or B on CONF, its log in $tmp/a.log or
# b.log (a restart keeps the one before as a.log.1), its pid in a_pid or
# b_pid.
start_inst() {
	log="$tmp/$1.log"
	[ -e "$log" ] && mv "$log" "$log.1"
	: > "$log"
	"$ECHOD" -d -f "$2" >> "$log" 2>&1 &
	pid=$!
	bg_pids="$bg_pids $pid"
	case $1 in
	a) a_pid=$pid ;;
	b) b_pid=$pid ;;
	esac
	wait_for inst_ready "$pid" "$log" || fail "echod $1 not ready after 30 s"
}
inst_ready() {
	kill -0 "$1" 2> /dev/null || fail "echod exited during start-up: $(tail -n 5 "$2")"
	grep -Eq ' ready(,|$)' "$2"
}
# stop_inst PID: SIGTERM, and it must exit 0 (lib.sh's stop_echod).
stop_inst() {
	echod_pid=$1
	stop_echod
}

# metric PORT SERIES: the value of SERIES (a name and its labels) in a
# scrape of PORT.
metric() {
	http "$1" > "$tmp/scrape"
	awk -v s="$2" 'index($0, s " ") == 1 { print $NF }' "$tmp/scrape"
}
# refused REASON [PROTO]: echod_refused_total for REASON on the tcp (or
# PROTO) listeners, A's and B's added up.
refused() {
	ra=$(metric 9464 "echod_refused_total{listener=\"${2:-tcp} 127.0.0.1:12101\",reason=\"$1\"}")
	rb=$(metric 9465 "echod_refused_total{listener=\"${2:-tcp} 127.0.0.1:12102\",reason=\"$1\"}")
	if [ -z "$ra" ] || [ -z "$rb" ]; then
		fail "no echod_refused_total for $1 ${2:-tcp} in the scrapes"
	fi
	echo $((ra + rb))
}

# listening -t|-u: something listens on port 12000.
listening() { ss -Hln "$1" 'sport = :12000' | grep -q .; }

# served PROTO SRC MSG: answered exactly, and logged by A or B under
# SRC and the client's own port.
served() {
	set -- "$1" "$2" "$3" "$(bal once "$1" "$2" "$3")"
	case $4 in
	"ok "*) ;;
	*) fail "$1 from $2: $4" ;;
	esac
	port=$(echo "$4" | cut -d' ' -f2)
	line="$1 127\.0\.0\.1:1210[12]: Received from $(echo "$2" | sed 's/\./\\./g')#$port: $3\$"
	wait_for grep -hq "$line" "$tmp/a.log" "$tmp/b.log" ||
	    fail "$1 from $2: no '$line' in A's or B's log"
	ok "$1 from $2: answered, and logged as from $2#$port"
}

# per_address: max_connections_per_ip (2 on each echod) counted per
# client address behind the balancer.
per_address() {
	limit0=$(refused limit)
	hold two -w 60 -b 127.0.0.2 127.0.0.1 12000 6
	two_pid=$hold_pid
	expect_eq "$(cat "$tmp/two")" "answered 4 refused 2 waiting 0" \
	    "127.0.0.2: of 6 held, 2 on each echod, 2 refused"
	hold seventh -w 60 -b 127.0.0.2 127.0.0.1 12000 1
	seventh_pid=$hold_pid
	expect_eq "$(cat "$tmp/seventh")" "answered 0 refused 1 waiting 0" "127.0.0.2: a 7th is refused"
	hold three -w 60 -b 127.0.0.3 127.0.0.1 12000 2
	three_pid=$hold_pid
	expect_eq "$(cat "$tmp/three")" "answered 2 refused 0 waiting 0" "127.0.0.3 is served meanwhile"
	expect_eq "$(($(refused limit) - limit0))" 3 "the 3 refusals counted by the echods (echod_refused_total, reason limit)"
	grep -hq "tcp 127.0.0.1:1210[12]: refused 127.0.0.2#[0-9]*: max_connections_per_ip (2) reached" \
	    "$tmp/a.log" "$tmp/b.log" || fail "no refusal logged under 127.0.0.2"
	ok "the refusal is logged under 127.0.0.2"
	kill "$two_pid" "$seventh_pid" "$three_pid"
	wait_for eval "bal once tcp 127.0.0.2 again | grep -q '^ok '" ||
	    fail "127.0.0.2 not served again after its connections closed"
	ok "127.0.0.2 is served again once its connections closed"
}

# lines: how many lines the loops have written.
lines() { wc -l < "$tmp/loop.out"; }
# streak FROM N: the loops' last N lines are all ok, and come after
# line FROM.
streak() {
	[ "$(lines)" -ge $(($1 + $2)) ] &&
	    [ "$(tail -n "$2" "$tmp/loop.out" | grep -cv '^[a-z0-9]* [a-z]* [0-9.]* [0-9]* ok ')" -eq 0 ]
}
# received_again PROTO...: A's log since its restart has a client's
# message on each PROTO.
received_again() {
	for proto; do
		grep -Eq "$proto 127\.0\.0\.1:12101: Received from 127\.0\.0\.[23]#" "$tmp/a.log" || return 1
	done
}

# failover CONF-DIR NOTICED PROTO...: A killed under two client loops,
# then, once the command NOTICED says the balancer has taken A out,
# started again.  A UDP exchange answered only at a later try counts as
# served when udp_retry_ok is yes (nginx's passive checks).
udp_retry_ok=no
failover() {
	dir=$1 noticed=$2
	shift 2
	rm -f "$tmp/stop" "$tmp/loop.out"
	: > "$tmp/loop.out"
	bal loop "$tmp/loop.out" "$tmp/stop" x "$@" &
	loop_x=$!
	bal loop "$tmp/loop.out" "$tmp/stop" y "$@" &
	loop_y=$!
	bg_pids="$bg_pids $loop_x $loop_y"
	wait_for streak 0 20 || fail "the loops are not served with both echods up"
	ok "the loops are served by both echods ($*)"
	killed_at=$(lines)
	kill -KILL "$a_pid"
	wait "$a_pid"
	ok "echod A killed at the loops' line $killed_at"
	wait_for "$noticed" || fail "the balancer did not take A out within 30 s"
	ok "the balancer took A out"
	wait_for streak "$killed_at" 20 || fail "the loops were not served again within 30 s of A's death"
	served_at=$(($(lines) - 20))
	ok "the loops are served by B alone again (every attempt from their line $((served_at + 1)))"
	start_inst a "$dir/echod-a.conf"
	wait_for received_again "$@" || fail "A gets no traffic ($*) within 30 s of its restart"
	ok "A, started again, gets traffic again ($*)"
	wait_for streak "$(lines)" 20 || fail "the loops are not served after A came back"
	touch "$tmp/stop"
	wait_exit "$loop_x"
	wait_exit "$loop_y"
	ended_at=$(lines)

	# The loop's books.
	if grep ' wrong ' "$tmp/loop.out" >&2; then
		fail "a reply with a wrong byte"
	fi
	ok "no reply had a wrong byte ($ended_at exchanges)"
	expect_eq "$(head -n "$killed_at" "$tmp/loop.out" | grep -cv ' ok ')" 0 \
	    "before A died, every exchange was answered"
	missed=$(sed -n "$((killed_at + 1)),${served_at}p" "$tmp/loop.out" | grep -v ' ok ')
	ok "between A's death and the failover: $(echo "$missed" | grep -c .) not answered at the first try${missed:+: $(echo "$missed" | tr '\n' ';')}"
	after=$(sed -n "$((served_at + 1)),\$p" "$tmp/loop.out")
	if echo "$after" | grep ' lost '; then
		fail "an exchange lost after the failover"
	fi
	retried=$(echo "$after" | grep ' retried ')
	if [ -n "$retried" ]; then
		echo "$retried" | grep -v ' udp ' && fail "a TCP exchange retried?"
		[ "$udp_retry_ok" = yes ] || fail "an exchange was retried after the failover: $retried"
	fi
	ok "from the failover on, every exchange answered${retried:+ (UDP at a later try: $(echo "$retried" | grep -c .), nginx trying the dead A again after fail_timeout)}"
	grep -hqF 'Received from 127.0.0.1#' "$tmp/a.log" "$tmp/a.log.1" "$tmp/b.log" &&
	    fail "a message logged as from the balancer's own address"
	ok "no message logged as from the balancer (127.0.0.1)"
}

# start_pair DIR: the echods of DIR; stop_pair [udp]: stopped, none of
# the balancer's connections (or datagrams) refused for PROXY.
start_pair() {
	rm -f "$tmp/a.log" "$tmp/a.log.1" "$tmp/b.log" "$tmp/b.log.1"
	start_inst a "$1/echod-a.conf"
	start_inst b "$1/echod-b.conf"
}
stop_pair() {
	expect_eq "$(refused proxy)" 0 "no connection from the balancer refused for PROXY (headers and health checks all valid)"
	[ -z "${1:-}" ] ||
	    expect_eq "$(refused proxy udp)" 0 "no datagram from the balancer refused for PROXY"
	stop_inst "$a_pid"
	stop_inst "$b_pid"
}

# ---- HAProxy
cfg="$deploy/haproxy/haproxy.cfg"
haproxy -c -f "$cfg" > "$tmp/haproxy.check" 2>&1 || { cat "$tmp/haproxy.check" >&2; fail "haproxy -c: $cfg"; }
ok "haproxy -c: deploy/haproxy/haproxy.cfg is valid"
for x in a b; do
	"$ECHOD" -t -f "$deploy/haproxy/echod-$x.conf" > /dev/null 2>&1 || fail "echod -t: deploy/haproxy/echod-$x.conf"
done
start_pair "$deploy/haproxy"
haproxy -f "$cfg" -db -p "$tmp/haproxy.pid" > "$tmp/haproxy.log" 2>&1 &
hap_pid=$!
bg_pids="$bg_pids $hap_pid"
wait_for listening -t || fail "haproxy does not listen on 12000"
# Its echo check passes against both (with a v2 LOCAL header): logged
# once each, with option log-health-checks.
for s in a b; do
	wait_for grep -q "Health check for server echod/$s succeeded" "$tmp/haproxy.log" ||
	    fail "haproxy's health check of $s did not pass"
done
grep -q "is DOWN" "$tmp/haproxy.log" && fail "a server went down before anything was killed"
ok "haproxy's echo health check passes on both echods"
grep -hq "Received from 127.0.0.1#\|refused" "$tmp/a.log" "$tmp/b.log" && fail "the health checks were logged or refused"
ok "its checks are neither logged nor refused"

served tcp 127.0.0.2 "from two via haproxy"
served tcp 127.0.0.3 "from three via haproxy"
per_address
# haproxy_noticed: A failed its checks, and is out.
haproxy_noticed() { grep -q "Server echod/a is DOWN" "$tmp/haproxy.log"; }
failover "$deploy/haproxy" haproxy_noticed tcp
wait_for grep -q "Server echod/a is UP" "$tmp/haproxy.log" || fail "haproxy did not log A up again"
ok "haproxy put A back"
kill -TERM "$hap_pid"
wait_exit "$hap_pid"
stop_pair

# ---- nginx
conf="$deploy/nginx/nginx.conf"
mkdir -p "$tmp/nginx"
# Where this run's pid file and error log go, not /run or /var/log.
set -- -c "$conf" -p "$tmp/nginx/" -e "$tmp/nginx.err" \
    -g "daemon off; pid $tmp/nginx.pid; error_log $tmp/nginx.err info;"
nginx -t "$@" > "$tmp/nginx.check" 2>&1 || { cat "$tmp/nginx.check" >&2; fail "nginx -t: $conf"; }
ok "nginx -t: deploy/nginx/nginx.conf is valid"
for x in a b; do
	"$ECHOD" -t -f "$deploy/nginx/echod-$x.conf" > /dev/null 2>&1 || fail "echod -t: deploy/nginx/echod-$x.conf"
done
start_pair "$deploy/nginx"
nginx "$@" > "$tmp/nginx.out" 2>&1 &
ngx_pid=$!
bg_pids="$bg_pids $ngx_pid"
wait_for listening -t || fail "nginx does not listen on 12000 (tcp)"
wait_for listening -u || fail "nginx does not listen on 12000 (udp)"
# Its workers too, so that a failed test kills them with their master.
wait_for eval "children $ngx_pid | grep -q ." || fail "no nginx worker"
bg_pids="$bg_pids $(children "$ngx_pid" | tr '\n' ' ')"

served tcp 127.0.0.2 "from two via nginx"
served tcp 127.0.0.3 "from three via nginx"
served udp 127.0.0.2 "from two via nginx"
served udp 127.0.0.3 "from three via nginx"
per_address
# nginx_noticed: A failed for TCP and for UDP, and is out for
# fail_timeout.
nginx_noticed() {
	grep 'upstream server temporarily disabled' "$tmp/nginx.err" |
	    grep -F 'upstream: "127.0.0.1:12101"' > "$tmp/disabled"
	grep -q ' udp client: ' "$tmp/disabled" && grep -v ' udp client: ' "$tmp/disabled" | grep -q ' client: '
}
udp_retry_ok=yes
failover "$deploy/nginx" nginx_noticed tcp udp
kill -TERM "$ngx_pid"
wait_exit "$ngx_pid"
ngx_pid=
stop_pair udp
