#!/bin/sh
# TLS listeners (a tcp listener's tls group), with certificates made
# here by openssl: every transform and line framing over TLS 1.2 and
# 1.3, through openssl s_client, socat, echod-tcp --tls and Python's
# ssl; 200 clients at once; a stream larger than the socket buffers
# ended by the client's close_notify; a client that never reads;
# garbage, stalled handshakes (the deadline) and the per-address limit,
# counted; the key log; a reload that swaps the certificate, and one
# whose key does not match; and what -t says of a bad tls group.
#
# How each connection ended is checked, not only its bytes: a clean end
# is echod's close_notify, then FIN; an end that cuts the echo short
# must not send close_notify, or the client cannot tell it from a whole
# echo.  tlsc.py (below) tells one from the other.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

conf="$tmp/echod.conf"

if [ "${HAVE_TLS:-yes}" = no ]; then
	p=$(free_port)
	write_conf "$conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; tls = { certificate = "/nonexistent/cert.pem"; key = "/nonexistent/key.pem"; }; }
CONF
	"$ECHOD" -t -f "$conf" > "$tmp/t.out" 2>&1 && fail "echod -t took a tls group without OpenSSL"
	expect_match "$tmp/t.out" "$conf:3: listeners[0].tls: echod was built without OpenSSL" \
	    "built without OpenSSL, a tls group is an error that says why"
	exit 0
fi

for tool in openssl socat python3; do
	command -v "$tool" > /dev/null 2>&1 ||
	    fail "$tool is not installed (./dev installs it)"
done

# tlsc.py: a TLS client that sees every step (ssl.SSLObject on memory
# BIOs over a plain socket), so that it can send close_notify and read
# on, as a half-close would, and tell how the connection ended.
cat > "$tmp/tlsc.py" <<'PY'
"""
tlsc.py [-v 1.2|1.3] [-b ADDR] [-w S] [-n] [-i FILE] [-o FILE] [-c N]
        [--hold FILE] CAFILE PORT
  Connect to 127.0.0.1:PORT (verifying the certificate against CAFILE,
  for the name localhost), send FILE (default nothing) in one write,
  then close_notify (not with -n: then wait for echod to end), read to
  the end, and print "bytes B end E version V cert SHA256", E being
  "close_notify+fin" for a clean end, "close_notify+reset", or a bare
  "fin" or "reset"; -o: the bytes to FILE.
  -c N: N connections at once, each through its handshake before any
  sends, "#" in the input replaced by each one's number; the replies
  to -o a line each, and "connections N ends END=COUNT...".
  --hold FILE: after the reply to the input, print "up" and wait for
  FILE; then send the input again and read its reply too.
tlsc.py --flood BYTES CAFILE PORT: send up to BYTES without reading
  until nothing moves for 2 s; print how many; hold until killed.
Every wait is bounded by -w seconds (default 60).
"""
import argparse
import hashlib
import os
import select
import socket
import ssl
import threading
import time

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


class Timeout(Exception):
    pass


def context(cafile, version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    if version:
        ctx.minimum_version = ctx.maximum_version = VERSIONS[version]
    return ctx


class Conn:
    def __init__(self, ctx, port, source=None, wait=60):
        self.deadline = time.monotonic() + wait
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=wait,
            source_address=(source, 0) if source else None)
        self.sock.setblocking(False)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out,
                                server_hostname="localhost")
        self.wbuf = b""
        self.got = bytearray()
        self.notified = False  # echod's close_notify came
        self.sock_end = None   # then the socket's: "fin" or "reset"
        self.error = None      # TLS failed reading (an abrupt EOF, say)

    def step(self, want_read=True):
        """One wait: send what TLS has encrypted, take in what came."""
        if not self.wbuf:
            self.wbuf = self.out.read()
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        live = self.sock_end is None
        rd = [self.sock] if want_read and live else []
        wr = [self.sock] if self.wbuf and live else []
        if not rd and not wr:
            return
        r, w, _ = select.select(rd, wr, [], min(left, 1))
        if w:
            try:
                self.wbuf = self.wbuf[self.sock.send(self.wbuf):]
            except OSError:
                self.sock_end = "reset"
                self.inc.write_eof()
                return
        if r:
            try:
                b = self.sock.recv(65536)
            except ConnectionResetError:
                b, self.sock_end = b"", "reset"
            if b:
                self.inc.write(b)
            else:
                self.sock_end = self.sock_end or "fin"
                self.inc.write_eof()

    def drain(self):
        """Take what TLS has decrypted."""
        while not self.notified and self.error is None:
            try:
                b = self.obj.read(65536)
            except ssl.SSLWantReadError:
                return
            except ssl.SSLZeroReturnError:
                b = b""
            except ssl.SSLError as e:
                self.error = e
                return
            if not b:  # only after a close_notify
                self.notified = True
                return
            self.got += b

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                der = self.obj.getpeercert(binary_form=True)
                self.fingerprint = (hashlib.sha256(der).hexdigest()
                                    if der else "none")
                return
            except ssl.SSLWantReadError:
                if self.sock_end:
                    raise ConnectionError("closed in the handshake: " +
                                          self.sock_end)
                self.step()

    def send(self, data):
        """Hand data to TLS in 16 KiB writes, reading all the while."""
        view, off = memoryview(data), 0
        while off < len(data) and not self.sock_end and not self.notified:
            if len(self.wbuf) + self.out.pending < 262144:
                off += self.obj.write(view[off:off + 16384])
            self.step()
            self.drain()
        while (self.wbuf or self.out.pending) and not self.sock_end:
            self.step()
            self.drain()

    def ended(self):
        return self.sock_end is not None and self.inc.pending == 0

    def wait_for(self, n):
        """Until n bytes came, or the end."""
        while len(self.got) < n and not self.notified and not self.ended():
            self.step()
            self.drain()

    def close_notify(self):
        self.drain()  # unwrap() looks for echod's reply: leave it none
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass  # sent; echod's has not come
        self.send(b"")

    def finish(self):
        """Read to the end: echod's close_notify, then the socket's."""
        while not self.notified and not self.ended() and self.error is None:
            self.step()
            self.drain()
        while self.sock_end is None:
            self.step()
        self.sock.close()

    def end(self):
        return ("close_notify+" if self.notified else "") + self.sock_end

    def cert(self):
        # Taken after the handshake: an end without close_notify leaves
        # the object in an error state that no longer answers.
        return self.fingerprint



