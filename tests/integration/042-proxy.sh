#!/bin/sh
# proxy_protocol: clients behind a balancer (127.0.0.1, the only address
# in proxy_from) that puts a PROXY header (v1 or v2) before their bytes.
# TCP: the header, whole or a byte at a time, is never echoed, what
# follows it is (in the same segment too, and on TLS the handshake);
# the client it names is the client for the log, the debug lines,
# allow/deny and max_connections_per_ip (held and released under it);
# LOCAL and UNKNOWN are answered, not logged.  A peer outside proxy_from,
# garbage, a bad header, a stalled or cut one are closed unanswered and
# counted as "proxy"; a connect-only check is not.  UDP: each datagram
# carries a header, the reply goes back without it, udp_rate holds per
# address named.  The counts are read from the SIGUSR1 lines and the
# metrics; -t names a proxy_protocol without proxy_from.  Under valgrind
# when it is installed: no errors, no leaks.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

conf="$tmp/echod.conf"

# -t: proxy_protocol needs proxy_from, and proxy_from needs it.
p=$(free_port)
write_conf "$conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; }
{ protocol = "udp"; address = "127.0.0.1"; port = $p; proxy_protocol = true; }
CONF
"$ECHOD" -t -f "$conf" > "$tmp/t.out" 2>&1 && { cat "$tmp/t.out" >&2; fail "-t passed proxy_protocol without proxy_from"; }
expect_match "$tmp/t.out" "$conf:4: listeners[1].proxy_protocol: needs proxy_from" \
    "-t: proxy_protocol without proxy_from is named with its file and line"
write_conf "$conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; proxy_from = ( "127.0.0.1" ); }
CONF
"$ECHOD" -t -f "$conf" > "$tmp/t.out" 2>&1 && { cat "$tmp/t.out" >&2; fail "-t passed proxy_from without proxy_protocol"; }
expect_match "$tmp/t.out" "$conf:3: listeners[0].proxy_from: applies only with proxy_protocol = true" \
    "-t: proxy_from without proxy_protocol is named too"

# pp.py: the balancer's side, with headers made here from the spec
# (HAProxy's proxy-protocol.txt), not with echod's code.
cat > "$tmp/pp.py" <<'PY'
"""
pp.py tcp [-b ADDR] [-w S] [--mode M] [-i FILE] [-o FILE] PORT HEADER DATA
  Connect to 127.0.0.1:PORT from ADDR (default 127.0.0.1), send HEADER
  then DATA (or FILE's bytes) as M says, then a FIN; read to the end
  and print "reply R end E" (-o: R to FILE, "bytes N end E"), E being
  fin, reset or "open after S s".  M: one (header and data in one
  write), bytewise (the header a byte a write, then the data), tail
  (all the header but its last byte, then that byte with the data),
  stall (half the header, no FIN), cut (half the header, then FIN),
  connect (connect and close: print the local port), tls CAFILE or
  tls-same CAFILE (TLS after the header, wrapped by ssl; or its
  ClientHello in the header's own write).
pp.py udp [-b ADDR] [-w S] PORT HEADER DATA: one datagram, HEADER then
  DATA; "reply R from A:P", or "reply none" after S s.
pp.py perip PORT: max_connections_per_ip (2) under a header's address.
pp.py udprate PORT GO: 20 datagrams naming 192.0.2.70, then 2 naming
  192.0.2.71; "sent"; once the file GO exists, the replies counted.
HEADER: v1,TCP4|TCP6,SRC,SPORT  v1,UNKNOWN  v2,INET|INET6,SRC,SPORT[,F]
  (F: tlv, TLVs after the addresses; dgram or stream, the transport
  against the socket's)  v2,LOCAL (a length, and addresses to ignore)
  v2,BADVERSION  raw,TEXT  none
"""
import argparse
import os
import socket
import ssl
import struct
import sys
import threading
import time

