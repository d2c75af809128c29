#!/bin/sh
# A client that sends without ever reading: echod stops reading from it
# once its replies back up, so echod's memory stays bounded, and everyone
# else is still served.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$echod_pid/status"; }
before=$(rss_kib)

# 256 MiB offered; without back-pressure echod would buffer most of it.
"$PROBE" flood -w 60 127.0.0.1 "$p" 268435456 > "$tmp/flood" &
bg_pids=$!
wait_for grep -q . "$tmp/flood" || fail "flood client did not finish sending"
sent=$(cat "$tmp/flood")
after=$(rss_kib)
echo "flood sent $sent bytes; echod VmRSS $before kB -> $after kB"
[ "$sent" -lt 268435456 ] || fail "echod read all 256 MiB from a client that never reads"
ok "the flood stalled after $sent bytes"
[ "$after" -lt $((before + 32768)) ] || fail "echod grew by $((after - before)) kB"
ok "echod grew by less than 32 MiB"

expect_eq "$("$ECHOD_TCP" -m 'not starved' 127.0.0.1 "$p")" "NOT STARVED" "others served meanwhile"
kill "$bg_pids"
bg_pids=
echod_alive
stop_echod
