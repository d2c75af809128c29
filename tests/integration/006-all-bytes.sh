#!/bin/sh
# Every byte value, 0 to 255, through each transform over TCP and UDP;
# the expected replies come from tr(1), not from echod's code.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

i=0
while [ $i -lt 256 ]; do
	# shellcheck disable=SC2059
	printf "\\$(printf %03o $i)"
	i=$((i + 1))
done > "$tmp/bytes"
expect_eq "$(wc -c < "$tmp/bytes")" 256 "payload holds 256 bytes"
for _ in 1 2 3 4 5 6 7 8; do cat "$tmp/bytes"; done > "$tmp/bytes8"

cat "$tmp/bytes" > "$tmp/want.echo"
tr_upper < "$tmp/bytes" > "$tmp/want.upper"
tr_rot13 < "$tmp/bytes" > "$tmp/want.rot13"
cmp -s "$tmp/bytes" "$tmp/want.upper" && fail "tr oracle changed nothing"

p=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "echo"; }
{ protocol = "tcp"; address = "127.0.0.2"; port = $p; transform = "upper"; }
{ protocol = "tcp"; address = "127.0.0.3"; port = $p; transform = "rot13"; }
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "echo"; }
{ protocol = "udp"; address = "127.0.0.2"; port = $p; transform = "upper"; }
{ protocol = "udp"; address = "127.0.0.3"; port = $p; transform = "rot13"; }
CONF
start_echod "$tmp/echod.conf"

for t in echo:1 upper:2 rot13:3; do
	name=${t%:*}
	host=127.0.0.${t#*:}
	"$PROBE" tcp "$host" "$p" < "$tmp/bytes" > "$tmp/out" || fail "tcp $name"
	cmp "$tmp/want.$name" "$tmp/out" || fail "tcp $name: bytes differ"
	ok "tcp $name: all 256 byte values"
	for _ in 1 2 3 4 5 6 7 8; do cat "$tmp/want.$name"; done > "$tmp/want8"
	"$PROBE" tcp "$host" "$p" < "$tmp/bytes8" > "$tmp/out" || fail "tcp $name x8"
	cmp "$tmp/want8" "$tmp/out" || fail "tcp $name x8: bytes differ"
	"$PROBE" udp "$host" "$p" < "$tmp/bytes" > "$tmp/out" || fail "udp $name"
	cmp "$tmp/want.$name" "$tmp/out" || fail "udp $name: bytes differ"
	ok "udp $name: all 256 byte values"
done

echod_alive
stop_echod
