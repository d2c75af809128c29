#!/bin/sh
# Clients that would make echod hold their bytes: one sends 100 MiB and
# never reads; another sends a 64 MiB line with no newline.  echod stops
# reading from the first once max_pending bytes of replies wait for it,
# and closes the second past max_line, so its memory stays bounded, and
# everyone else is still served.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
q=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; max_pending = 1048576; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $q; framing = "line"; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$echod_pid/status"; }
before=$(rss_kib)
# The bound: max_pending (1 MiB) and one 64 KiB read per connection, then
# the kernel's socket buffers take the rest; 16 MiB leaves room for
# malloc's arenas on each worker.
bound=$((before + 16384))

"$PROBE" flood -w 60 127.0.0.1 "$p" 104857600 > "$tmp/flood" &
bg_pids=$!
wait_for grep -q . "$tmp/flood" || fail "the flood did not stall"
sent=$(cat "$tmp/flood")
after=$(rss_kib)
echo "flood sent $sent bytes; echod VmRSS $before kB -> $after kB"
[ "$sent" -lt 104857600 ] || fail "echod read all 100 MiB from a client that never reads"
ok "the flood stalled after $sent bytes"
[ "$after" -lt "$bound" ] || fail "echod grew by $((after - before)) kB"
ok "echod grew by $((after - before)) kB, under 16 MiB"
expect_eq "$("$ECHOD_TCP" -m 'not starved' 127.0.0.1 "$p")" "NOT STARVED" "others served meanwhile"

"$PROBE" flood -w 60 127.0.0.1 "$q" 67108864 > "$tmp/line" &
bg_pids="$bg_pids $!"
wait_for grep -q . "$tmp/line" || fail "the long line was not stopped"
sent=$(cat "$tmp/line")
after=$(rss_kib)
echo "line sent $sent bytes; echod VmRSS $before kB -> $after kB"
[ "$sent" -lt 67108864 ] || fail "echod took a 64 MiB line"
ok "the 64 MiB line was cut off after $sent bytes"
[ "$after" -lt "$bound" ] || fail "echod grew by $((after - before)) kB"
ok "echod grew by $((after - before)) kB, under 16 MiB"
expect_match "$tmp/echod.log" "a line longer than max_line (65536 bytes); closing" "the line is logged"
expect_eq "$("$ECHOD_TCP" -l -m 'short line' 127.0.0.1 "$q")" "SHORT LINE" "lines still answered"

echod_alive
stop_echod
