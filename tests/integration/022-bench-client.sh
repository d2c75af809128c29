#!/bin/sh
# echod-bench checks what it measures: each mode runs briefly against the
# real echod with every reply right, and a wrong --expect is caught.
# Correctness only: no figure here is compared with a speed.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
write_conf "$tmp/echod.conf" "workers = 2; udp_rate = 0;" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"

# bench_ok WHAT KEY ARGS...: exit 0, no mismatch, KEY above zero.
bench_ok() {
	what=$1 key=$2
	shift 2
	"$ECHOD_BENCH" -q -j -d 1 "$@" > "$tmp/out.json" ||
	    { cat "$tmp/out.json" >&2; fail "$what: echod-bench exited $?"; }
	expect_eq "$(json_field "$tmp/out.json" mismatches)" 0 "$what: no mismatch"
	expect_eq "$(json_field "$tmp/out.json" errors)" 0 "$what: no error"
	v=$(json_field "$tmp/out.json" "$key")
	awk -v v="$v" 'BEGIN { exit !(v > 0) }' || fail "$what: $key is '$v'"
	ok "$what: $key $v"
}

bench_ok "tcp ping-pong" messages -c 4 -e upper tcp 127.0.0.1 "$p"
bench_ok "stream" mb_per_s -c 2 -s 4096 -w 65536 -e upper stream 127.0.0.1 "$p"
bench_ok "connect" messages -c 4 -e upper connect 127.0.0.1 "$p"
bench_ok "udp ping-pong" messages -c 4 -e upper udp 127.0.0.1 "$p"
bench_ok "idle" held -c 20 -e upper idle 127.0.0.1 "$p"
expect_eq "$(json_field "$tmp/out.json" held)" 20 "idle: all 20 held"

# The checking is real: rot13 is not what this listener answers.
"$ECHOD_BENCH" -q -j -d 1 -e rot13 tcp 127.0.0.1 "$p" > "$tmp/out.json"
expect_eq "$?" 2 "a wrong --expect exits 2"
[ "$(json_field "$tmp/out.json" mismatches)" -ge 1 ] ||
    fail "a wrong --expect counts no mismatch: $(cat "$tmp/out.json")"
ok "a wrong --expect is counted as a mismatch"

# The text report, and bad arguments.
"$ECHOD_BENCH" -q -d 1 -e upper tcp 127.0.0.1 "$p" > "$tmp/out.txt" ||
    fail "text report run"
expect_match "$tmp/out.txt" "messages/s" "the text report shows messages/s"
expect_match "$tmp/out.txt" "p99.9" "the text report shows p99.9 latency"
"$ECHOD_BENCH" ping 127.0.0.1 "$p" 2> "$tmp/err"
expect_eq "$?" 1 "an unknown mode exits 1"
expect_match "$tmp/err" '"ping" is not a mode' "and names it"
"$ECHOD_BENCH" -e lower tcp 127.0.0.1 "$p" 2> "$tmp/err"
expect_eq "$?" 1 "an unknown transform exits 1"
"$ECHOD_BENCH" --help > "$tmp/out.txt"
expect_eq "$?" 0 "--help exits 0"

echod_alive
stop_echod