from peer import read_exactly, read_to_end

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def header(spec, port, dgram):
    f = spec.split(",")
    if f[0] == "none":
        return b""
    if f[0] == "raw":
        return f[1].replace("\\r\\n", "\r\n").encode()
    if f[0] == "v1":
        if f[1] == "UNKNOWN":
            return b"PROXY UNKNOWN\r\n"
        dst = "127.0.0.1" if f[1] == "TCP4" else "::1"
        return ("PROXY %s %s %s %s %d\r\n" %
                (f[1], f[2], dst, f[3], port)).encode()
    if f[1] == "LOCAL":
        # As AWS's NLB does: LOCAL with a length, here INET addresses
        # naming 198.51.100.99, which are not the client's.
        body = (socket.inet_pton(socket.AF_INET, "198.51.100.99") +
                socket.inet_pton(socket.AF_INET, "127.0.0.1") +
                struct.pack("!HH", 40199, port))
        return SIG + bytes([0x20, 0x11]) + struct.pack("!H", len(body)) + body
    if f[1] == "BADVERSION":
        body = bytes(12)
        return SIG + bytes([0x11, 0x11]) + struct.pack("!H", len(body)) + body
    flags = f[4:]
    transport = 2 if dgram else 1
    if "dgram" in flags:
        transport = 2
    if "stream" in flags:
        transport = 1
    if f[1] == "INET":
        af, fam, dst = socket.AF_INET, 1, "127.0.0.1"
    else:
        af, fam, dst = socket.AF_INET6, 2, "::1"
    body = (socket.inet_pton(af, f[2]) + socket.inet_pton(af, dst) +
            struct.pack("!HH", int(f[3]), port))
    if "tlv" in flags:
        # ALPN, AUTHORITY, NOOP: skipped, whatever they say.
        body += b"\x01\x00\x02h2" + b"\x02\x00\x09localhost" + b"\x04\x00\x03\x00\x00\x00"
    return (SIG + bytes([0x21, fam << 4 | transport]) +
            struct.pack("!H", len(body)) + body)


def shown(b):
    """Bytes as text on one line: controls and the rest escaped."""
    return b.decode("latin-1").encode("unicode_escape").decode()


