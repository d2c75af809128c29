#!/bin/sh
# TCP for each transform, with -m and with piped lines on one connection.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
n=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "localhost"; port = $n; transform = "upper"; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "echo"; }
{ protocol = "tcp"; address = "127.0.0.2"; port = $p; transform = "upper"; }
{ protocol = "tcp"; address = "127.0.0.3"; port = $p; transform = "rot13"; }
CONF
start_echod "$tmp/echod.conf"
expect_match "$tmp/echod.log" "listening on tcp 127.0.0.2:$p, transform upper" "start-up logs each listener"

# A host name: echod listens on each address it resolves to.
expect_match "$tmp/echod.log" "listening on tcp 127.0.0.1:$n, transform upper" "host name listener resolved"
expect_eq "$("$ECHOD_TCP" -4 -m 'by name' 127.0.0.1 "$n")" "BY NAME" "host name listener serves"

expect_eq "$("$ECHOD_TCP" -m 'Hello, World!' 127.0.0.1 "$p")" "Hello, World!" "echo"
expect_eq "$("$ECHOD_TCP" -m 'Hello, World!' 127.0.0.2 "$p")" "HELLO, WORLD!" "upper"
expect_eq "$("$ECHOD_TCP" -m 'Hello, World!' 127.0.0.3 "$p")" "Uryyb, Jbeyq!" "rot13"
expect_eq "$("$ECHOD_TCP" -m "$(printf 'h\303\251llo w\303\266rld \342\234\223')" 127.0.0.2 "$p")" \
    "$(printf 'H\303\251LLO W\303\266RLD \342\234\223')" "upper keeps UTF-8"
expect_eq "$(printf 'h\303\251llo\n' | "$ECHOD_TCP" 127.0.0.2 "$p")" \
    "$(printf 'H\303\251LLO')" "upper keeps UTF-8 bytes"

# Piped input: one line, one message, one reply line; one connection.
before=$(grep -c ': connected' "$tmp/echod.log")
printf 'a\nb\n\nlast line\n' | "$ECHOD_TCP" 127.0.0.2 "$p" > "$tmp/out"
expect_eq "$?" 0 "piped lines exit 0"
expect_eq "$(cat "$tmp/out")" "$(printf 'A\nB\n\nLAST LINE')" "each line answered in order"
after=$(grep -c ': connected' "$tmp/echod.log")
expect_eq "$((after - before))" 1 "piped lines share one connection"

# A line far larger than one read comes back whole and transformed.
head -c 300000 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 200000 > "$tmp/long"
echo >> "$tmp/long"
"$ECHOD_TCP" -w 30 127.0.0.3 "$p" < "$tmp/long" > "$tmp/out"
expect_eq "$?" 0 "a 200 kB line exits 0"
tr_rot13 < "$tmp/long" | cmp -s - "$tmp/out" || fail "200 kB line mangled"
ok "200 kB line transformed whole"

echod_alive
stop_echod
