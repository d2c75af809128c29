#!/bin/sh
# The watchdog covers every worker, not only the main loop: with
# WATCHDOG_USEC set, echod pings NOTIFY_SOCKET only while each worker's
# loop answers.  The test's stall module hangs worker 1 until a file
# appears: the pings stop and the log names the worker; once it is free
# the pings come back.  Nothing is timed: the hang lasts until the test
# ends it, and markers sent down the notify socket order what was sent
# before and after.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

# mark WORD: WORD down the notify socket, once the catcher wrote it.
mark() {
	python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(sys.argv[2].encode(), sys.argv[1])' \
	    "$tmp/notify.sock" "$1" || fail "cannot send $1"
	wait_for grep -qx "$1" "$tmp/notify" || fail "$1 never came through"
}
# pinged_after WORD: a WATCHDOG=1 came after WORD.
pinged_after() { sed -n "/^$1\$/,\$p" "$tmp/notify" | grep -q '^WATCHDOG=1$'; }

notify_catch
p=$(free_port)
q=$(free_port)
write_conf "$tmp/echod.conf" "workers = 2; module_dir = \"$TEST_MODULE_DIR\"; modules = ( \"stall.so\" );" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "echo"; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $q; transform = { name = "stall"; until = "$tmp/go"; }; }
CONF
chmod 755 "$tmp" # echod, as nobody, looks for $tmp/go
NOTIFY_SOCKET=$tmp/notify.sock
WATCHDOG_USEC=400000
export NOTIFY_SOCKET WATCHDOG_USEC
start_echod "$tmp/echod.conf"
wait_for grep -q '^WATCHDOG=1$' "$tmp/notify" || fail "no WATCHDOG=1"
ok "WATCHDOG=1 while both workers turn"

# Round robin: the first connection goes to worker 0, the next to 1.
hold held 127.0.0.1 "$p" 1
wait_for grep -q "answered 1" "$tmp/held" || fail "the held connection got no answer"
expect_match "$tmp/echod.log" "connected, worker 0" "the first connection is worker 0's"
"$ECHOD_TCP" -w 120 -m hang 127.0.0.1 "$q" > "$tmp/hung" 2>&1 &
client=$!
bg_pids="$bg_pids $client"
wait_for grep -q "connected, worker 1" "$tmp/echod.log" || fail "the second connection is not worker 1's"
wait_for grep -q "worker 1 has not answered the watchdog" "$tmp/echod.log" ||
    fail "a hung worker 1 is not noticed"
ok "a hung worker 1 is named in the log"

# Worker 0 still serves, but no ping goes out while worker 1 hangs.
mark before
expect_eq "$("$ECHOD_TCP" -m alive 127.0.0.1 "$p")" alive "worker 0 and the acceptor still serve"
sleep 1 # several watchdog periods of 0.2 s
mark after
pinged_after before && { cat "$tmp/notify" >&2; fail "WATCHDOG=1 while worker 1 hangs"; }
ok "no WATCHDOG=1 while worker 1 hangs"

touch "$tmp/go"
wait_exit "$client" || { cat "$tmp/hung" >&2; fail "the hung client failed"; }
expect_eq "$(cat "$tmp/hung")" hang "the hung message is answered once the worker is free"
wait_for grep -q "worker 1 answers the watchdog again" "$tmp/echod.log" ||
    fail "worker 1's return is not logged"
mark free
wait_for pinged_after free || fail "no WATCHDOG=1 after worker 1 came back"
ok "WATCHDOG=1 again once worker 1 answers"
stop_echod
