#!/bin/sh
# UDP for each transform; one reply per datagram, from the address the
# client sent to; zero-length and maximum-size datagrams.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
q=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "echo"; }
{ protocol = "udp"; address = "127.0.0.2"; port = $p; transform = "upper"; }
{ protocol = "udp"; address = "127.0.0.3"; port = $p; transform = "rot13"; }
{ protocol = "udp"; address = "0.0.0.0"; port = $q; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"

expect_eq "$("$ECHOD_UDP" -m 'Hello, World!' 127.0.0.1 "$p")" "Hello, World!" "echo"
expect_eq "$("$ECHOD_UDP" -m 'Hello, World!' 127.0.0.2 "$p")" "HELLO, WORLD!" "upper"
expect_eq "$("$ECHOD_UDP" -m 'Hello, World!' 127.0.0.3 "$p")" "Uryyb, Jbeyq!" "rot13"
printf 'one\ntwo\nthree\n' | "$ECHOD_UDP" 127.0.0.3 "$p" > "$tmp/out"
expect_eq "$(cat "$tmp/out")" "$(printf 'bar\ngjb\nguerr')" "piped lines, one datagram each"

# A wildcard listener answers from the address it was sent to; the
# client's connected socket would drop a reply from any other.
expect_eq "$("$ECHOD_UDP" -m 'via five' 127.0.0.5 "$q")" "VIA FIVE" "reply from 127.0.0.5 on a wildcard socket"
expect_eq "$("$ECHOD_UDP" -m 'via one' 127.0.0.1 "$q")" "VIA ONE" "reply from 127.0.0.1 on a wildcard socket"

"$PROBE" udp 127.0.0.2 "$p" < /dev/null > "$tmp/out" || fail "no reply to a zero-length datagram"
expect_eq "$(wc -c < "$tmp/out")" 0 "zero-length datagram, zero-length reply"

head -c 65507 /dev/urandom > "$tmp/big"
"$PROBE" udp 127.0.0.3 "$p" < "$tmp/big" > "$tmp/out" || fail "no reply to 65507 bytes"
tr_rot13 < "$tmp/big" | cmp -s - "$tmp/out" || fail "65507-byte datagram mangled"
ok "65507-byte datagram answered whole"

echod_alive
stop_echod
