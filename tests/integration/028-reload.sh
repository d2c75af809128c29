#!/bin/sh
# SIGHUP applies a changed config while clients are being served:
# connections made before it keep their settings and get every reply,
# during and after it, while new ones get the new settings; a listener
# the new config adds opens, one it drops stops accepting but finishes
# with its connections; a range keeps its pick; a broken config changes
# nothing.  Reloads are sent while the clients talk (the load).
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p1=$(free_port)
p2=$(free_port)
p3=$(free_port)
lo=$("$PROBE" free-range 20) || fail "no free range"
hi=$((lo + 19))
conf="$tmp/echod.conf"
chmod 755 "$tmp" # echod reads it again as nobody

# config TRANSFORM [EXTRA-LISTENER]: the file as the test changes it.
config() {
	write_conf "$conf" "workers = 2; udp_rate = 0;" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p1; transform = "$1"; }
{ protocol = "udp"; address = "127.0.0.1"; port = $p1; transform = "$1"; }
{ protocol = "tcp"; address = "127.0.0.1"; port = "$lo-$hi"; same_port = true; transform = "$1"; }
{ protocol = "udp"; address = "127.0.0.1"; port = "$lo-$hi"; same_port = true; transform = "$1"; }
${2:-"{ protocol = \"tcp\"; address = \"127.0.0.1\"; port = $p2; transform = \"upper\"; }"}
CONF
}

# reloaded N: the Nth "reloaded" line is in the log.
reloaded() { [ "$(grep -c 'SIGHUP: reloaded' "$tmp/echod.log")" -ge "$1" ]; }

config upper
start_echod "$conf"
range=$(sed -n "s/.*listening on tcp 127\.0\.0\.1:\([0-9]*\) (picked from $lo-$hi).*/\1/p" "$tmp/echod.log")
[ -n "$range" ] || fail "no pick in the log"

# Talkers on p1 (kept) and p2 (to be dropped), answered in upper case.
"$PROBE" chat -w 120 127.0.0.1 "$p1" 20 "$tmp/stop" > "$tmp/chat1" &
chat1=$!
"$PROBE" chat -w 120 127.0.0.1 "$p2" 5 "$tmp/stop" > "$tmp/chat2" &
chat2=$!
bg_pids="$chat1 $chat2"
wait_for grep -q up "$tmp/chat1" || fail "chat on $p1 did not start"
wait_for grep -q up "$tmp/chat2" || fail "chat on $p2 did not start"

# rot13 for new clients; p2 dropped, p3 added.  Five reloads back and
# forth while the talkers talk, the last one leaving rot13.
n=0
for t in rot13 upper rot13 upper rot13; do
	config "$t" "{ protocol = \"tcp\"; address = \"127.0.0.1\"; port = $p3; transform = \"upper\"; }"
	kill -HUP "$echod_pid"
	n=$((n + 1))
	wait_for reloaded "$n" || fail "reload $n not done"
done
ok "five reloads while 25 connections talk"

expect_eq "$("$ECHOD_TCP" -m 'hello' 127.0.0.1 "$p1")" "uryyb" "a new tcp connection gets the new transform"
expect_eq "$("$ECHOD_UDP" -m 'hello' 127.0.0.1 "$p1")" "uryyb" "and so does a new datagram"
expect_eq "$("$ECHOD_TCP" -m 'hello' 127.0.0.1 "$p3")" "HELLO" "the added listener answers"
"$ECHOD_TCP" -m 'hello' 127.0.0.1 "$p2" > /dev/null 2>&1 &&
    fail "the dropped listener still accepts"
ok "the dropped listener accepts no more"
expect_match "$tmp/echod.log" "serving tcp 127.0.0.1:$range (picked from $lo-$hi), transform rot13" \
    "the range keeps its pick"
expect_eq "$("$ECHOD_UDP" -m 'abc' 127.0.0.1 "$range")" "nop" "and so does its same_port partner"

# The talkers, still talking after the reloads.
sleep 1
touch "$tmp/stop"
wait "$chat1" || fail "chat on the kept listener: $(cat "$tmp/chat1")"
ok "kept listener, connections from before: $(tail -n 1 "$tmp/chat1")"
wait "$chat2" || fail "chat on the dropped listener: $(cat "$tmp/chat2")"
ok "dropped listener, connections from before: $(tail -n 1 "$tmp/chat2")"
bg_pids=
wait_for grep -q "closed tcp 127.0.0.1:$p2: " "$tmp/echod.log" ||
    fail "the dropped listener was not closed once its clients left"
ok "the dropped listener closes once its last connection has"

# A broken file: nothing changes, and the log says why.
echo 'listeners = ( { protocol = "tcp"; port = 0; } );' > "$conf"
kill -HUP "$echod_pid"
wait_for grep -q "SIGHUP: $conf has errors; nothing changed" "$tmp/echod.log" ||
    fail "a broken config was not reported"
expect_match "$tmp/echod.log" "SIGHUP: $conf:1: listeners[0].port: 0 is out of range" \
    "the error names the file, the line and the setting"
expect_eq "$("$ECHOD_TCP" -m 'hello' 127.0.0.1 "$p1")" "uryyb" "a broken config changes nothing"
expect_eq "$("$ECHOD_TCP" -m 'hello' 127.0.0.1 "$p3")" "HELLO" "not even a listener"
echod_alive
stop_echod
