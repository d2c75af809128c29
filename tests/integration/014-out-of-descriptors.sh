#!/bin/sh
# Out of descriptors echod pauses accepting instead of spinning on
# accept(2), and serves again once connections close.  Two ways in:
# under prlimit --nofile=64, 200 clients fill every descriptor echod
# allows itself (the limit less those in use and a reserve); and with
# the limit lowered under it while it runs, accept(2) fails with EMFILE.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

command -v prlimit > /dev/null || skip "no prlimit (util-linux)"
p=$(free_port)
write_conf "$tmp/echod.conf" "workers = 2;" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "upper"; }
CONF
started=$(date +%s)
echod_wrap="prlimit --nofile=64"
start_echod "$tmp/echod.conf"
expect_match "$tmp/echod.log" "descriptor limit 64" "echod sees the limit"

cpu_ticks() { sed 's/.*) //' "/proc/$echod_pid/stat" | awk '{ print $12 + $13 }'; }
hz=$(getconf CLK_TCK)

# no_spin WHAT: over 3 s, echod uses less than half a CPU.  A loop
# around accept(2) takes a whole one; a paused echod, next to none.
no_spin() {
	t0=$(cpu_ticks)
	sleep 3
	used=$(($(cpu_ticks) - t0))
	[ "$used" -lt $((hz * 3 / 2)) ] || fail "$1: echod used $used ticks of CPU in 3 s"
	ok "$1: $used ticks of CPU in 3 s (of $((hz * 3)))"
}

# held N: N clients held in the background.
held() {
	hold held -w 10 127.0.0.1 "$p" "$1"
	echo "probe hold $1: $(cat "$tmp/held")"
}

# served: a new client is answered, once the held ones are gone.
served() {
	kill "$hold_pid"
	wait_for tcp_answers 127.0.0.1 "$p" "served again" "SERVED AGAIN" ||
	    fail "not served again after the held clients closed"
	ok "served again once they closed"
}

held 200
read -r _ answered _ refused _ waiting < "$tmp/held"
if ! { [ "$answered" -gt 0 ] && [ "$waiting" -gt 0 ] && [ "$refused" -eq 0 ]; }; then
	fail "expected some answered, some waiting: $(cat "$tmp/held")"
fi
ok "$answered of 200 answered, $waiting waiting for a descriptor"
expect_match "$tmp/echod.log" "descriptors for connections all in use; pausing new connections" "the pause is logged"
no_spin "at its own descriptor cap"
served

# The limit lowered under echod: it still believes it has room, so
# accept(2) itself fails.  (As echod's own user: root here may lack
# CAP_SYS_RESOURCE, which changing another user's limit needs.)
as_echod=
[ "$(id -u)" -ne 0 ] || as_echod="setpriv --reuid=nobody --regid=nogroup --clear-groups"
$as_echod prlimit --pid "$echod_pid" --nofile=24:24 ||
    fail "cannot lower echod's descriptor limit"
held 30
expect_match "$tmp/echod.log" "accept: Too many open files; pausing new connections" "EMFILE pauses accepting"
no_spin "after EMFILE"
served

stop_echod
# Every client left in the accept queue when the holders quit is
# accepted and closed in turn, so there are more pauses than the two
# provoked; most are counted without a log line: two kinds (at the cap,
# EMFILE), each logged once per 10 s (LOG_LIMIT_SECONDS) at most.
n=$(sed -n 's/^echod: accepting paused \([0-9]*\) times, [0-9]* ms in all$/\1/p' "$tmp/echod.log")
[ "${n:-0}" -ge 2 ] || fail "pauses counted: '$n', expected 2 or more"
warnings=$(grep -c 'pausing' "$tmp/echod.log")
bound=$((2 * (($(date +%s) - started) / 10 + 1)))
[ "$warnings" -le "$bound" ] || fail "$warnings pause warnings for $n pauses: not rate-limited"
ok "$n pauses counted, $warnings logged (at most $bound)"
