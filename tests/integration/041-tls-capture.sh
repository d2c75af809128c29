#!/bin/sh
# The lab's three captures: one sentence to the upper-case listener, to
# the ROT13 listener and to a TLS listener with a key log, captured on
# loopback with dumpcap and read back with tshark, as students do in
# Wireshark.  In the first two the sentence and its reply are there in
# the clear; in the third neither is, and the records are TLS
# application data, until tshark is given the key log
# (-o tls.keylog_file:), which shows the sentence and its reply again.
#
# Capturing needs root: the test makes a network namespace of its own
# (unshare --net) and runs again inside it, so that the capture holds
# this test's packets and nothing else, and nothing leaves it.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

if [ "${HAVE_TLS:-yes}" = no ]; then
	skip "built without OpenSSL: no TLS listener to capture"
fi
if [ -z "${ECHOD_TEST_NETNS:-}" ]; then
	for c in unshare ip dumpcap tshark openssl python3; do
		command -v "$c" > /dev/null 2>&1 || skip "no $c (./dev installs it)"
	done
	unshare --net true > "$tmp/unshare" 2>&1 ||
	    skip "cannot make a network namespace (unshare --net needs root or CAP_SYS_ADMIN): $(cat "$tmp/unshare")"
	ECHOD_TEST_NETNS=1 unshare --net sh "$0"
	exit $?
fi
ip link set lo up || fail "ip link set lo up"

openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2> "$tmp/req.log" ||
    { cat "$tmp/req.log"; fail "openssl req"; }
up=$(free_port)
rot=$(free_port)
tls=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $up; transform = "upper"; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $rot; transform = "rot13"; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $tls; transform = "upper"; tls = { certificate = "$tmp/cert.pem"; key = "$tmp/key.pem"; keylog = "$tmp/keys.log"; }; }
CONF
# Under valgrind when it is installed, as 021 runs it: no errors, no
# leaks, through handshakes, the key log and close_notify.
if [ -z "${ECHOD_SANITIZED:-}" ] && command -v valgrind > /dev/null; then
	echod_wrap="valgrind -q --vgdb=no --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1"
	ok "running echod under valgrind"
fi
start_echod "$tmp/echod.conf"
expect_match "$tmp/echod.log" "can decrypt this listener's traffic" "the key log is warned of"

dumpcap -q -i lo -f "tcp port $up or tcp port $rot or tcp port $tls" \
    -w "$tmp/lab.pcapng" > "$tmp/dumpcap.log" 2>&1 &
dumpcap_pid=$!
bg_pids="$dumpcap_pid"
wait_for grep -q "Capturing on" "$tmp/dumpcap.log" ||
    { cat "$tmp/dumpcap.log"; fail "dumpcap did not start"; }

sentence="the quick brown fox jumps over the lazy dog"
expect_eq "$(printf '%s' "$sentence" | "$PROBE" tcp -w 10 127.0.0.1 "$up")" \
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG" "upper: the reply"
expect_eq "$(printf '%s' "$sentence" | "$PROBE" tcp -w 10 127.0.0.1 "$rot")" \
    "gur dhvpx oebja sbk whzcf bire gur ynml qbt" "rot13: the reply"
reply=$(python3 - "$tls" "$tmp/cert.pem" "$sentence" <<'PY'
import socket, ssl, sys
from peer import read_exactly
port, ca, text = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(text)
        got = read_exactly(s, len(text))
        s.unwrap()  # close_notify both ways: a clean end
print(got.decode())
PY
) || fail "the TLS client failed"
expect_eq "$reply" "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG" "tls: the reply"

# Stopped at once, dumpcap drops what it has not read yet: first wait
# until the file holds both FINs of the last exchange.
fins() {
	n=$(tshark -n -r "$tmp/lab.pcapng" \
	    -Y "tcp.port == $tls && tcp.flags.fin == 1" 2> /dev/null | wc -l)
	[ "$n" -ge 2 ]
}
wait_for fins || fail "the capture never held the TLS connection's end"
kill -INT "$dumpcap_pid"
wait_exit "$dumpcap_pid"
bg_pids=

hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
said=$(hex "$sentence")
upper=$(hex "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG")
rot13=$(hex "gur dhvpx oebja sbk whzcf bire gur ynml qbt")

# payloads PORT [TSHARK-ARGS]: each TCP payload to or from PORT, in hex.
payloads() {
	port=$1
	shift
	tshark -n -r "$tmp/lab.pcapng" "$@" -Y "tcp.port == $port" \
	    -T fields -e tcp.payload 2> /dev/null | tr -d ':'
}
payloads "$up" > "$tmp/up.hex"
expect_match "$tmp/up.hex" "$said" "upper: the sentence is in the capture"
expect_match "$tmp/up.hex" "$upper" "upper: and so is its reply"
payloads "$rot" > "$tmp/rot.hex"
expect_match "$tmp/rot.hex" "$said" "rot13: the sentence is in the capture"
expect_match "$tmp/rot.hex" "$rot13" "rot13: and its reply, which hides nothing"

payloads "$tls" > "$tmp/tls.hex"
[ -s "$tmp/tls.hex" ] || fail "tls: no payload captured"
grep -qF "$said" "$tmp/tls.hex" && fail "tls: the sentence is in the clear"
grep -qF "$upper" "$tmp/tls.hex" && fail "tls: the reply is in the clear"
ok "tls: neither the sentence nor the reply is in the clear"
tshark -n -r "$tmp/lab.pcapng" -d "tcp.port==$tls,tls" \
    -Y "tcp.port == $tls && tls.app_data" -T fields -e frame.number \
    2> /dev/null > "$tmp/appdata"
[ "$(wc -l < "$tmp/appdata")" -ge 2 ] ||
    fail "tls: fewer than two Application Data records"
ok "tls: the records are TLS Application Data ($(wc -l < "$tmp/appdata") frames)"

# A client that sends garbage, and one that stops mid-handshake: each
# costs its own connection only, and is counted (here, under valgrind,
# with no leak either).
printf 'GET / HTTP/1.0\r\n\r\n' | "$PROBE" tcp -w 10 127.0.0.1 "$tls" > "$tmp/garbage" 2>&1
grep -q "GET" "$tmp/garbage" && fail "garbage was echoed"
ok "garbage gets no echo"
python3 - "$tls" <<'PY' || fail "the half handshake"
import socket, sys
from peer import client_hello
# The first half of a real ClientHello, then a close.
hello = client_hello()
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20) as s:
    s.sendall(hello[: len(hello) // 2])
PY
wait_for grep -q "refused 127.0.0.1#[0-9]*: TLS handshake: the client closed the connection mid-handshake" "$tmp/echod.log" ||
    fail "the half handshake was not logged"
ok "a handshake cut off midway is logged"

# With the key log, Wireshark's decryption: the sentence and its reply.
[ "$(stat -c %a "$tmp/keys.log")" = 600 ] || fail "the key log is not mode 0600"
ok "the key log is mode 0600"
grep -q "^CLIENT_HANDSHAKE_TRAFFIC_SECRET \|^CLIENT_RANDOM " "$tmp/keys.log" ||
    fail "the key log has no secrets"
tshark -n -r "$tmp/lab.pcapng" -o "tls.keylog_file:$tmp/keys.log" \
    -d "tcp.port==$tls,tls" -Y "tcp.port == $tls" -T fields -e data.data \
    2> /dev/null | tr -d ':' > "$tmp/decrypted.hex"
expect_match "$tmp/decrypted.hex" "$said" "tls with the key log: the sentence"
expect_match "$tmp/decrypted.hex" "$upper" "tls with the key log: its reply"
stop_echod
expect_match "$tmp/echod.log" "closed tcp 127.0.0.1:$tls: 3 connections (0 open), 1 messages (43 bytes), 1 replies (43 bytes), 0 closed idle; refused 0 by allow/deny, 0 at a limit, 2 for TLS;" "tls: both failed handshakes are counted"
