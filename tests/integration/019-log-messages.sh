#!/bin/sh
# log_messages: one log line per message, as the lab's servers printed
# them, escaped so that no client can forge a line, and cut at
# log_length.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
q=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "upper"; log_messages = true; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; log_messages = true; log_length = 10; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $q; framing = "line"; log_messages = true; }
{ protocol = "udp"; address = "127.0.0.1"; port = $q; }
CONF
start_echod "$tmp/echod.conf"
expect_match "$tmp/echod.log" "listening on udp 127.0.0.1:$p, transform upper, logging messages" \
    "the listener says it logs messages"

expect_eq "$("$ECHOD_UDP" -m 'hello there' 127.0.0.1 "$p")" "HELLO THERE" "udp reply"
expect_match "$tmp/echod.log" "echod: udp 127.0.0.1:$p: Received from 127.0.0.1#" "udp message logged"
expect_match "$tmp/echod.log" ": hello there" "with its text, before the transform"

# A message that tries to write a log line of its own.
printf 'evil\necho\033[2J: forged\r\n' | "$PROBE" udp 127.0.0.1 "$p" > /dev/null ||
    fail "udp exchange"
expect_match "$tmp/echod.log" ': evil\x0Aecho\x1B[2J: forged\x0D\x0A' \
    "control bytes are shown as \\xNN, on the message's own line"
expect_eq "$(grep -vc '^echod: ' "$tmp/echod.log")" 0 "every log line is echod's own"
printf 'caf\303\251 \377\\x41' | "$PROBE" udp 127.0.0.1 "$p" > /dev/null || fail "udp utf-8"
expect_match "$tmp/echod.log" ': café \xFF\\x41' \
    "UTF-8 shown, a broken byte escaped, a backslash doubled"

# log_length = 10: the rest is counted, not shown.
expect_eq "$("$ECHOD_TCP" -m 'abcdefghijklmnopqrstuvwxyz' 127.0.0.1 "$p")" \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ" "tcp reply"
expect_match "$tmp/echod.log" ": abcdefghij... (26 bytes)" "a long message is cut at log_length"

# A 60 KB datagram is one short log line.
head -c 60000 /dev/zero | tr '\0' a | "$PROBE" udp 127.0.0.1 "$p" > /dev/null || fail "big datagram"
expect_match "$tmp/echod.log" "... (60000 bytes)" "a big message is one line"
expect_eq "$(awk 'length($0) > 1000' "$tmp/echod.log" | wc -l)" 0 "no log line over 1000 bytes"

# framing "line": one log line per line, without its terminator.
printf 'first\r\nsecond\n' | "$PROBE" tcp 127.0.0.1 "$q" > /dev/null || fail "lines"
expect_eq "$(grep -c "tcp 127.0.0.1:$q: Received from 127.0.0.1#[0-9]*: first\$" "$tmp/echod.log")" 1 \
    "the first line logged without its \\r\\n"
expect_eq "$(grep -c "tcp 127.0.0.1:$q: Received from 127.0.0.1#[0-9]*: second\$" "$tmp/echod.log")" 1 \
    "the second line logged"

# Listeners without log_messages log nothing per message.
"$ECHOD_UDP" -m 'quiet please' 127.0.0.1 "$q" > /dev/null || fail "quiet udp"
expect_eq "$(grep -c 'quiet please' "$tmp/echod.log")" 0 "log_messages is off by default"

stop_echod
