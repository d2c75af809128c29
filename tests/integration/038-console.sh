#!/bin/sh
# The class console over HTTP, read as a browser's EventSource would but
# on plain sockets (sse.py): a student's stream shows their own messages
# of the listeners with log_messages, with the replies, and no one
# else's; an instructor's shows all and the scoreboard counts them;
# /class is 403 to anyone else; Last-Event-ID resumes; a viewer behind
# the ring is told how many it missed; heartbeats come; the per-address
# cap and allow/deny hold; every answer carries the browser-safety
# headers; a reload applies a changed group; SIGTERM with streams open
# stops cleanly.  Built without libmicrohttpd, a console group is an
# error that says why.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

u=$(free_port)
t=$(free_port)
q=$(free_port)
c=$(free_port)
c2=$(free_port)
m=$(free_port)
conf="$tmp/echod.conf"
chmod 755 "$tmp" # echod reads it again as nobody

# config CONSOLE-PORT [PER-IP [MAX [INSTRUCTOR]]]
config() {
	write_conf "$conf" "udp_rate = 0;
metrics = { port = $m; };
console = { port = $1; history = 20; max_viewers_per_ip = ${2:-8}; max_viewers = ${3:-1000}; instructors = ( \"${4:-127.0.0.1}\" ); deny = ( \"127.0.0.4\" ); };" <<CONF
{ protocol = "udp"; address = "127.0.0.1"; port = $u; transform = "upper"; log_messages = true; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $t; transform = "rot13"; log_messages = true; }
{ protocol = "udp"; address = "127.0.0.1"; port = $q; transform = "upper"; }
CONF
}

if [ "${HAVE_HTTP:-yes}" = no ]; then
	config "$c"
	"$ECHOD" -t -f "$conf" > "$tmp/t.out" 2>&1 && fail "echod -t took a console group without HTTP"
	expect_match "$tmp/t.out" "$conf:3: console: echod was built without libmicrohttpd (configure --with-microhttpd): no HTTP listener can serve it" \
	    "built without libmicrohttpd, a console group is an error that says why"
	exit 0
fi

config "$c"
start_echod "$conf"
expect_match "$tmp/echod.log" "console on http://127.0.0.1:$c/" "the console is announced"

# console PYTHON: run PYTHON with sse.py importable and the ports set.
console() {
	PYTHONPATH="$TOP_SRCDIR/tests/integration" U=$u T=$t Q=$q C=$c M=$m python3 -c "$1" ||
	    fail "the console test above failed"
}

console '
import os, sse
u, t, q, c = (int(os.environ[k]) for k in "UTQC")

# The pages and the files they need, with the safety headers.
for path, kind in (("/", "text/html"), ("/console.js", "text/javascript"),
                   ("/console.css", "text/css")):
    status, headers, body = sse.get(c, path)
    assert status == 200 and headers["content-type"].startswith(kind), (path, status, headers)
    sse.check_headers(headers, path)
status, headers, body = sse.get(c, "/class")
assert status == 200 and b"<html" in body.lower(), status
print("ok: /, /class, /console.js and /console.css are served, with the safety headers")
assert sse.get(c, "/nothing")[0] == 404
print("ok: anything else is 404")

me = sse.Stream(c, "/events")
assert me.status == 200, me.status
assert me.headers["content-type"].startswith("text/event-stream"), me.headers
sse.check_headers(me.headers, "/events")
hello = me.event()
assert hello["event"] == "hello" and hello["data"]["address"] == "127.0.0.1", hello
assert hello["data"]["class"] is False, hello
everyone = sse.Stream(c, "/class/events")
assert everyone.event()["data"]["class"] is True
print("ok: a student and an instructor stream open, each greeted with its address")

r1, p1 = sse.udp(u, b"udp from one <b>")
r2, p2 = sse.udp(u, b"udp from two", "127.0.0.2")
r3, p3 = sse.udp(q, b"not for the console")
r4, p4 = sse.tcp(t, b"tcp from one\x00\xff")
assert (r1, r2, r3, r4) == (b"UDP FROM ONE <B>", b"UDP FROM TWO", b"NOT FOR THE CONSOLE",
                            b"gpc sebz bar\x00\xff"), (r1, r2, r3, r4)

got = me.messages(2)
assert [m["message"] for m in got] == ["udp from one <b>", "tcp from one\\x00\\xFF"], got
assert [m["reply"] for m in got] == ["UDP FROM ONE <B>", "gpc sebz bar\\x00\\xFF"], got
assert got[0]["listener"] == "udp 127.0.0.1:%d" % u and got[0]["protocol"] == "udp", got[0]
assert got[0]["port"] == u and got[0]["transform"] == "upper", got[0]
assert got[1]["listener"] == "tcp 127.0.0.1:%d" % t and got[1]["transform"] == "rot13", got[1]
assert [(m["from"], m["from_port"]) for m in got] == [("127.0.0.1", p1), ("127.0.0.1", p4)], got
assert got[1]["length"] == 14 and got[1]["cut"] is False, got[1]
assert got[0]["id"] < got[1]["id"]
print("ok: the student sees their udp and tcp messages, as received, with the replies, sender and listener")
assert me.quiet(2) == [], "the student saw more"
print("ok: and neither 127.0.0.2s message nor one of a listener without log_messages")

got = everyone.messages(3)
assert [m["message"] for m in got] == ["udp from one <b>", "udp from two", "tcp from one\\x00\\xFF"], got
assert got[1]["from"] == "127.0.0.2" and got[1]["from_port"] == p2, got[1]
assert everyone.quiet(1) == []
print("ok: the instructor sees all three, and not the one without log_messages")

status, headers, body = sse.get(c, "/class/listeners")
assert status == 200 and headers["content-type"] == "application/json", (status, headers)
sse.check_headers(headers, "/class/listeners")
import json
board = {l["listener"]: l for l in json.loads(body)["listeners"]}
lu, lt = board["udp 127.0.0.1:%d" % u], board["tcp 127.0.0.1:%d" % t]
assert (lu["messages"], lu["clients"]) == (2, 2), lu
assert [a["address"] for a in lu["addresses"]] == ["127.0.0.1", "127.0.0.2"], lu
assert (lt["messages"], lt["clients"], lt["transform"]) == (1, 1, "rot13"), lt
assert len(board) == 2, board
print("ok: the scoreboard counts messages and clients per listener, and lists who")

for path in ("/class", "/class/events", "/class/listeners"):
    status, headers, body = sse.get(c, path, "127.0.0.2")
    assert status == 403, (path, status)
    sse.check_headers(headers, path + " (403)")
assert sse.get(c, "/", "127.0.0.2")[0] == 200
print("ok: /class and its data are 403 to an address not among the instructors; / is not")
try:
    s = sse.get(c, "/", "127.0.0.4")
    raise AssertionError("deny = 127.0.0.4 was answered: %r" % (s,))
except (OSError, IndexError, ValueError):
    pass
print("ok: deny = 127.0.0.4 is closed at accept")

# A browser coming back resumes after the last id it saw.
again = sse.Stream(c, "/events", last_id=got[0]["id"])
got2 = again.messages(1)
assert got2[0]["message"] == "tcp from one\\x00\\xFF", got2
assert again.quiet(1) == []
again.close()
print("ok: Last-Event-ID resumes after that message")
for junk in ("-5", "abc", "99999999999999999999999", "1 2"):
    odd = sse.Stream(c, "/events", last_id=junk)
    assert odd.messages(1)[0]["id"] == got[0]["id"], junk
    odd.close()
print("ok: a Last-Event-ID that is no id starts at the oldest message held")

# history = 20: from id 1, a viewer 25 messages later has missed some.
for i in range(25):
    sse.udp(u, b"flood %d" % i)
late = sse.Stream(c, "/class/events", last_id=1)
ev = late.event()
assert ev["event"] == "hello", ev
ev = late.event()
newest = got[2]["id"] + 25
oldest = newest - 19
assert ev["event"] == "behind" and ev["data"]["missed"] == oldest - 2, (ev, oldest)
first = late.messages(1)[0]
assert first["id"] == oldest and first["message"] == "flood 5", first
print("ok: a viewer behind the ring is told it missed %d messages and goes on from the oldest held" % ev["data"]["missed"])
late.close()
# A new page is shown what the ring holds of its own.
fresh = sse.Stream(c, "/events")
fresh.event()
assert [m["message"] for m in fresh.messages(20)][-1] == "flood 24"
fresh.close()
print("ok: a page opened late is shown the ring first")

# A student page asleep while the class sends more than the ring
# holds has missed nothing of its own, and is not told it fell behind.
import time
quiet = sse.Stream(c, "/events", "127.0.0.6")
assert quiet.event()["event"] == "hello"
for i in range(30):
    sse.udp(u, b"neighbour %d" % i, "127.0.0.7")
    time.sleep(0.1)
sse.udp(u, b"mine at last", "127.0.0.6")
ev = quiet.event()
while "comment" in ev:
    ev = quiet.event()
assert ev["event"] == "message" and ev["data"]["message"] == "mine at last", ev
quiet.close()
print("ok: a student page asleep through 30 messages of others (history 20) is not told it fell behind")

# Eight streams from one address, no more.
held = [sse.Stream(c, "/events", "127.0.0.5") for _ in range(8)]
for s in held:
    assert s.event()["event"] == "hello"
try:
    s = sse.Stream(c, "/events", "127.0.0.5", timeout=10)
    raise AssertionError("a ninth stream from 127.0.0.5 was answered: %d" % s.status)
except (sse.Closed, OSError):
    pass
for s in held:
    s.close()
print("ok: max_viewers_per_ip = 8 holds")

# The metric counts the pages open: me and everyone.
import urllib.request, time
def viewers():
    text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % os.environ["M"], timeout=20).read().decode()
    return [l for l in text.split("\n") if l.startswith("echod_console_viewers ")]
deadline = time.monotonic() + 30
while viewers() != ["echod_console_viewers 2"]:
    assert time.monotonic() < deadline, viewers()
    time.sleep(0.2)
print("ok: echod_console_viewers counts the two pages open")

# Nothing new: a comment keeps the stream alive, about every 15 s.
ev = me.event(timeout=40)
while "comment" not in ev:
    ev = me.event(timeout=40)
assert ev["comment"] == "heartbeat", ev
print("ok: an idle stream gets a heartbeat")
me.close()
everyone.close()
'

# A reload: new limits restart the console on its socket (the streams
# open reconnect by themselves), a new port moves it.
config "$c" 10
kill -HUP "$echod_pid"
wait_for grep -q "SIGHUP: reloaded" "$tmp/echod.log" || fail "no reload"
console '
import os, sse
c = int(os.environ["C"])
held = [sse.Stream(c, "/events", "127.0.0.5") for _ in range(10)]
for s in held:
    assert s.event()["event"] == "hello"
print("ok: after a reload, max_viewers_per_ip = 10 holds on the same socket")
for s in held:
    s.close()
'
# An instructor page of an address a reload takes off the instructors
# is ended (the browser asks again, and gets 403).
python3 - "$c" > "$tmp/class.out" 2>&1 <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
s.sendall(b"GET /class/events HTTP/1.0\r\n\r\n")
print(s.recv(4096).decode().split("\r\n")[0], flush=True)
try:
    while s.recv(4096):
        pass
except ConnectionResetError:
    pass
print("ended", flush=True)
PY
bg_pids="$bg_pids $!"
wait_for grep -q "200" "$tmp/class.out" || fail "no instructor stream"
config "$c" 10 1000 127.0.0.9
kill -HUP "$echod_pid"
wait_for eval "[ \$(grep -c 'SIGHUP: reloaded' '$tmp/echod.log') -eq 2 ]" || fail "no reload of instructors"
wait_for grep -q ended "$tmp/class.out" || fail "the instructor stream of 127.0.0.1 went on after the reload"
ok "a reload that takes an address off the instructors ends its /class stream"
[ "$(http "$c" 127.0.0.1 'GET /class HTTP/1.0\r\n\r\n' | head -n 1)" = 403 ] || fail "/class still open to 127.0.0.1"
ok "and /class is 403 to it from then on"

# At max_viewers, a reload that changes the limits replaces the console
# while it is full.
config "$c" 10 2
kill -HUP "$echod_pid"
wait_for eval "[ \$(grep -c 'SIGHUP: reloaded' '$tmp/echod.log') -eq 3 ]" || fail "no reload to max_viewers = 2"
PYTHONPATH="$TOP_SRCDIR/tests/integration" FLAG="$tmp/full" C=$c python3 -c '
import os, sse
c = int(os.environ["C"])
full = [sse.Stream(c, "/events", "127.0.0.%d" % (20 + i)) for i in range(2)]
for s in full:
    assert s.event()["event"] == "hello"
open(os.environ["FLAG"], "w").close()
# The reload comes now: the pages end with the console they were on.
for s in full:
    try:
        while True:
            s.event(timeout=60)
    except (sse.Closed, OSError):
        pass
print("ended", flush=True)
' > "$tmp/full.out" 2>&1 &
bg_pids="$bg_pids $!"
wait_for test -e "$tmp/full" || { cat "$tmp/full.out"; fail "two pages did not open"; }
config "$c" 10 3
kill -HUP "$echod_pid"
wait_for eval "[ \$(grep -c 'SIGHUP: reloaded' '$tmp/echod.log') -eq 4 ]" || fail "no reload from a full console"
wait_for grep -q ended "$tmp/full.out" || { cat "$tmp/full.out"; fail "the pages of the old console did not end"; }
echod_alive
[ "$(http "$c" 127.0.0.1 'GET / HTTP/1.0\r\n\r\n' | head -n 1)" = 200 ] || fail "no console after the reload"
ok "at max_viewers = 2 and full, a reload to 3 replaces the console: its pages end, the new one serves"
config "$c2"
kill -HUP "$echod_pid"
wait_for eval "[ \$(grep -c 'SIGHUP: reloaded' '$tmp/echod.log') -eq 5 ]" || fail "no reload to the new port"
expect_match "$tmp/echod.log" "console on http://127.0.0.1:$c2/" "a reload moves the console"
[ "$(http "$c2" 127.0.0.1 'GET / HTTP/1.0\r\n\r\n' | head -n 1)" = 200 ] || fail "not on the new port"
case $(http "$c" 127.0.0.1 'GET / HTTP/1.0\r\n\r\n' | head -n 1) in
error*) ok "and the old port is closed" ;;
*) fail "the old console port still answers" ;;
esac
config 0
kill -HUP "$echod_pid"
wait_for grep -q "has errors; nothing changed" "$tmp/echod.log" || fail "a bad console group was taken"
expect_match "$tmp/echod.log" "$conf:3: console.port: 0 is out of range (1-65535)" "a bad console setting is named with its file and line"
[ "$(http "$c2" 127.0.0.1 'GET / HTTP/1.0\r\n\r\n' | head -n 1)" = 200 ] || fail "a bad reload closed the console"
ok "and a bad one changes nothing"

# SIGTERM with a stream open (asleep in libmicrohttpd): a clean stop.
python3 - "$c2" > "$tmp/open.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
s.sendall(b"GET /class/events HTTP/1.0\r\n\r\n")
print(s.recv(4096).decode().split("\r\n")[0], flush=True)
while s.recv(4096):
    pass
print("closed", flush=True)
PY
bg_pids="$bg_pids $!"
wait_for grep -q "200" "$tmp/open.out" || fail "no stream for the stop"
kill -TERM "$echod_pid"
wait_exit "$echod_pid"
expect_eq "$?" 0 "SIGTERM with a stream open: echod exits 0"
wait_for grep -q closed "$tmp/open.out" || fail "the stream was not closed"
ok "and the stream is closed"
