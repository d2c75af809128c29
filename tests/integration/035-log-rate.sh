#!/bin/sh
# log_rate and log_burst: one client flooding log_messages with 10,000
# small writes gets at most log_burst lines plus log_rate a second, and
# every message left out is accounted for, exactly: in the suffix of the
# next line logged for its address and in echod_messages_unlogged_total.
# Another address is logged in full meanwhile, and log_rate = 0 leaves
# nothing out.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

[ "${HAVE_HTTP:-yes}" = yes ] || skip "built without libmicrohttpd: the counters are read from /metrics"

p=$(free_port)
q=$(free_port)
m=$(free_port)
# Listener p keeps the defaults, log_rate 20 and log_burst 40.
write_conf "$tmp/echod.conf" "metrics = { address = \"127.0.0.1\"; port = $m; };" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; log_messages = true; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $q; log_messages = true; log_rate = 0; }
CONF
start_echod "$tmp/echod.conf"
rate=20
burst=40
flood=10000

# client SOURCE PORT PREFIX COUNT: one connection from SOURCE sending
# PREFIX00000, PREFIX00001, ... one at a time, each once the last one's
# echo is back, so that each is a read of its own and so a message of
# its own; at most 120 s in all.
client() {
	python3 - "$@" <<'PY'
import socket, sys, time
src, port, prefix, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
deadline = time.monotonic() + 120
s = socket.create_connection(("127.0.0.1", port), timeout=30,
                             source_address=(src, 0))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(count):
    if time.monotonic() > deadline:
        sys.exit("%s: only %d of %d messages in 120 s" % (prefix, i, count))
    msg = ("%s%05d" % (prefix, i)).encode()
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = s.recv(len(msg) - len(got))
        if not b:
            sys.exit("%s: closed after %d messages" % (prefix, i))
        got += b
    if got != msg:
        sys.exit("%s: echo %r for %r" % (prefix, got, msg))
s.close()
PY
}

# scrape: the body of GET /metrics (the status code, lib.sh's http
# prints first, left out).
scrape() { http "$m" | tail -n +2; }
# metric SAMPLE VALUE: the scrape of /metrics has the line "SAMPLE VALUE".
metric() { scrape | grep -qxF -- "$1 $2"; }

# lines PORT SOURCE PREFIX: the log lines of PREFIX's messages from
# SOURCE to listener PORT, suffix and all.
lines() {
	grep -E "^echod: tcp 127\\.0\\.0\\.1:$1: Received from $(echo "$2" | sed 's/\./\\./g')#[0-9]+: $3[0-9]{5}( |\$)" "$tmp/echod.log"
}

# logged PORT SOURCE PREFIX N: N such lines in the log.
logged() { [ "$(lines "$1" "$2" "$3" | wc -l)" -eq "$4" ]; }

# The flood from 127.0.0.2, timed in whole seconds rounded up, plus one:
# at most log_burst + log_rate * T lines can be logged for it.
t0=$(date +%s%N)
client 127.0.0.2 "$p" f "$flood" > "$tmp/flood.out" 2>&1 &
flood_pid=$!
bg_pids="$bg_pids $flood_pid"
wait_for grep -q 'Received from 127\.0\.0\.2#[0-9]*: f00000$' "$tmp/echod.log" ||
    fail "the flood's first message is not logged"
# Meanwhile another address: its own bucket, every message logged.
client 127.0.0.3 "$p" o 5 || fail "the other client"
wait "$flood_pid" || { cat "$tmp/flood.out" >&2; fail "the flood client failed"; }
t1=$(date +%s%N)
secs=$(((t1 - t0 + 999999999) / 1000000000 + 1))
ok "$flood messages echoed one at a time in at most $secs s"
# The other client's lines may come a moment after its echoes.
wait_for logged "$p" 127.0.0.3 o 5 ||
    fail "the other address: $(lines "$p" 127.0.0.3 o | wc -l) of 5 messages logged"
