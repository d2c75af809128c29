#!/bin/sh
# Three workers: connections are dealt round robin and all served, each
# worker reads a UDP socket of its own, line framing holds across them, and a
# SIGTERM with connections open on every worker exits cleanly (under
# valgrind when it is installed: no errors, no leaks).
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
q=$(free_port)
write_conf "$tmp/echod.conf" "workers = 3; udp_rate = 0;" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $q; framing = "line"; transform = "rot13"; }
CONF
# valgrind cannot run a sanitizer build; ./dev sanitize says so.  Memory
# still reachable at exit is not counted: after echod drops root (the
# tests run as root), glibc can no longer free what its user lookups
# loaded, and valgrind reports that as reachable.  A leak is still an
# error.  No vgdb: its pipes in /tmp cannot be removed after the drop.
if [ -z "${ECHOD_SANITIZED:-}" ] && command -v valgrind > /dev/null; then
	echod_wrap="valgrind -q --vgdb=no --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1"
	ok "running echod under valgrind"
fi
start_echod "$tmp/echod.conf"
expect_match "$tmp/echod.log" "ready, 3 workers" "echod says how many workers"

# 60 connections at once, ping-pong for 2 s, every reply checked.
"$ECHOD_BENCH" -q -j -d 2 -c 60 -e upper tcp 127.0.0.1 "$p" > "$tmp/tcp.json" ||
    { cat "$tmp/tcp.json" >&2; fail "echod-bench tcp saw errors or mismatches"; }
expect_eq "$(json_field "$tmp/tcp.json" mismatches)" 0 "60 connections: no reply wrong"
[ "$(json_field "$tmp/tcp.json" messages | cut -d. -f1)" -gt 60 ] ||
    fail "60 connections: too few messages: $(cat "$tmp/tcp.json")"
ok "60 connections answered, $(json_field "$tmp/tcp.json" messages) messages"
for w in 0 1 2; do
	n=$(grep -c ": connected, worker $w\$" "$tmp/echod.log")
	expect_eq "$n" 20 "worker $w was dealt 20 of the 60 connections"
done

# Eight UDP sockets, spread by the kernel over the workers' sockets.
"$ECHOD_BENCH" -q -j -d 2 -c 8 -e upper udp 127.0.0.1 "$p" > "$tmp/udp.json" ||
    { cat "$tmp/udp.json" >&2; fail "echod-bench udp saw errors or mismatches"; }
expect_eq "$(json_field "$tmp/udp.json" mismatches)" 0 "udp: no reply wrong"
[ "$(json_field "$tmp/udp.json" messages | cut -d. -f1)" -gt 8 ] ||
    fail "udp: too few replies: $(cat "$tmp/udp.json")"
ok "udp answered across workers"

# Line framing: 30 connections at once, each reply line for line.
printf 'one line\ntwo lines\nthree\n' > "$tmp/lines"
"$PROBE" tcp -c 30 127.0.0.1 "$q" < "$tmp/lines" > "$tmp/out" ||
    fail "30 line-framed connections"
expect_eq "$(cat "$tmp/out")" "$(tr_rot13 < "$tmp/lines")" "line framing on every worker"

# Shut down with a connection open on every worker.
"$ECHOD_BENCH" -q -d 120 -c 9 -e upper idle 127.0.0.1 "$p" > "$tmp/idle.out" 2>&1 &
bg_pids=$!
wait_for grep -q 'holding 9 connections' "$tmp/idle.out" ||
    { cat "$tmp/idle.out" >&2; fail "9 idle connections were not all answered"; }
ok "9 connections held open"
stop_echod
expect_match "$tmp/echod.log" "stopped" "echod stopped cleanly"