def one(args, data):
    c = Conn(context(args.cafile, args.version), args.port, args.bind,
             args.wait)
    c.handshake()
    c.send(data)
    if args.hold:
        c.wait_for(len(data))
        print("up", flush=True)
        while not os.path.exists(args.hold):
            if time.monotonic() > c.deadline:
                raise Timeout()
            time.sleep(0.05)
        c.send(data)
        c.wait_for(2 * len(data))
    if not args.n:
        c.close_notify()
    c.finish()
    if args.out:
        with open(args.out, "wb") as f:
            f.write(c.got)
    print("bytes %d end %s version %s cert %s" % (
        len(c.got), c.end(), c.obj.version(), c.cert()))


def many(args, data):
    ctx = context(args.cafile, args.version)
    n = args.c
    barrier = threading.Barrier(n, timeout=args.wait)
    replies, ends = [b""] * n, [""] * n

    def run(i):
        try:
            c = Conn(ctx, args.port, args.bind, args.wait)
            c.handshake()
            barrier.wait()  # all n through their handshakes at once
            c.send(data.replace(b"#", b"%d" % i))
            if not args.n:
                c.close_notify()
            c.finish()
            replies[i], ends[i] = bytes(c.got), c.end()
        except Exception as e:
            ends[i] = "error:%r" % e
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if args.out:
        with open(args.out, "wb") as f:
            f.write(b"".join(r + b"\n" for r in replies))
    counts = {}
    for e in ends:
        counts[e] = counts.get(e, 0) + 1
    print("connections %d ends %s" % (n, " ".join(
        "%s=%d" % kv for kv in sorted(counts.items()))))


def flood(args):
    c = Conn(context(args.cafile, args.version), args.port, args.bind,
             args.wait)
    c.handshake()
    chunk, sent, moved = b"x" * 16384, 0, time.monotonic()
    while sent < args.flood and not c.sock_end:
        if len(c.wbuf) + c.out.pending < 65536:
            sent += c.obj.write(chunk)
        before = len(c.wbuf) + c.out.pending
        c.step(want_read=False)
        if len(c.wbuf) + c.out.pending < before:
            moved = time.monotonic()
        elif time.monotonic() - moved > 2:
            break
    print(sent, flush=True)
    time.sleep(args.wait)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-v", dest="version")
    ap.add_argument("-b", dest="bind")
    ap.add_argument("-w", dest="wait", type=float, default=60)
    ap.add_argument("-n", action="store_true")
    ap.add_argument("-i", dest="input")
    ap.add_argument("-o", dest="out")
    ap.add_argument("-c", type=int, default=0)
    ap.add_argument("--hold")
    ap.add_argument("--flood", type=int)
    ap.add_argument("cafile")
    ap.add_argument("port", type=int)
    args = ap.parse_args()
    if args.flood:
        flood(args)
        return
    data = b""
    if args.input:
        with open(args.input, "rb") as f:
            data = f.read()
    (many if args.c else one)(args, data)


if __name__ == "__main__":
    main()
PY
tlsc() { python3 "$tmp/tlsc.py" "$@"; }

# make_cert NAME CN [DAYS]: a self-signed RSA 2048 certificate for
# localhost and 127.0.0.1, $tmp/NAME.pem, and its key $tmp/NAME.key.
make_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days "${3:-365}" \
	    -subj "/CN=$2" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	    -keyout "$tmp/$1.key" -out "$tmp/$1.pem" > "$tmp/openssl.out" 2>&1 ||
	    { cat "$tmp/openssl.out" >&2; fail "openssl made no certificate $1"; }
	# A lab key, readable by the user echod drops to, who reads it
	# again at a reload.
	chmod 644 "$tmp/$1.key"
}

# fingerprint NAME: the SHA-256 of $tmp/NAME.pem, as tlsc prints it.
fingerprint() {
	openssl x509 -in "$tmp/$1.pem" -outform DER | sha256sum | cut -d ' ' -f 1
}

make_cert a localhost
make_cert b localhost-b
make_cert c localhost-c
make_cert soon localhost 3
fa=$(fingerprint a)
fb=$(fingerprint b)
[ "$fa" != "$fb" ] || fail "certificates a and b are the same"
chmod 755 "$tmp" # echod reads the files again as nobody

# tls CERT [KEY [MORE]]: a tls group on $tmp/CERT.pem and $tmp/KEY.key.
tls() {
	echo "tls = { certificate = \"$tmp/$1.pem\"; key = \"$tmp/${2:-$1}.key\"; ${3:-} };"
}

