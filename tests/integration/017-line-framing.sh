#!/bin/sh
# framing = "line": each line one message, answered with its own
# terminator; an unterminated last line answered at EOF; a line past
# max_line closes the connection with a logged reason; echod-tcp -l.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
q=$(free_port)
write_conf "$tmp/echod.conf" "$(built_modules '"reverse.so"')" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; framing = "line"; transform = ( "reverse", "upper" ); max_line = 16; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $q; framing = "line"; transform = "upper"; close_after_reply = true; }
CONF
start_echod "$tmp/echod.conf"

printf 'abc\ndef\r\n\nghi' | "$PROBE" tcp 127.0.0.1 "$p" > "$tmp/out" ||
    fail "line exchange"
printf 'CBA\nFED\r\n\nIHG' > "$tmp/want"
cmp -s "$tmp/out" "$tmp/want" || { od -c "$tmp/out" >&2; fail "replies to lines"; }
ok "each line reversed, with its own terminator; the last one at EOF"

# 20 clients at once, 300 lines each, sent as one stream.
i=0
while [ "$i" -lt 300 ]; do echo "line $i of many"; i=$((i + 1)); done > "$tmp/lines"
"$PROBE" tcp -c 20 127.0.0.1 "$p" < "$tmp/lines" > "$tmp/out" || fail "20 clients"
awk '{ s = ""; for (i = length($0); i > 0; i--) s = s substr($0, i, 1); print s }' "$tmp/lines" | tr_upper > "$tmp/want"
cmp -s "$tmp/out" "$tmp/want" || fail "300 lines on each of 20 connections"
ok "300 lines on each of 20 connections, every reply right"

# Exactly max_line (16) bytes, with \r\n too, is answered.
printf '0123456789abcdef\r\n' | "$PROBE" tcp 127.0.0.1 "$p" > "$tmp/out" ||
    fail "16-byte line"
printf 'FEDCBA9876543210\r\n' > "$tmp/want"
cmp -s "$tmp/out" "$tmp/want" || fail "a line of max_line bytes"
ok "a line of exactly max_line bytes is answered"

# One byte more closes the connection, after the lines before it.
printf 'ok\n0123456789abcdefg\nnever\n' | "$PROBE" tcp 127.0.0.1 "$p" > "$tmp/out" ||
    fail "long line"
expect_eq "$(cat "$tmp/out")" "KO" "lines before a long one are answered, then echod closes"
expect_match "$tmp/echod.log" "a line longer than max_line (16 bytes); closing" \
    "the reason is logged"
# Without a newline at all, the connection closes once the line is too long.
head -c 1000 /dev/zero | tr '\0' x | "$PROBE" tcp -n 127.0.0.1 "$p" > "$tmp/out" ||
    fail "endless line"
expect_eq "$(wc -c < "$tmp/out")" 0 "an endless line is closed, not buffered"

# close_after_reply answers the first line only.
printf 'one\ntwo\n' | "$PROBE" tcp -n 127.0.0.1 "$q" > "$tmp/out" || fail "close after line"
expect_eq "$(cat "$tmp/out")" "ONE" "close_after_reply: the first line, then close"

# The client's line mode sends and expects the newline.
printf 'hello\nworld\n' | "$ECHOD_TCP" -l 127.0.0.1 "$p" > "$tmp/out"
expect_eq "$?" 0 "echod-tcp -l exits 0"
expect_eq "$(cat "$tmp/out")" "$(printf 'OLLEH\nDLROW')" "echod-tcp -l: one reply per line"

echod_alive
stop_echod
