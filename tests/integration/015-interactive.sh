#!/bin/sh
# At a terminal, the clients behave like the lab's: say where they send,
# prompt, print "Returned from server: ...", prompt again until EOF.
# script(1) gives them a pseudo-terminal.  Its echo of the typed input
# lands before or after a prompt depending on timing, so it is turned off
# before the client starts.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

command -v script > /dev/null 2>&1 || skip "script(1) is not installed"

p=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "rot13"; }
CONF
start_echod "$tmp/echod.conf"

printf 'hello from the lab\nsecond line\n' |
    script -qec "stty -echo; exec '$ECHOD_TCP' 127.0.0.1 $p" /dev/null | tr -d '\r' > "$tmp/out"
expect_match "$tmp/out" "Sending to 127.0.0.1 port $p (127.0.0.1:$p)" "echod-tcp says where it sends"
expect_match "$tmp/out" "Input lowercase sentence: Returned from server: HELLO FROM THE LAB" "echod-tcp prompts and answers"
expect_match "$tmp/out" "Returned from server: SECOND LINE" "echod-tcp prompts again"
expect_eq "$(grep -o 'Input lowercase sentence: ' "$tmp/out" | wc -l)" 3 "three prompts for two lines and EOF"

printf 'uryyb\n' |
    script -qec "stty -echo; exec '$ECHOD_UDP' 127.0.0.1 $p" /dev/null | tr -d '\r' > "$tmp/out"
expect_match "$tmp/out" "Input lowercase sentence: Returned from server: hello" "echod-udp prompts and answers"

echod_alive
stop_echod