# echod -t on a tls group gone wrong: exit 1 and the file, the line and
# the setting named.  check_fails NAME WHAT PATTERN: on $tmp/NAME.conf.
check_fails() {
	"$ECHOD" -t -f "$tmp/$1.conf" > "$tmp/t.out" 2>&1 && { cat "$tmp/t.out" >&2; fail "$2: echod -t passed"; }
	expect_match "$tmp/t.out" "$3" "$2"
}
p=$(free_port)
write_conf "$tmp/mismatch.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; $(tls a b) }
CONF
check_fails mismatch "-t: a key that is not the certificate's" \
    "$tmp/mismatch.conf:3: listeners[0].tls.key: "
# In echod's words, or in OpenSSL's (its key loading checks too).
grep -Eq "does not match the certificate|key values mismatch" "$tmp/t.out" ||
    fail "-t: the mismatch is not said"
ok "-t: the mismatch is said"
write_conf "$tmp/missing.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; $(tls none a) }
CONF
check_fails missing "-t: a missing certificate" \
    "$tmp/missing.conf:3: listeners[0].tls.certificate: $tmp/none.pem: No such file or directory"
write_conf "$tmp/udp.conf" <<CONF
{ protocol = "udp"; address = "127.0.0.1"; port = $p; $(tls a) }
CONF
check_fails udp "-t: a tls group on a udp listener" \
    "$tmp/udp.conf:3: listeners[0].tls: TLS is for tcp listeners"
write_conf "$tmp/relative.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; tls = { certificate = "$tmp/a.pem"; key = "a.key"; }; }
CONF
check_fails relative "-t: a relative path" \
    "$tmp/relative.conf:3: listeners[0].tls.key: \"a.key\" is not an absolute path"
write_conf "$tmp/soon.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; $(tls soon) }
CONF
"$ECHOD" -t -f "$tmp/soon.conf" > "$tmp/t.out" 2>&1 || { cat "$tmp/t.out" >&2; fail "-t: a certificate with 3 days left was refused"; }
expect_match "$tmp/t.out" "configuration OK" "-t: a certificate with 3 days left is no error"
end=$(openssl x509 -in "$tmp/soon.pem" -noout -enddate | sed 's/^notAfter=//')
end=$(date -u -d "$end" '+%Y-%m-%d %H:%M:%S UTC') || fail "no end date in soon.pem"
expect_match "$tmp/t.out" "$tmp/soon.conf:3: listeners[0].tls.certificate: $tmp/soon.pem expires on $end" \
    "-t: but a warning with its date"

# The listeners: a port each for what is checked on it.
pe=$(free_port) # transform echo, with the key log
pu=$(free_port) # upper
pr=$(free_port) # rot13
pl=$(free_port) # line framing, reverse and upper, max_line 64
pc=$(free_port) # line framing, close_after_reply
pi=$(free_port) # idle_timeout 2
ph=$(free_port) # handshake_timeout 2
pg=$(free_port) # for garbage
pm=$(free_port) # max_connections_per_ip 2
pp=$(free_port) # max_pending 1 MiB
pt=$(free_port) # its certificate swapped by reloads
top="workers = 2; $(built_modules '"reverse.so"')"
m=
if [ "${HAVE_HTTP:-yes}" = yes ]; then
	m=$(free_port)
	top="$top metrics = { port = $m; };"
fi

# config [CERT [KEY]]: the file, $pt on CERT's certificate (default a).
config() {
	write_conf "$conf" "$top" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $pe; transform = "echo"; $(tls a a "keylog = \"$tmp/keys.log\";") }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pu; transform = "upper"; $(tls a) }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pr; transform = "rot13"; $(tls a) }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pl; framing = "line"; transform = ( "reverse", "upper" ); max_line = 64; $(tls a) }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pc; framing = "line"; transform = "upper"; close_after_reply = true; $(tls a) }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pi; transform = "upper"; idle_timeout = 2; $(tls a) }
{ protocol = "tcp"; address = "127.0.0.1"; port = $ph; $(tls a a "handshake_timeout = 2;") }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pg; $(tls a) }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pm; max_connections_per_ip = 2; $(tls a a "handshake_timeout = 120;") }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pp; transform = "upper"; max_pending = 1048576; $(tls a) }
{ protocol = "tcp"; address = "127.0.0.1"; port = $pt; transform = "upper"; $(tls "${1:-a}" "${2:-${1:-a}}") }
CONF
}

config
start_echod "$conf"
expect_match "$tmp/echod.log" "listening on tcp 127.0.0.1:$pu, TLS, transform upper" "a TLS listener is announced"
expect_match "$tmp/echod.log" "$conf:3: listeners[0].tls.keylog: each session's keys go to $tmp/keys.log" \
    "a key log is warned of at load"

# transform NAME: standard input as the transform NAME makes it.
transform() {
	case $1 in
	echo) cat ;;
	upper) tr_upper ;;
	rot13) tr_rot13 ;;
	esac
}

# handshakes PORT V: the TLS V handshakes echod has logged on PORT.
handshakes() {
	grep -c "tcp 127\.0\.0\.1:$1: 127\.0\.0\.1:[0-9]*: TLSv$2 " "$tmp/echod.log"
}

