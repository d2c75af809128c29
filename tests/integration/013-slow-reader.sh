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

# flood PORT BYTES WHAT: send BYTES without reading; echod must stop
# taking them before the end, and stay under the bound.
flood() {
	: > "$tmp/flood"
	"$PROBE" flood -w 60 127.0.0.1 "$1" "$2" > "$tmp/flood" &
	bg_pids="$bg_pids $!"
	wait_for grep -q . "$tmp/flood" || fail "$3: never stopped"
	sent=$(cat "$tmp/flood")
	after=$(rss_kib)
	echo "$3: sent $sent bytes; echod VmRSS $before kB -> $after kB"
	[ "$sent" -lt "$2" ] || fail "$3: echod took all $2 bytes"
	ok "$3: stopped after $sent of $2 bytes"
	[ "$after" -lt "$bound" ] || fail "$3: echod grew by $((after - before)) kB"
	ok "$3: echod grew by $((after - before)) kB, under 16 MiB"
}

flood "$p" 104857600 "100 MiB, never read"
expect_eq "$("$ECHOD_TCP" -m 'not starved' 127.0.0.1 "$p")" "NOT STARVED" "others served meanwhile"
flood "$q" 67108864 "a 64 MiB line"
expect_match "$tmp/echod.log" "a line longer than max_line (65536 bytes); closing" "the line is logged"
expect_eq "$("$ECHOD_TCP" -l -m 'short line' 127.0.0.1 "$q")" "SHORT LINE" "lines still answered"

echod_alive
stop_echod
