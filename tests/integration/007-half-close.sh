#!/bin/sh
# A client that shuts down its write side still receives every byte:
# echod finishes sending, then closes.  4 MiB is far more than socket
# buffers hold, so echod's pause-and-resume on pending output is used.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"

printf 'short, then EOF' | "$PROBE" tcp 127.0.0.1 "$p" > "$tmp/out" || fail "short half-close"
expect_eq "$(cat "$tmp/out")" "SHORT, THEN EOF" "short message answered after half-close"

head -c 4194304 /dev/urandom > "$tmp/big"
tr_upper < "$tmp/big" > "$tmp/want"
"$PROBE" tcp -w 120 127.0.0.1 "$p" < "$tmp/big" > "$tmp/out" || fail "4 MiB half-close"
expect_eq "$(wc -c < "$tmp/out")" 4194304 "all 4 MiB returned"
cmp -s "$tmp/want" "$tmp/out" || fail "4 MiB reply differs"
ok "4 MiB transformed exactly"

head -c 1048576 /dev/urandom > "$tmp/mid"
tr_upper < "$tmp/mid" > "$tmp/want"
"$PROBE" tcp -c 10 -w 120 127.0.0.1 "$p" < "$tmp/mid" > "$tmp/out" || fail "10 x 1 MiB"
cmp -s "$tmp/want" "$tmp/out" || fail "1 MiB reply differs"
ok "10 connections of 1 MiB each, half-closed, all exact"

echod_alive
stop_echod