# via_tlsc V PORT IN WANT WHAT [OPTION...]: tlsc sends IN with TLS V,
# gets back exactly WANT, on certificate a, and the end is clean.
via_tlsc() {
	v=$1 tp=$2 input=$3 want=$4 what=$5
	shift 5
	tlsc -v "$v" -i "$input" -o "$tmp/out" "$@" "$tmp/a.pem" "$tp" > "$tmp/tlsc.out" 2>&1 ||
	    { cat "$tmp/tlsc.out" >&2; fail "$what: tlsc failed"; }
	cmp -s "$tmp/out" "$want" || { od -c "$tmp/out" | head >&2; fail "$what: not the reply expected"; }
	expect_match "$tmp/tlsc.out" "end close_notify+fin version TLSv$v cert $fa" \
	    "$what: the reply, then echod's close_notify"
}

# has_bytes FILE N: FILE has N bytes or more.
has_bytes() { [ "$(wc -c < "$1")" -ge "$2" ]; }

# via_s_client V PORT IN WANT WHAT: openssl s_client, verifying a.pem
# for 127.0.0.1, sends IN with TLS V and gets back WANT.  s_client
# leaves at the end of its input, so that is held open until the reply
# has come.
via_s_client() {
	v=$1 tp=$2 input=$3 want=$4 what=$5
	n=$(handshakes "$tp" "$v")
	rm -f "$tmp/fifo"
	mkfifo "$tmp/fifo"
	: > "$tmp/out"
	openssl s_client -connect "127.0.0.1:$tp" -CAfile "$tmp/a.pem" \
	    -verify_return_error -verify_ip 127.0.0.1 "-tls$(echo "$v" | tr . _)" \
	    -quiet -no_ign_eof -nocommands < "$tmp/fifo" > "$tmp/out" 2> "$tmp/s_client.err" &
	sc=$!
	bg_pids="$bg_pids $sc"
	exec 3> "$tmp/fifo"
	cat "$input" >&3
	wait_for has_bytes "$tmp/out" "$(wc -c < "$want")" ||
	    { cat "$tmp/s_client.err" >&2; exec 3>&-; fail "$what: no whole reply"; }
	exec 3>&-
	wait_exit "$sc" || { cat "$tmp/s_client.err" >&2; fail "$what: s_client failed"; }
	cmp -s "$tmp/out" "$want" || { od -c "$tmp/out" | head >&2; fail "$what: not the reply expected"; }
	ok "$what: the reply"
	expect_eq "$(handshakes "$tp" "$v")" $((n + 1)) "$what: over TLS $v"
}

# via_socat V PORT IN WANT WHAT: socat sends IN with TLS V, then
# close_notify, and reads on until echod closes: it gets back WANT.
via_socat() {
	v=$1 tp=$2 input=$3 want=$4 what=$5
	n=$(handshakes "$tp" "$v")
	timeout -k 5 120 socat -t 60 -T 60 - "OPENSSL:127.0.0.1:$tp,cafile=$tmp/a.pem,min-version=TLS$v,max-version=TLS$v" \
	    < "$input" > "$tmp/out" 2> "$tmp/socat.err" ||
	    { cat "$tmp/socat.err" >&2; fail "$what: socat failed"; }
	cmp -s "$tmp/out" "$want" || { od -c "$tmp/out" | head >&2; fail "$what: not the reply expected"; }
	ok "$what: the reply"
	expect_eq "$(handshakes "$tp" "$v")" $((n + 1)) "$what: over TLS $v"
}

# via_echod_tcp V PORT MESSAGE WANT WHAT [OPTION...]: echod-tcp --tls
# -m MESSAGE with TLS V gets WANT.
via_echod_tcp() {
	v=$1 tp=$2 msg=$3 want=$4 what=$5
	shift 5
	n=$(handshakes "$tp" "$v")
	expect_eq "$("$ECHOD_TCP" -w 30 "$@" --tls --cafile "$tmp/a.pem" --tls-version "$v" -m "$msg" 127.0.0.1 "$tp")" \
	    "$want" "$what: the reply"
	expect_eq "$(handshakes "$tp" "$v")" $((n + 1)) "$what: over TLS $v"
}

# Each transform, each version, each client.
printf 'Hello, TLS: the quick brown fox, 0123' > "$tmp/msg"
for v in 1.2 1.3; do
	for t in "echo $pe" "upper $pu" "rot13 $pr"; do
		# shellcheck disable=SC2086 # two words: the transform, the port
		set -- $t
		transform "$1" < "$tmp/msg" > "$tmp/want"
		via_tlsc "$v" "$2" "$tmp/msg" "$tmp/want" "Python ssl, TLS $v, $1"
		via_s_client "$v" "$2" "$tmp/msg" "$tmp/want" "openssl s_client, TLS $v, $1"
		via_socat "$v" "$2" "$tmp/msg" "$tmp/want" "socat, TLS $v, $1"
		via_echod_tcp "$v" "$2" "$(cat "$tmp/msg")" "$(cat "$tmp/want")" "echod-tcp --tls, TLS $v, $1"
	done
done

# Line framing: each line reversed on its own (so one reply a line,
# two lines in one write included), the unterminated last one at EOF.
printf 'one\ntwo\r\nthree' > "$tmp/lines"
printf 'ENO\nOWT\r\nEERHT' > "$tmp/want"
printf 'one\ntwo\n' > "$tmp/lines2"
printf 'ENO\nOWT\n' > "$tmp/want2"
for v in 1.2 1.3; do
	via_tlsc "$v" "$pl" "$tmp/lines" "$tmp/want" "Python ssl, TLS $v, lines in one write"
	via_socat "$v" "$pl" "$tmp/lines" "$tmp/want" "socat, TLS $v, lines"
	via_s_client "$v" "$pl" "$tmp/lines2" "$tmp/want2" "openssl s_client, TLS $v, lines"
	n=$(handshakes "$pl" "$v")
	printf 'abc\ndef\n' | "$ECHOD_TCP" -w 30 -l --tls --cafile "$tmp/a.pem" --tls-version "$v" 127.0.0.1 "$pl" > "$tmp/out" ||
	    fail "echod-tcp --tls -l, TLS $v: failed"
	expect_eq "$(cat "$tmp/out")" "$(printf 'CBA\nFED')" "echod-tcp --tls -l, TLS $v: piped lines, a reply each"
	expect_eq "$(handshakes "$pl" "$v")" $((n + 1)) "echod-tcp --tls -l, TLS $v: one connection"
