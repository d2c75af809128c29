#!/bin/sh
# The console holds a careless or hostile class, against the real echod:
# 5,000 connections from 1,250 loopback addresses get no more than
# max_viewers descriptors (the rest wait in the kernel's queue or are
# closed at max_viewers_per_ip), while echo over UDP and TCP is answered
# as before; a viewer that never reads is dropped, and echod's memory
# does not grow with what it was not sent; a client that trickles its
# headers is closed at the deadline, and one with huge headers gets 431.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

[ "${HAVE_HTTP:-yes}" = yes ] || skip "built without libmicrohttpd: no console to serve"

u=$(free_port)
t=$(free_port)
c=$(free_port)
write_conf "$tmp/echod.conf" "udp_rate = 0; max_connections_per_ip = 0;
console = { port = $c; max_viewers = 200; max_viewers_per_ip = 4; history = 1000; };" <<CONF
{ protocol = "udp"; address = "127.0.0.1"; port = $u; transform = "upper"; log_messages = true; log_rate = 0; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $t; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf" 4096

PYTHONPATH="$TOP_SRCDIR/tests/integration" timeout -k 10 600 \
    python3 - "$echod_pid" "$u" "$t" "$c" <<'PY' || fail "the console abuse test above failed"
import errno, os, resource, socket, sys, threading, time
import sse

pid, u, t, c = (int(a) for a in sys.argv[1:])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 12000)), hard))

def fds():
    return len(os.listdir("/proc/%d/fd" % pid))

def rss_kb():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

def echo_works(tag):
    r, _ = sse.udp(u, b"still here " + tag)
    assert r == b"STILL HERE " + tag.upper(), r
    r, _ = sse.tcp(t, b"still here " + tag)
    assert r == b"STILL HERE " + tag.upper(), r

def wait_until(cond, what, limit=60):
    deadline = time.monotonic() + limit
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)

base = fds()
echo_works(b"a")

# 5,000 connections, 4 from each of 1,250 addresses, that send nothing.
conns = []
for i in range(5000):
    a = i // 4
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind(("127.1.%d.%d" % (a // 250, 1 + a % 250), 0))
    err = s.connect_ex(("127.0.0.1", c))
    assert err in (0, errno.EINPROGRESS), err
    conns.append(s)
most = 0
for k in range(15):
    most = max(most, fds() - base)
    if k % 5 == 0:
        echo_works(b"b%d" % k)
    time.sleep(0.2)
assert most <= 200, "echod held %d descriptors more than before" % most
print("ok: 5,000 connections from 1,250 addresses: echod held at most %d more descriptors (max_viewers = 200)" % most)
print("ok: and echo over udp and tcp was answered all along")
# Five from one address: the fifth is closed at once.
five = [socket.create_connection(("127.0.0.1", c), timeout=10,
                                 source_address=("127.0.0.9", 0)) for _ in range(5)]
for s in conns:
    s.close()
wait_until(lambda: fds() - base <= 6, "the held connections were not let go")
print("ok: let go, echod is back to %d descriptors more than before" % (fds() - base))
refused = 0
for s in five:
    s.settimeout(0.5)
    try:
        if s.recv(1) == b"":
            refused += 1
    except socket.timeout:
        pass
    except ConnectionResetError:
        refused += 1
    s.close()
assert refused == 1, "%d of 5 from one address were closed" % refused
print("ok: max_viewers_per_ip = 4: the fifth connection from one address is closed at once")
wait_until(lambda: fds() - base <= 1, "the four were not let go")

# A viewer that never reads, with a small window, while 3,000 messages
# flow into the ring: its socket fills, nothing more is sent, and it is
# closed after 30 s of that; echod's memory does not grow with it.
stall = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
stall.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
stall.connect(("127.0.0.1", c))
stall.sendall(b"GET /class/events HTTP/1.0\r\n\r\n")
wait_until(lambda: fds() - base == 1, "the stalled viewer is not open")
before = rss_kb()
msg = b"m" * 120
for i in range(3000):
    assert sse.udp(u, msg)[0] == msg.upper()

# Meanwhile: headers trickled a byte a second, and 20 kB of headers.
trickle = {}
def trickler():
    s = socket.create_connection(("127.0.0.1", c), timeout=60)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    start = time.monotonic()
    try:
        while time.monotonic() - start < 40:
            s.sendall(b"X")
            time.sleep(1)
        trickle["result"] = "still open after 40 s"
    except OSError as e:
        trickle["result"] = "closed"
    trickle["after"] = time.monotonic() - start
    s.close()
th = threading.Thread(target=trickler)
th.start()
s = socket.create_connection(("127.0.0.1", c), timeout=20)
s.sendall(b"GET / HTTP/1.0\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
got = sse.read_all(s)
assert got.split(b" ")[1] == b"431", got[:100]
print("ok: 20 kB of headers get 431 (the connection's 8 KiB pool)")

wait_until(lambda: fds() - base == 0, "the viewer that never reads was not dropped", 90)
grew = rss_kb() - before
assert grew < 4096, "echod grew by %d kB" % grew
print("ok: the viewer that never read was dropped; echod grew by %d kB (a ring of 1,000 messages)" % grew)
stall.settimeout(10)
sse.read_all(stall)
print("ok: and its client reads what was sent, then the end")
th.join()
assert trickle["result"] == "closed" and trickle["after"] < 30, trickle
print("ok: headers trickled a byte a second are cut off after %.0f s" % trickle["after"])
echo_works(b"c")
print("ok: echo is answered after it all")
PY
expect_match "$tmp/echod.log" "took over 10 s to send its request" "the trickler's close is logged"
echod_alive
stop_echod
