#!/bin/sh
# Out of file descriptors, echod pauses accepting instead of spinning on
# accept(2), and resumes as connections close: more clients than it has
# descriptors for are all served, with a bounded number of warnings.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
# About 15 descriptors are in use before the first client.
start_echod "$tmp/echod.conf" 32

printf 'more clients than descriptors' > "$tmp/msg"
"$PROBE" tcp -c 100 -w 120 127.0.0.1 "$p" < "$tmp/msg" > "$tmp/out" ||
    fail "not every client was served"
expect_eq "$(cat "$tmp/out")" "MORE CLIENTS THAN DESCRIPTORS" "100 clients served with 32 descriptors"
expect_match "$tmp/echod.log" "pausing new connections" "the pause is logged"
warnings=$(grep -c 'accept' "$tmp/echod.log")
[ "$warnings" -le 100 ] || fail "$warnings accept warnings: echod is spinning"
ok "$warnings accept warnings for 100 clients"

echod_alive
stop_echod