done

# close_after_reply: one reply, then echod's close_notify; the client
# (-n) sends none.
printf 'just once\nnot this\n' > "$tmp/msg"
printf 'JUST ONCE\n' > "$tmp/want"
for v in 1.2 1.3; do
	via_tlsc "$v" "$pc" "$tmp/msg" "$tmp/want" "close_after_reply, TLS $v" -n
done
# s_client -quiet ignores the end of its input: only echod's close ends it.
timeout -k 5 60 openssl s_client -connect "127.0.0.1:$pc" -CAfile "$tmp/a.pem" -verify_return_error \
    -quiet < "$tmp/msg" > "$tmp/out" 2> "$tmp/s_client.err" ||
    { cat "$tmp/s_client.err" >&2; fail "close_after_reply: s_client did not end well"; }
cmp -s "$tmp/out" "$tmp/want" || fail "close_after_reply: s_client got '$(cat "$tmp/out")'"
ok "close_after_reply: openssl s_client gets one reply, and echod ends the connection"
printf 'first\nsecond\n' | "$ECHOD_TCP" -w 30 -l --tls --cafile "$tmp/a.pem" 127.0.0.1 "$pc" > "$tmp/out" ||
    fail "echod-tcp --tls -l against close_after_reply failed"
expect_eq "$(cat "$tmp/out")" "$(printf 'FIRST\nSECOND')" "close_after_reply: echod-tcp --tls connects again for each line"

# Python's ssl as a program would use it, blocking: after the client's
# close_notify echod sends its own (unwrap() completes, then FIN);
# close_after_reply and idle_timeout end with close_notify too (a read
# of b"" after the reply; an EOF without it raises SSLEOFError, as
# suppress_ragged_eofs is off).
python3 - "$tmp/a.pem" "$pu" "$pc" "$pi" > "$tmp/blocking" 2>&1 <<'PY' ||
import socket, ssl, sys
from peer import read_exactly
ca, pu, pc, pi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context(cafile=ca)

def conn(port):
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    return ctx.wrap_socket(raw, server_hostname="localhost",
                           suppress_ragged_eofs=False)

def read_to_end(s):
    got = b""
    while True:
        b = s.recv(4096)
        if not b:
            return got
        got += b

def socket_end(raw):
    try:
        return "fin" if raw.recv(1) == b"" else "more data"
    except ConnectionResetError:
        return "reset"

s = conn(pu)
s.sendall(b"unwrap me")
got = read_exactly(s, 9)
raw = s.unwrap()
print("unwrap:", got.decode(), "then", socket_end(raw))
s = conn(pc)
s.sendall(b"only this\nnot this\n")
print("close_after_reply:", repr(read_to_end(s)), "then", socket_end(s))
s = conn(pi)
s.sendall(b"then idle")
print("idle:", repr(read_to_end(s)), "then", socket_end(s))
PY
    { cat "$tmp/blocking" >&2; fail "Python ssl, blocking: a connection did not end with close_notify"; }
expect_match "$tmp/blocking" "unwrap: UNWRAP ME then fin" "after the client's close_notify, echod's own (unwrap() completes), then FIN"
expect_match "$tmp/blocking" "close_after_reply: b'ONLY THIS\\n' then fin" "close_after_reply: the reply, then a clean SSL EOF"
expect_match "$tmp/blocking" "idle: b'THEN IDLE' then fin" "idle_timeout: the reply, then a clean SSL EOF"
expect_match "$tmp/echod.log" "idle for 2 s; closing" "the idle close is logged"

# More than the socket buffers hold, ended by the client's close_notify
# (TLS has no half-close: echod takes it for EOF, sends the rest, then
# its own close_notify).
head -c 4194304 /dev/urandom > "$tmp/big"
tr_upper < "$tmp/big" > "$tmp/want"
via_tlsc 1.3 "$pu" "$tmp/big" "$tmp/want" "4 MiB, TLS 1.3, close_notify after the last byte"
via_tlsc 1.2 "$pu" "$tmp/big" "$tmp/want" "4 MiB, TLS 1.2, close_notify after the last byte"
via_socat 1.3 "$pu" "$tmp/big" "$tmp/want" "4 MiB through socat, TLS 1.3"

# 200 clients at once, each through its handshake before any sends.
printf 'client # says hello' > "$tmp/msg"
tlsc -c 200 -w 120 -i "$tmp/msg" -o "$tmp/out" "$tmp/a.pem" "$pu" > "$tmp/many" 2>&1 ||
    { cat "$tmp/many" >&2; fail "200 clients: tlsc failed"; }
expect_eq "$(cat "$tmp/many")" "connections 200 ends close_notify+fin=200" "200 TLS clients at once, each ended cleanly"
i=0
while [ "$i" -lt 200 ]; do echo "CLIENT $i SAYS HELLO"; i=$((i + 1)); done > "$tmp/want"
cmp -s "$tmp/out" "$tmp/want" || { diff "$tmp/want" "$tmp/out" | head >&2; fail "200 clients: a wrong reply"; }
ok "200 TLS clients at once, each got its own reply"