expect_eq "$(lines "$p" 127.0.0.3 o | grep -c 'over log_rate')" 0 \
    "the other address: all 5 logged, none left out, during or right after the flood"

# log_rate = 0 on listener q: the flooding address is logged in full.
client 127.0.0.2 "$q" z 200 || fail "the client of listener q"
wait_for logged "$q" 127.0.0.2 z 200 ||
    fail "log_rate = 0: $(lines "$q" 127.0.0.2 z | wc -l) of 200 messages logged"
ok "log_rate = 0: 200 of 200 messages logged"
expect_eq "$(lines "$q" 127.0.0.2 z | grep -c 'over log_rate')" 0 "log_rate = 0: no suffix"

# The flood's lines, in the order logged (one connection, one worker):
# the first log_burst messages all logged, then each line's suffix
# counts exactly the messages left out since the line before.  Prints
# how many lines, and the number of the last message logged.
lines "$p" 127.0.0.2 f > "$tmp/flood.lines"
python3 - "$tmp/flood.lines" "$burst" > "$tmp/flood.check" <<'PY' ||
import re, sys
burst = int(sys.argv[2])
prev = -1
n = 0
for line in open(sys.argv[1]):
    mo = re.search(r": f(\d{5})(?: \((\d+) earlier (message|messages) over log_rate not logged\))?$", line)
    if not mo:
        sys.exit("a line not understood: " + line)
    i = int(mo.group(1))
    left = int(mo.group(2)) if mo.group(2) else 0
    if i <= prev:
        sys.exit("message %d logged after %d" % (i, prev))
    if n < burst and i != n:
        sys.exit("line %d of the burst is message %d" % (n, i))
    if left != i - prev - 1:
        sys.exit("message %d says %d left out, %d were: %s" % (i, left, i - prev - 1, line))
    if mo.group(3) and (mo.group(3) == "message") != (left == 1):
        sys.exit("wrong plural: " + line)
    prev = i
    n += 1
print(n, prev)
PY
    fail "the flood's log lines: $(cat "$tmp/flood.check")"
read -r logged last < "$tmp/flood.check"
ok "each of the flood's $logged lines counts exactly the messages left out before it"
[ "$logged" -ge "$burst" ] || fail "only $logged lines logged for the flood, fewer than log_burst $burst"
ok "log_burst: the flood's first $burst messages all logged"
max=$((burst + rate * secs))
[ "$logged" -le "$max" ] ||
    fail "$logged lines logged for the flood, more than $burst + $rate * $secs = $max"
ok "log_rate: $logged lines logged for $flood messages in $secs s (at most $max)"

# A pause refills the bucket: the next message is logged, and it owns
# to the messages left out since the flood's last line.
sleep 1.5
client 127.0.0.2 "$p" last 1 || fail "the message after the pause"
wait_for grep -q 'Received from 127\.0\.0\.2#[0-9]*: last00000' "$tmp/echod.log" ||
    fail "the message after the pause is not logged"
tail_left=$((flood - 1 - last))
if [ "$tail_left" -eq 1 ]; then
	suffix=" (1 earlier message over log_rate not logged)"
elif [ "$tail_left" -gt 1 ]; then
	suffix=" ($tail_left earlier messages over log_rate not logged)"
else
	# The flood's very last message took a token: nothing left out since.
	suffix=
fi
expect_eq "$(lines "$p" 127.0.0.2 last | sed 's/.*: last00000//')" "$suffix" \
    "after the pause, logged with the count left out since message $last"

# Every message left out is counted: 10,000 less those logged.
t="listener=\"tcp 127.0.0.1:$p\""
for want in \
    "echod_messages_received_total{$t} $((flood + 5 + 1))" \
    "echod_messages_unlogged_total{$t} $((flood - logged))" \
    "echod_messages_unlogged_total{listener=\"tcp 127.0.0.1:$q\"} 0"; do
	wait_for metric "${want% *}" "${want##* }" ||
	    { scrape | grep '^echod_messages' >&2; fail "no '$want' in the scrape"; }
	ok "scraped $want"
done

stop_echod