def send(s, data):
    """Send, and take a connection closed under it as the end it is."""
    try:
        s.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def tls_same(s, hdr, ctx, data):
    """TLS over s, its ClientHello in the header's write, by hand."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = ctx.wrap_bio(inc, out, server_hostname="localhost")
    first = hdr
    while True:
        try:
            o.do_handshake()
            break
        except ssl.SSLWantReadError:
            s.sendall(first + out.read())
            first = b""
            b = s.recv(65536)
            if not b:
                raise ConnectionError("closed in the handshake")
            inc.write(b)
    o.write(data)
    s.sendall(out.read())
    got = b""
    while len(got) < len(data):
        try:
            got += o.read(65536)
        except ssl.SSLWantReadError:
            b = s.recv(65536)
            if not b:
                break
            inc.write(b)
    version = o.version()
    try:
        o.unwrap()
    except ssl.SSLWantReadError:
        pass
    s.sendall(out.read())
    return got, version


def tcp(a):
    data = a.data.replace("\\r\\n", "\r\n").encode()
    if a.input:
        with open(a.input, "rb") as f:
            data = f.read()
    s = socket.create_connection(("127.0.0.1", a.port), timeout=a.wait,
                                 source_address=(a.bind, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if a.mode == "connect":
        print(s.getsockname()[1])
        s.close()
        return
    hdr = header(a.header, a.port, False)
    if a.mode in ("tls", "tls-same"):
        ctx = ssl.create_default_context(cafile=a.cafile)
        if a.mode == "tls":
            s.sendall(hdr)
            t = ctx.wrap_socket(s, server_hostname="localhost")
            t.sendall(data)
            got = read_exactly(t, len(data))
            version = t.version()
            s = t.unwrap()
        else:
            got, version = tls_same(s, hdr, ctx, data)
        _, end = read_to_end(s, a.wait)
        print("reply %s end %s %s" % (got.decode(), end, version))
        return
    if a.mode == "one":
        sender = threading.Thread(target=send, args=(s, hdr + data))
        sender.start()  # reading meanwhile: a big echo fills no buffer
    elif a.mode == "bytewise":
        for i in range(len(hdr)):
            send(s, hdr[i:i + 1])
            time.sleep(0.01)
        send(s, data)
    elif a.mode == "tail":
        send(s, hdr[:-1])
        time.sleep(0.2)
        send(s, hdr[-1:] + data)
    elif a.mode in ("stall", "cut"):
        send(s, hdr[:len(hdr) // 2])
    if a.mode != "stall":
        if a.mode == "one":
            sender.join()
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    got, end = read_to_end(s, a.wait)
    if a.out:
        with open(a.out, "wb") as f:
            f.write(got)
        print("bytes %d end %s" % (len(got), end))
    else:
        print("reply %s end %s" % (shown(got), end))


def udp(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.bind, 0))
    s.settimeout(a.wait)
    s.sendto(header(a.header, a.port, True) + a.data.encode(),
             ("127.0.0.1", a.port))
    try:
        b, frm = s.recvfrom(65536)
        print("reply %s from %s:%d" % (shown(b), frm[0], frm[1]))
    except socket.timeout:
        print("reply none")


def perip(a):
    def conn(hspec, msg):
        s = socket.create_connection(("127.0.0.1", a.port), timeout=30,
                                     source_address=("127.0.0.1", 0))
        send(s, header(hspec, a.port, False) + msg)
        got, end = read_to_end(s, 30, len(msg))
        return s, "%s %s" % (got.decode() or "nothing", end)

    one, r = conn("v1,TCP4,192.0.2.50,40150", b"one")
    print("first:", r)
    two, r = conn("v2,INET,192.0.2.50,40151", b"two")
    print("second:", r)
    three, r = conn("v1,TCP4,192.0.2.50,40152", b"three")
    print("third:", r)
    other, r = conn("v1,TCP4,192.0.2.51,40153", b"other")
    print("other:", r)
    for s in one, two, three, other:
        s.close()
    refused = 0
    for _ in range(300):
        s, r = conn("v1,TCP4,192.0.2.50,40154", b"again")
        s.close()
        if r == "AGAIN open":
            break
        refused += 1
        time.sleep(0.1)
    print("after:", r, "refused first", refused)


def udprate(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    start = time.monotonic()
    for i in range(20):
        s.sendto(header("v2,INET,192.0.2.70,40170", a.port, True) +
                 b"r70-%02d" % i, ("127.0.0.1", a.port))
    for i in range(2):
        s.sendto(header("v2,INET,192.0.2.71,40171", a.port, True) +
                 b"r71-%d" % i, ("127.0.0.1", a.port))
    print("sent", flush=True)
    while not os.path.exists(a.go):
        if time.monotonic() - start > 120:
            sys.exit("no go after 120 s")
        time.sleep(0.05)
    ms = (time.monotonic() - start) * 1000
    s.setblocking(False)
    n = {b"R70": 0, b"R71": 0}
    while True:
        try:
            b = s.recv(65536)
        except BlockingIOError:
            break
        n[b[:3]] = n.get(b[:3], 0) + 1
    print("answered70 %d answered71 %d ms %d" % (n[b"R70"], n[b"R71"], ms))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what")
    ap.add_argument("-b", dest="bind", default="127.0.0.1")
    ap.add_argument("-w", dest="wait", type=float, default=30)
    ap.add_argument("--mode", default="one")
    ap.add_argument("--cafile")
    ap.add_argument("-i", dest="input")
    ap.add_argument("-o", dest="out")
    ap.add_argument("port", type=int)
    ap.add_argument("rest", nargs="*")
    a = ap.parse_args()
    if a.what in ("tcp", "udp"):
        a.header, a.data = (a.rest + ["", ""])[:2]
        (tcp if a.what == "tcp" else udp)(a)
    elif a.what == "perip":
        perip(a)
    else:
        a.go = a.rest[0]
        udprate(a)


if __name__ == "__main__":
    main()
PY
pp() { python3 "$tmp/pp.py" "$@"; }

pa=$(free_port) # the echo, logged
pr=$(free_port) # refusals
pm=$(free_port) # max_connections_per_ip 2
pd=$(free_port) # allow 192.0.2.0/24, deny 192.0.2.66
pu=$(free_port) # udp, logged
pq=$(free_port) # udp, for udp_rate
pz=$(free_port) # max_connections_per_ip 1, for IPv6 clients of ::/64
pl=$(free_port) # close_after_reply, to linger
pt= # TLS, logged (when built with OpenSSL)
m=
bal='proxy_protocol = true; proxy_from = ( "127.0.0.1" );'
top="workers = 2; udp_rate = 2; udp_burst = 2;"
if [ "${HAVE_HTTP:-yes}" = yes ]; then
	m=$(free_port)
	top="$top metrics = { port = $m; };"
fi
if [ "${HAVE_TLS:-yes}" = yes ]; then
	pt=$(free_port)
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	    -keyout "$tmp/a.key" -out "$tmp/a.pem" > "$tmp/openssl.out" 2>&1 ||
	    { cat "$tmp/openssl.out" >&2; fail "openssl made no certificate"; }
fi
{
	cat <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $pa; transform = "upper"; log_messages = true; $bal }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pr; transform = "upper"; $bal }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pm; transform = "upper"; max_connections_per_ip = 2; $bal }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pd; transform = "upper"; log_messages = true; allow = ( "192.0.2.0/24" ); deny = ( "192.0.2.66" ); $bal }
{ protocol = "udp"; address = "127.0.0.1"; port = $pu; transform = "upper"; log_messages = true; $bal }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pz; transform = "upper"; max_connections_per_ip = 1; $bal }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pl; transform = "upper"; framing = "line"; close_after_reply = true; $bal }
{ protocol = "udp"; address = "127.0.0.1"; port = $pq; transform = "upper"; $bal }
CONF
	[ -z "$pt" ] ||
	    echo "{ protocol = \"tcp\"; address = \"127.0.0.1\"; port = $pt; transform = \"upper\"; log_messages = true; $bal tls = { certificate = \"$tmp/a.pem\"; key = \"$tmp/a.key\"; }; }"
} | write_conf "$conf" "$top"

# As 021-workers.sh does, and for the same reasons.
if [ -z "${ECHOD_SANITIZED:-}" ] && command -v valgrind > /dev/null; then
	echod_wrap="valgrind -q --vgdb=no --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1"
	ok "running echod under valgrind"
fi
start_echod "$conf"

# stats NAME: the listener NAME's line at a fresh SIGUSR1.
stats() {
	n=$(grep -cF "SIGUSR1: $1: " "$tmp/echod.log")
	kill -USR1 "$echod_pid"
	wait_for eval "[ \$(grep -cF \"SIGUSR1: $1: \" \"$tmp/echod.log\") -gt $n ]" ||
	    fail "no SIGUSR1 line for $1"
	grep -F "SIGUSR1: $1: " "$tmp/echod.log" | tail -n 1
}
# count NAME WHAT: the number before WHAT ("for PROXY", "at a limit",
# "replies"...) in NAME's stats line.
count() { stats "$1" | sed -n "s|.* \\([0-9]*\\) $2.*|\\1|p"; }
count_at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }

# answered WHAT WANT PP-ARGS...: pp.py's output is WANT.
answered() {
	what=$1 want=$2
	shift 2
	expect_eq "$(pp "$@" 2>&1)" "$want" "$what"
}
# unanswered WHAT PP-ARGS...: closed (FIN or reset), nothing echoed.
unanswered() {
	what=$1
	shift
	out=$(pp "$@" 2>&1)
	case $out in
	"reply  end fin" | "reply  end reset") ok "$what: closed, nothing echoed (${out#reply  })" ;;
	*) fail "$what: got '$out'" ;;
	esac
}
# logged PORT PEER TEXT: "Received from PEER: TEXT" on tcp PORT.
logged() {
	expect_match "$tmp/echod.log" "tcp 127.0.0.1:$1: Received from $2: $3" \
	    "logged as from $2"
}

# The header's address is the client's, in the log and the debug lines;
# the header is never echoed.
answered "v1 TCP4" "reply V1 TCP4 end fin" tcp "$pa" v1,TCP4,192.0.2.7,40112 "v1 tcp4"
logged "$pa" 192.0.2.7#40112 "v1 tcp4"
expect_match "$tmp/echod.log" "tcp 127.0.0.1:$pa: 192.0.2.7:40112: connected, worker " \
    "the debug line names the header's client"
answered "v1 TCP6" "reply V1 TCP6 end fin" tcp "$pa" v1,TCP6,2001:db8::7,40113 "v1 tcp6"
logged "$pa" 2001:db8::7#40113 "v1 tcp6"
expect_match "$tmp/echod.log" "tcp 127.0.0.1:$pa: [2001:db8::7]:40113: connected, worker " \
    "the debug line names an IPv6 header's client"
answered "v2 INET" "reply V2 INET end fin" tcp "$pa" v2,INET,192.0.2.8,40114 "v2 inet"
logged "$pa" 192.0.2.8#40114 "v2 inet"
answered "v2 INET6" "reply V2 INET6 end fin" tcp "$pa" v2,INET6,2001:db8::8,40115 "v2 inet6"
logged "$pa" 2001:db8::8#40115 "v2 inet6"
answered "v2 with TLVs after the addresses" "reply WITH TLVS end fin" tcp "$pa" v2,INET,192.0.2.12,40120,tlv "with tlvs"
logged "$pa" 192.0.2.12#40120 "with tlvs"
# What follows a header is data, even a header.
answered "a second header is data" 'reply PROXY TCP4 203.0.113.5 127.0.0.1 1234 80\r\n end fin' \
    tcp "$pa" v1,TCP4,192.0.2.13,40121 'PROXY TCP4 203.0.113.5 127.0.0.1 1234 80\r\n'
logged "$pa" 192.0.2.13#40121 'PROXY TCP4 203.0.113.5 127.0.0.1 1234 80\x0D\x0A'
grep -q "203.0.113.5#" "$tmp/echod.log" && fail "the second header was taken for one"
ok "the second header named no client"
# More than the header's 1024 bytes in the header's write.
head -c 200000 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 262144 > "$tmp/big"
tr_upper < "$tmp/big" > "$tmp/want"
answered "256 KiB in the header's write" "bytes 262144 end fin" tcp -i "$tmp/big" -o "$tmp/out" "$pa" v2,INET,192.0.2.14,40122
cmp -s "$tmp/out" "$tmp/want" || fail "256 KiB in the header's write: not the echo expected"
ok "256 KiB in the header's write: echoed exactly"

# In pieces: a byte a write, then the data; or the last byte with it.
answered "v1 a byte a write" "reply BYTEWISE ONE end fin" tcp --mode bytewise "$pa" v1,TCP4,192.0.2.9,40116 "bytewise one"
logged "$pa" 192.0.2.9#40116 "bytewise one"
answered "v2 a byte a write" "reply BYTEWISE TWO end fin" tcp --mode bytewise "$pa" v2,INET6,2001:db8::9,40117 "bytewise two"
logged "$pa" 2001:db8::9#40117 "bytewise two"
answered "v1: data with the header's last byte" "reply TAIL ONE end fin" tcp --mode tail "$pa" v1,TCP4,192.0.2.11,40118 "tail one"
logged "$pa" 192.0.2.11#40118 "tail one"
answered "v2: data with the header's last byte" "reply TAIL TWO end fin" tcp --mode tail "$pa" v2,INET,192.0.2.11,40119 "tail two"
logged "$pa" 192.0.2.11#40119 "tail two"

# A balancer's own checks: answered, not logged, under no address of
# theirs.
answered "v2 LOCAL with a length" "reply LOCAL CHECK end fin" tcp "$pa" v2,LOCAL "local check"
answered "v1 UNKNOWN" "reply UNKNOWN CHECK end fin" tcp "$pa" v1,UNKNOWN "unknown check"
grep -Eq "local check|unknown check|198\.51\.100\.99" "$tmp/echod.log" &&
    { grep -E "local check|unknown check|198\.51\.100\.99" "$tmp/echod.log" >&2; fail "a balancer's check was logged"; }
ok "LOCAL and UNKNOWN: not logged, the LOCAL's addresses ignored"

# Refused, counted, nothing echoed: a peer outside proxy_from (first, so
# that its log line is not held back by the rate), garbage, bad headers,
# half a header and a FIN, half a header and nothing (until the 5 s
# deadline, in the background meanwhile).  A connect-only check is not.
unanswered "a peer outside proxy_from" tcp -b 127.0.0.2 "$pr" v1,TCP4,192.0.2.20,40123 "untrusted"
wait_for grep -q "tcp 127.0.0.1:$pr: refused 127.0.0.2#[0-9]*: not one of proxy_from's balancers" "$tmp/echod.log" ||
    fail "the peer outside proxy_from was not logged"
ok "the peer outside proxy_from is logged"
pp tcp -w 60 --mode stall "$pr" v1,TCP4,192.0.2.21,40124 > "$tmp/stall" 2>&1 &
stall=$!
bg_pids="$bg_pids $stall"
unanswered "garbage instead of a header" tcp "$pr" 'raw,GET / HTTP/1.0\r\n\r\n' "garbage"
unanswered "v2 with version 1" tcp "$pr" v2,BADVERSION "bad version"
unanswered "v2 DGRAM on a connection" tcp "$pr" v2,INET,192.0.2.22,40125,dgram "dgram on tcp"
unanswered "half a header, then FIN" tcp --mode cut "$pr" v2,INET,192.0.2.23,40126
port=$(pp tcp --mode connect "$pr") || fail "connect-only: no connection"
wait_for grep -q "tcp 127.0.0.1:$pr: 127.0.0.1:$port: closed before a whole PROXY header" "$tmp/echod.log" ||
    fail "connect-only: its close was not seen"
grep -q "refused 127.0.0.1#$port:" "$tmp/echod.log" && fail "connect-only was logged as refused"
ok "connect-only: closed quietly"
wait_exit "$stall"
expect_eq "$(cat "$tmp/stall")" "reply  end fin" "half a header, then nothing: closed at the deadline, nothing echoed"
wait_for count_at_least "tcp 127.0.0.1:$pr" "for PROXY" 6 || fail "fewer than 6 proxy refusals counted"
expect_eq "$(count "tcp 127.0.0.1:$pr" "for PROXY")" 6 "6 refusals counted for PROXY, the connect-only check not"

# max_connections_per_ip (2) under the header's address: two held ones
# naming 192.0.2.50 fill it (the balancer's own address holds none), a
# third is refused, 192.0.2.51 is served; once the two close, the
# address has room again.
pp perip "$pm" > "$tmp/perip" 2>&1 || { cat "$tmp/perip" >&2; fail "perip: the client failed"; }
expect_match "$tmp/perip" "first: ONE open" "192.0.2.50: first held"
expect_match "$tmp/perip" "second: TWO open" "192.0.2.50: second held"
grep -Eq "^third: nothing (fin|reset)$" "$tmp/perip" || { cat "$tmp/perip" >&2; fail "192.0.2.50: a third was not refused"; }
ok "192.0.2.50: a third is refused, nothing echoed"
expect_match "$tmp/perip" "other: OTHER open" "192.0.2.51 is served meanwhile"
expect_match "$tmp/perip" "after: AGAIN open" "192.0.2.50 is served again once its two closed"
again=$(sed -n 's/.* refused first \([0-9]*\)$/\1/p' "$tmp/perip")
expect_eq "$(count "tcp 127.0.0.1:$pm" "at a limit")" $((1 + again)) "the refusals at the limit counted"
expect_match "$tmp/echod.log" "tcp 127.0.0.1:$pm: refused 192.0.2.50#40152: max_connections_per_ip (2) reached" \
    "the refusal is logged under the header's address"

# allow/deny on the header's address, not the balancer's; the balancer's
# own check (LOCAL), trusted through proxy_from, is not weighed by them
# (allow lists only the clients' 192.0.2.0/24).
unanswered "deny 192.0.2.66 in a header" tcp "$pd" v1,TCP4,192.0.2.66,40127 "denied"
answered "the balancer's LOCAL check on the same listener" "reply STILL UP end fin" tcp "$pd" v2,LOCAL "still up"
answered "192.0.2.67 on the same listener" "reply SERVED end fin" tcp "$pd" v1,TCP4,192.0.2.67,40128 "served"
expect_eq "$(count "tcp 127.0.0.1:$pd" "by allow/deny")" 1 "the denied header counted by allow/deny"
expect_match "$tmp/echod.log" "tcp 127.0.0.1:$pd: refused 192.0.2.66#40127: " "logged under the header's address"

# TLS after the header: by ssl's wrap_socket, or with the ClientHello in
# the header's write.
if [ -n "$pt" ]; then
	answered "TLS after a v2 header" "reply OVER TLS end fin TLSv1.3" \
	    tcp --mode tls --cafile "$tmp/a.pem" "$pt" v2,INET,192.0.2.80,40180 "over tls"
	logged "$pt" 192.0.2.80#40180 "over tls"
	expect_match "$tmp/echod.log" "tcp 127.0.0.1:$pt: 192.0.2.80:40180: TLSv1.3" \
	    "the TLS debug line names the header's client"
	answered "TLS: the ClientHello in the v1 header's write" "reply SAME WRITE end fin TLSv1.3" \
	    tcp --mode tls-same --cafile "$tmp/a.pem" "$pt" v1,TCP4,192.0.2.81,40181 "same write"
	logged "$pt" 192.0.2.81#40181 "same write"
fi

# UDP: the reply is the rest, transformed, from the listener's port.
answered "udp: v2 DGRAM" "reply UDP V2 from 127.0.0.1:$pu" udp "$pu" v2,INET,192.0.2.30,40130 "udp v2"
expect_match "$tmp/echod.log" "udp 127.0.0.1:$pu: Received from 192.0.2.30#40130: udp v2" "udp: logged as from 192.0.2.30#40130"
answered "udp: nginx's v1 line" "reply UDP V1 from 127.0.0.1:$pu" udp "$pu" v1,TCP4,192.0.2.31,40131 "udp v1"
expect_match "$tmp/echod.log" "udp 127.0.0.1:$pu: Received from 192.0.2.31#40131: udp v1" "udp: logged as from 192.0.2.31#40131"
answered "udp: v2 DGRAM over IPv6" "reply UDP SIX from 127.0.0.1:$pu" udp "$pu" v2,INET6,2001:db8::32,40132 "udp six"
expect_match "$tmp/echod.log" "udp 127.0.0.1:$pu: Received from 2001:db8::32#40132: udp six" "udp: logged as from 2001:db8::32#40132"
answered "udp: v2 LOCAL" "reply UDP CHECK from 127.0.0.1:$pu" udp "$pu" v2,LOCAL "udp check"
grep -q "udp check" "$tmp/echod.log" && fail "udp: the LOCAL datagram was logged"
ok "udp: the LOCAL datagram is not logged"
# No reply within 2 s: not a timing claim (an answer comes in far less),
# the drop is then read from echod's count.
pp udp -w 2 "$pu" none "no header" > "$tmp/u1" 2>&1 &
u1=$!
pp udp -w 2 -b 127.0.0.2 "$pu" v2,INET,192.0.2.33,40133 "untrusted" > "$tmp/u2" 2>&1 &
u2=$!
pp udp -w 2 "$pu" v2,INET,192.0.2.34,40134,stream "stream on udp" > "$tmp/u3" 2>&1 &
u3=$!
bg_pids="$bg_pids $u1 $u2 $u3"
wait_exit "$u1"
wait_exit "$u2"
wait_exit "$u3"
expect_eq "$(cat "$tmp/u1")" "reply none" "udp: a datagram without a header is dropped"
expect_eq "$(cat "$tmp/u2")" "reply none" "udp: a datagram from outside proxy_from is dropped"
expect_eq "$(cat "$tmp/u3")" "reply none" "udp: a v2 STREAM header is dropped"
wait_for count_at_least "udp 127.0.0.1:$pu" "for PROXY;" 3 || fail "fewer than 3 udp proxy refusals counted"
stats "udp 127.0.0.1:$pu" > "$tmp/usr1"
expect_match "$tmp/usr1" ", 0 over udp_rate, 0 from a source never answered, 3 for PROXY;" "udp: the 3 counted for PROXY"

# udp_rate (2, burst 2) per address named: of 20 naming 192.0.2.70 at
# once, 2 are answered, and one more for each half second echod took;
# the 2 naming 192.0.2.71 after them are.  Counted once echod has
# decided all 22 (its count), so that every reply has come.
rm -f "$tmp/go"
pp udprate "$pq" "$tmp/go" > "$tmp/rate" 2>&1 &
rate=$!
bg_pids="$bg_pids $rate"
wait_for grep -q sent "$tmp/rate" || fail "udprate: nothing sent"
decided() {
	line=$(stats "udp 127.0.0.1:$pq")
	k=$(echo "$line" | sed -n 's/.* \([0-9]*\) replies.*/\1/p')
	o=$(echo "$line" | sed -n 's/.* \([0-9]*\) over udp_rate.*/\1/p')
	[ $((k + o)) -ge 22 ]
}
wait_for decided || fail "echod did not decide the 22 datagrams"
touch "$tmp/go"
wait_exit "$rate" || { cat "$tmp/rate" >&2; fail "udprate failed"; }
# shellcheck disable=SC2046 # words: "answered70 N answered71 M ms T"
set -- $(tail -n 1 "$tmp/rate")
n70=$2 n71=$4 ms=$6
expect_eq "$n71" 2 "udp_rate: 192.0.2.71 answered after 20 naming 192.0.2.70"
if [ "$n70" -lt 2 ] || [ "$n70" -gt $((2 + 2 * (ms / 1000 + 1))) ] || [ "$n70" -ge 20 ]; then
	fail "udp_rate: $n70 of 20 naming 192.0.2.70 answered in $ms ms"
fi
ok "udp_rate: $n70 of 20 naming 192.0.2.70 answered in $ms ms (2 at once, 2 a second)"
stats "udp 127.0.0.1:$pq" > "$tmp/usr1"
expect_match "$tmp/usr1" "$((n70 + 2)) replies" "udp_rate: echod's replies are the ones that came"
expect_match "$tmp/usr1" ", $((20 - n70)) over udp_rate, 0 from a source never answered, 0 for PROXY;" \
    "udp_rate: the others counted over udp_rate"

# The metrics say the same.
if [ -n "$m" ]; then
	http "$m" > "$tmp/scrape"
	for want in \
	    "echod_refused_total{listener=\"tcp 127.0.0.1:$pr\",reason=\"proxy\"} 6" \
	    "echod_refused_total{listener=\"udp 127.0.0.1:$pu\",reason=\"proxy\"} 3" \
	    "echod_refused_total{listener=\"tcp 127.0.0.1:$pa\",reason=\"proxy\"} 0" \
	    "echod_refused_total{listener=\"tcp 127.0.0.1:$pd\",reason=\"acl\"} 1" \
	    "echod_refused_total{listener=\"tcp 127.0.0.1:$pm\",reason=\"limit\"} $((1 + again))"; do
		grep -qxF -- "$want" "$tmp/scrape" || { grep refused "$tmp/scrape" >&2; fail "no '$want' in the scrape"; }
		ok "scraped $want"
	done
fi

# The books stay exact for clients of ::/64 (whose count key is all
# zero with ipv6_prefix 64): a balancer's UNKNOWN check, counted under
# no address, must not uncount them when it ends.
python3 - "$pz" > "$tmp/zero" 2>&1 <<'PY' || { cat "$tmp/zero" >&2; fail "::/64 books: the client failed"; }
import socket, sys, time
port = int(sys.argv[1])
def conn(hdr):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(hdr)
    return s
def echo(s):
    try:
        s.sendall(b"hi\n")
        s.settimeout(3)
        return s.recv(10)
    except OSError:
        return b""
a = conn(b"PROXY TCP6 ::2 ::1 4000 %d\r\n" % port)
print("a", echo(a))
c = conn(b"PROXY TCP6 ::3 ::1 4001 %d\r\n" % port)
print("c", echo(c))
c.close()
b = conn(b"PROXY UNKNOWN\r\n")
print("check", echo(b))
b.close()
time.sleep(1)
c = conn(b"PROXY TCP6 ::4 ::1 4002 %d\r\n" % port)
print("after", echo(c))
PY
expect_match "$tmp/zero" "a b'HI\n'" "::2 is served (max_connections_per_ip 1)"
expect_match "$tmp/zero" "c b''" "::3, the same /64, is refused"
expect_match "$tmp/zero" "check b'HI\n'" "the balancer's UNKNOWN check is served"
expect_match "$tmp/zero" "after b''" "after the check ends, ::4 of the same /64 is still refused"

# A proxied connection lingers after close_after_reply as any does:
# what the client sends after its reply is read and dropped until it
# closes, never answered with a reset.
python3 - "$pl" > "$tmp/linger" 2>&1 <<'PY' || { cat "$tmp/linger" >&2; fail "linger: the client failed"; }
import socket, sys, time
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(b"PROXY TCP4 192.0.2.30 127.0.0.1 4100 %d\r\nhello\n" % port)
reply = b""
while not reply.endswith(b"\n"):
    b = s.recv(100)
    if not b:
        break
    reply += b
print("reply", reply)
try:
    for i in range(5):
        s.sendall(b"x" * 100)
        time.sleep(0.3)
    print("more sent")
    s.shutdown(socket.SHUT_WR)
    print("end", "fin" if s.recv(100) == b"" else "data")
except OSError as e:
    print("end", type(e).__name__)
PY
expect_match "$tmp/linger" "reply b'HELLO\n'" "close_after_reply through PROXY: the reply"
expect_match "$tmp/linger" "more sent" "then the client's further bytes are taken"
expect_match "$tmp/linger" "end fin" "and the end is echod's FIN, not a reset"

# Stopped with a connection still in its header: closed, not counted.
pp tcp -w 60 --mode stall "$pa" v1,TCP4,192.0.2.24,40129 > "$tmp/stall" 2>&1 &
stall=$!
bg_pids="$bg_pids $stall"
wait_for eval "stats 'tcp 127.0.0.1:$pa' | grep -q '(1 open)'" || fail "the stalled connection was not accepted"
echod_alive
stop_echod
wait_exit "$stall"
expect_match "$tmp/echod.log" "closed tcp 127.0.0.1:$pa: " "the listener's last line"
grep "closed tcp 127.0.0.1:$pa: " "$tmp/echod.log" > "$tmp/closed"
expect_match "$tmp/closed" "(0 open)" "every connection off the books"
expect_match "$tmp/closed" "refused 0 by allow/deny, 0 at a limit, 0 for PROXY;" "nothing refused on the echo listener (no TLS group: no TLS count)"
expect_match "$tmp/echod.log" "closed tcp 127.0.0.1:$pr: " "the refusals listener's last line"
grep "closed tcp 127.0.0.1:$pr: " "$tmp/echod.log" > "$tmp/closed"
expect_match "$tmp/closed" "(0 open)" "refused connections off the books"
expect_match "$tmp/closed" ", 6 for PROXY;" "6 for PROXY at the end too"