# The key log: 0600, and a secret for each version used.
expect_eq "$(stat -c %a "$tmp/keys.log")" 600 "the key log is mode 0600"
expect_match "$tmp/keys.log" "CLIENT_RANDOM " "the key log has TLS 1.2's secrets"
expect_match "$tmp/keys.log" "CLIENT_TRAFFIC_SECRET_0 " "and TLS 1.3's"
grep -Ev '^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+$' "$tmp/keys.log" > "$tmp/bad" &&
    { head -n 3 "$tmp/bad" >&2; fail "lines in the key log not in the NSS format"; }
ok "every key log line in the NSS format"

# Handshakes that fail: garbage is closed unanswered; half a ClientHello
# and nothing at all are closed at handshake_timeout (2 s); all three
# are counted, a connect-and-close is not.
# shellcheck disable=SC2016 # Python, not shell
stall='
import socket, sys
from peer import client_hello, read_to_end
port, how, source = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=60,
                             source_address=(source, 0))
if how == "half":
    hello = client_hello()
    s.sendall(hello[:len(hello) // 2])
elif how == "garbage":
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
elif how == "close":
    s.close()
    print("closed")
    sys.exit(0)
got, end = read_to_end(s, 60)
echo = b"GET" in got or b"get" in got
print(how, "ended:", end, "echo:", "yes" if echo else "no")
'
python3 -c "$stall" "$pg" garbage 127.0.0.13 > "$tmp/garbage" 2>&1
expect_match "$tmp/garbage" "garbage ended:" "garbage is closed"
case $(cat "$tmp/garbage") in
*"open after"*) fail "garbage: the connection was left open" ;;
esac
expect_match "$tmp/garbage" "echo: no" "garbage gets no echo"
wait_for grep -q "tcp 127.0.0.1:$pg: refused 127.0.0.13#[0-9]*: " "$tmp/echod.log" ||
    fail "the garbage was not logged as refused"
ok "garbage is logged as refused"
python3 -c "$stall" "$ph" half 127.0.0.11 > "$tmp/half" 2>&1 &
half=$!
python3 -c "$stall" "$ph" none 127.0.0.12 > "$tmp/none" 2>&1 &
none=$!
bg_pids="$bg_pids $half $none"
python3 -c "$stall" "$ph" close 127.0.0.14 > "$tmp/close" 2>&1 || fail "connect-and-close failed"
wait_exit "$half"
wait_exit "$none"
expect_match "$tmp/half" "half ended: fin" "half a ClientHello: closed at handshake_timeout"
expect_match "$tmp/none" "none ended: fin" "nothing sent: closed at handshake_timeout"
# Logged at a bounded rate: one of the two at least.
grep -Eq "tcp 127\.0\.0\.1:$ph: refused 127\.0\.0\.1[12]#[0-9]+: TLS handshake not done in 2 s" "$tmp/echod.log" ||
    fail "no stalled handshake logged"
ok "a stalled handshake is logged, with its reason"
wait_for grep -q "127.0.0.14:[0-9]*: gone before the TLS handshake" "$tmp/echod.log" ||
    fail "connect-and-close: not seen"
grep -q "refused 127.0.0.14#" "$tmp/echod.log" && fail "connect-and-close was logged as refused"
ok "connect-and-close is no refusal"

# The count: SIGUSR1's line, and the metrics.
kill -USR1 "$echod_pid"
wait_for grep -q "SIGUSR1: tcp 127.0.0.1:$pg: " "$tmp/echod.log" || fail "no SIGUSR1 lines"
grep "SIGUSR1: tcp 127.0.0.1:$ph: " "$tmp/echod.log" > "$tmp/usr1"
expect_match "$tmp/usr1" ", 2 for TLS;" "SIGUSR1: the two stalled handshakes counted, not the connect-and-close"
grep "SIGUSR1: tcp 127.0.0.1:$pg: " "$tmp/echod.log" > "$tmp/usr1"
expect_match "$tmp/usr1" ", 1 for TLS;" "SIGUSR1: the garbage counted"
if [ -n "$m" ]; then
	metric() { http "$m" | grep -qxF -- "$1"; }
	for want in \
	    "echod_refused_total{listener=\"tcp 127.0.0.1:$ph\",reason=\"tls\"} 2" \
	    "echod_refused_total{listener=\"tcp 127.0.0.1:$pg\",reason=\"tls\"} 1"; do
		wait_for metric "$want" || { http "$m" | grep refused >&2; fail "no '$want' in the scrape"; }
		ok "scraped $want"
	done
fi

# A handshake holds a place under max_connections_per_ip (2): two
# stalled ones from 127.0.0.21 fill it, a third from there is refused,
# another address is served; once the two leave, 127.0.0.21 is too.
PYTHONPATH=$tmp python3 - "$tmp/a.pem" "$pm" > "$tmp/perip" 2>&1 <<'PY' ||
import socket, sys, time
import tlsc
ca, port = sys.argv[1], int(sys.argv[2])
ctx = tlsc.context(ca)

def exchange(source, msg):
    c = tlsc.Conn(ctx, port, source, 30)
    c.handshake()
    c.send(msg)
    c.close_notify()
    c.finish()
    return bytes(c.got).decode(), c.end()

held = [socket.create_connection(("127.0.0.1", port), timeout=30,
                                 source_address=("127.0.0.21", 0))
        for _ in range(2)]
try:
    print("third:", exchange("127.0.0.21", b"third"))
except (OSError, ConnectionError) as e:
    print("third: refused,", type(e).__name__)
print("other:", exchange("127.0.0.22", b"other"))
for s in held:
    s.close()
for _ in range(300):
    try:
        print("after:", exchange("127.0.0.21", b"after"))
        break
    except (OSError, ConnectionError):
        time.sleep(0.1)
else:
    print("after: still refused after 30 s")
PY
    { cat "$tmp/perip" >&2; fail "max_connections_per_ip: the client failed"; }
expect_match "$tmp/perip" "third: refused" "two handshakes under way fill max_connections_per_ip (2): a third is refused"
expect_match "$tmp/echod.log" "tcp 127.0.0.1:$pm: refused 127.0.0.21#" "the refusal is logged"
expect_match "$tmp/echod.log" "max_connections_per_ip (2) reached" "with its reason"
expect_match "$tmp/perip" "other: ('other', 'close_notify+fin')" "another address is served meanwhile"
expect_match "$tmp/perip" "after: ('after', 'close_notify+fin')" "and the first once its handshakes have left"

# A client that never reads: echod stops reading it once max_pending
# (1 MiB) of replies wait, its memory stays bounded, others are served.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$echod_pid/status"; }
before=$(rss_kib)
tlsc --flood 67108864 -w 120 "$tmp/a.pem" "$pp" > "$tmp/flood" 2>&1 &
flood=$!
bg_pids="$bg_pids $flood"
wait_for grep -q . "$tmp/flood" || fail "the client that never reads never stopped"
sent=$(cat "$tmp/flood")
after=$(rss_kib)
echo "sent $sent bytes; echod VmRSS $before kB -> $after kB"
[ "$sent" -lt 67108864 ] 2> /dev/null || fail "echod took all 64 MiB from a client that never reads ($sent)"
ok "a client that never reads: echod stopped taking its bytes after $sent"
[ "$after" -lt $((before + 16384)) ] || fail "echod grew by $((after - before)) kB"
ok "echod grew by $((after - before)) kB, under 16 MiB"
printf 'not starved' > "$tmp/msg"
printf 'NOT STARVED' > "$tmp/want"
via_tlsc 1.3 "$pp" "$tmp/msg" "$tmp/want" "others served meanwhile"
kill "$flood"

# echod-tcp --tls: the certificate is verified, against the system's
# CAs without --cafile, for the name given.
printf 'first line\nsecond line\n' | "$ECHOD_TCP" -w 30 --tls --cafile "$tmp/a.pem" 127.0.0.1 "$pu" > "$tmp/out" ||
    fail "echod-tcp --tls: piped lines failed"
expect_eq "$(cat "$tmp/out")" "$(printf 'FIRST LINE\nSECOND LINE')" "echod-tcp --tls: piped lines, a reply each"
"$ECHOD_TCP" -w 30 --tls -m 'unverified' 127.0.0.1 "$pu" > "$tmp/out" 2>&1 &&
    fail "echod-tcp --tls took a self-signed certificate without --cafile"
expect_match "$tmp/out" "certificate verification failed" "echod-tcp --tls without --cafile: a self-signed certificate fails"
"$ECHOD_TCP" -w 30 --tls --cafile "$tmp/b.pem" -m 'other ca' 127.0.0.1 "$pu" > "$tmp/out" 2>&1 &&
    fail "echod-tcp --tls took a certificate its --cafile did not sign"
expect_match "$tmp/out" "certificate verification failed" "echod-tcp --tls: another CA's --cafile fails"
"$ECHOD_TCP" -w 30 --tls --cafile "$tmp/a.pem" --servername elsewhere.example -m 'name' 127.0.0.1 "$pu" > "$tmp/out" 2>&1 &&
    fail "echod-tcp --tls took a certificate for another name"
expect_match "$tmp/out" "certificate verification failed" "echod-tcp --tls --servername: a name the certificate lacks fails"
expect_eq "$("$ECHOD_TCP" -w 30 --tls --cafile "$tmp/a.pem" --servername localhost -m 'by name' 127.0.0.1 "$pu")" \
    "BY NAME" "echod-tcp --tls --servername localhost: verified"
expect_eq "$("$ECHOD_TCP" -w 30 --tls --insecure -m 'insecure' 127.0.0.1 "$pu" 2>/dev/null)" \
    "INSECURE" "echod-tcp --tls --insecure: not verified, served"

# A reload that swaps the certificate: a connection from before keeps
# its own and keeps echoing; new ones get the new one.
reloaded() { [ "$(grep -c 'SIGHUP: reloaded' "$tmp/echod.log")" -ge "$1" ]; }
printf 'before and after' > "$tmp/msg"
tlsc --hold "$tmp/go" -w 120 -i "$tmp/msg" -o "$tmp/held.out" "$tmp/a.pem" "$pt" > "$tmp/held" 2>&1 &
held=$!
bg_pids="$bg_pids $held"
wait_for grep -q up "$tmp/held" || { cat "$tmp/held" >&2; fail "the connection before the reload did not start"; }
cp "$tmp/a.pem" "$tmp/ab.pem"
cat "$tmp/b.pem" >> "$tmp/ab.pem" # both CAs, for clients after the reload
config b
kill -HUP "$echod_pid"
wait_for reloaded 1 || fail "the reload was not done"
tlsc -i "$tmp/msg" "$tmp/ab.pem" "$pt" > "$tmp/new" 2>&1 || { cat "$tmp/new" >&2; fail "after the reload: tlsc failed"; }
expect_match "$tmp/new" "end close_notify+fin version TLSv1.3 cert $fb" "after the reload, a new connection gets the new certificate"
touch "$tmp/go"
wait_exit "$held" || { cat "$tmp/held" >&2; fail "the connection from before the reload failed"; }
expect_eq "$(cat "$tmp/held.out")" "BEFORE AND AFTERBEFORE AND AFTER" "a connection from before the reload keeps echoing"
expect_match "$tmp/held" "end close_notify+fin version TLSv1.3 cert $fa" "on its own certificate, and ends cleanly"
# A new certificate with a key not its own: nothing changes.
config c b
kill -HUP "$echod_pid"
wait_for grep -q "SIGHUP: $conf has errors; nothing changed" "$tmp/echod.log" ||
    fail "a reload with a mismatched key was not refused"
expect_match "$tmp/echod.log" "SIGHUP: $conf:13: listeners[10].tls.key: " \
    "a mismatched key at a reload is named"
tlsc -i "$tmp/msg" "$tmp/ab.pem" "$pt" > "$tmp/new" 2>&1 || { cat "$tmp/new" >&2; fail "after the failed reload: tlsc failed"; }
expect_match "$tmp/new" "cert $fb" "after the failed reload, the certificate from before"

# A line past max_line ends the connection with input unanswered: so
# the lines before it are answered, and there is no close_notify (a
# clean end would tell the client its echo was whole).
printf 'ok\n%0100d\nnever answered\n' 0 > "$tmp/msg"
tlsc -n -i "$tmp/msg" -o "$tmp/out" "$tmp/a.pem" "$pl" > "$tmp/tlsc.out" 2>&1 ||
    { cat "$tmp/tlsc.out" >&2; fail "a line past max_line: tlsc failed"; }
expect_eq "$(cat "$tmp/out")" "KO" "a line past max_line: the lines before it answered"
expect_match "$tmp/echod.log" "a line longer than max_line (64 bytes); closing" "the long line is logged"
grep -q "end close_notify" "$tmp/tlsc.out" &&
    fail "a line past max_line: echod sent close_notify after cutting the echo short ($(cat "$tmp/tlsc.out"))"
ok "a line past max_line: no close_notify ($(sed 's/.*\(end [^ ]*\).*/\1/' "$tmp/tlsc.out"))"

# A client that renegotiates (TLS 1.2; s_client's "R" command) is
# refused it, and loses its connection, counted (and logged, at a rate
# that earlier refusals here may have used up); echod and the other
# clients go on.
tls_refused() {
	: > "$tmp/usr1.log"
	kill -USR1 "$echod_pid"
	wait_for eval "grep -q \"SIGUSR1: tcp 127.0.0.1:$pu: \" \"$tmp/echod.log\" &&
	    [ \$(grep -c \"SIGUSR1: tcp 127.0.0.1:$pu: \" \"$tmp/echod.log\") -gt $1 ]" ||
	    fail "no SIGUSR1 line"
	grep "SIGUSR1: tcp 127.0.0.1:$pu: " "$tmp/echod.log" | tail -n 1 |
	    sed -n 's/.* \([0-9]*\) for TLS;.*/\1/p'
}
before=$(tls_refused 0)
(printf 'first\n'; sleep 2; printf 'R\n'; sleep 2; printf 'second\n'; sleep 2) |
    timeout 30 openssl s_client -tls1_2 -connect "127.0.0.1:$pu" \
    -CAfile "$tmp/a.pem" > "$tmp/reneg" 2>&1
expect_match "$tmp/reneg" "FIRST" "renegotiation: the message before it is answered"
grep -q "SECOND" "$tmp/reneg" && fail "renegotiation: the connection went on"
expect_match "$tmp/reneg" "no renegotiation" "renegotiation: the client is told no"
expect_eq "$(tls_refused 1)" $((before + 1)) "renegotiation: counted as a TLS refusal"
tlsc -i "$tmp/msg" "$tmp/a.pem" "$pu" > "$tmp/after" 2>&1 ||
    { cat "$tmp/after" >&2; fail "after the renegotiation: tlsc failed"; }
ok "after the renegotiation, a new client is served"

# The handshake's deadline holds however the bytes trickle: a ClientHello
# sent a byte every half second is cut off (handshake_timeout 2) long
# before its last byte, not kept alive by each byte.
python3 - "$ph" > "$tmp/trickle" 2>&1 <<'PY' || { cat "$tmp/trickle" >&2; fail "trickle: the client failed"; }
import socket, sys, time
from peer import client_hello
hello = client_hello()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
sent, how = 0, None
try:
    for i in range(60):  # 30 s at most; the deadline is 2 s
        s.send(hello[i:i + 1])
        sent += 1
        time.sleep(0.5)
        s.setblocking(False)
        try:
            if s.recv(100) == b"":
                how = "fin"
                break
        except BlockingIOError:
            pass
        finally:
            s.setblocking(True)
except OSError as e:
    how = type(e).__name__
if how is None:
    print("open after", sent, "bytes of", len(hello))
else:
    print("closed after", sent, "bytes of", len(hello), how)
PY
grep -q "^closed after" "$tmp/trickle" || { cat "$tmp/trickle" >&2; fail "a trickled ClientHello kept its connection open"; }
ok "a ClientHello trickled a byte every 0.5 s: $(cat "$tmp/trickle")"

echod_alive
stop_echod
