#!/bin/sh
# 200 clients at once, each answered correctly: 200 echod-tcp processes,
# then 200 connections held open together by one probe.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"

i=0
pids=
while [ $i -lt 200 ]; do
	"$ECHOD_TCP" -w 60 -m "client $i says hello" 127.0.0.1 "$p" > "$tmp/out.$i" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
bg_pids=$pids
failed=0
for pid in $pids; do
	wait_exit "$pid" || failed=$((failed + 1))
done
bg_pids=
expect_eq "$failed" 0 "200 client processes exit 0"
i=0
while [ $i -lt 200 ]; do
	[ "$(cat "$tmp/out.$i")" = "CLIENT $i SAYS HELLO" ] ||
	    fail "client $i got '$(cat "$tmp/out.$i")'"
	i=$((i + 1))
done
ok "200 client processes each got their own reply"

printf 'two hundred at once' > "$tmp/msg"
"$PROBE" tcp -c 200 -w 60 127.0.0.1 "$p" < "$tmp/msg" > "$tmp/out" ||
    fail "probe with 200 simultaneous connections"
expect_eq "$(cat "$tmp/out")" "TWO HUNDRED AT ONCE" "200 simultaneous connections all answered"

echod_alive
stop_echod
