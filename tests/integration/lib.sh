# shellcheck shell=sh
# lib.sh: what the integration tests share; each NNN-*.sh sources it.
#
# The tests run the real echod and clients on loopback, on ports picked
# free at run time.  Every wait is bounded; nothing is timed.  The
# environment (ECHOD, ECHOD_TCP, ECHOD_UDP, PROBE, SAMPLE_CONF, MODULE_DIR
# and the like) comes from Makefile.am's AM_TESTS_ENVIRONMENT.
set -u

# The tests' Python clients import peer.py from here.
PYTHONPATH=$(dirname "$TESTLIB")${PYTHONPATH:+:$PYTHONPATH}
export PYTHONPATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echod-test.XXXXXX")
echod_pid=
echod_wrap=
bg_pids=

cleanup() {
	for p in $echod_pid $bg_pids; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# Fail the test, showing echod's log if there is one.
fail() {
	echo "FAIL: $*" >&2
	if [ -s "$tmp/echod.log" ]; then
		echo "--- echod log:" >&2
		tail -n 50 "$tmp/echod.log" >&2
	fi
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

ok() {
	echo "ok: $*"
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
	ok "$3"
}

# expect_match FILE PATTERN WHAT: a fixed string somewhere in FILE.
expect_match() {
	grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$3: no '$2' in output"; }
	ok "$3"
}

# free_port: a port free for TCP and UDP on loopback (and the wildcard
# addresses), below the kernel's ephemeral range so that no client socket
# takes it before echod binds it; never one this test was given already
# (probe picks at random, and nothing holds the port between two picks).
free_port() {
	i=0
	while :; do
		port=$("$PROBE" free-port) || fail "no free port"
		grep -qx "$port" "$tmp/ports" 2>/dev/null || break
		i=$((i + 1))
		[ "$i" -lt 100 ] || fail "no free port this test was not given"
	done
	echo "$port" >> "$tmp/ports"
	echo "$port"
}

# write_conf FILE [TOP]: the listeners read from standard input, one a
# line, after TOP (top-level settings such as modules) if given.
write_conf() {
	{ echo "${2:-}"; echo "listeners = ("; sed '$!s/$/,/'; echo ");"; } > "$1"
}

# The modules built here, for write_conf's TOP.
built_modules() {
	echo "module_dir = \"$MODULE_DIR\"; modules = ( $1 );"
}

# wait_for COMMAND...: until it succeeds, at most 30 s.
wait_for() {
	i=0
	until "$@"; do
		i=$((i + 1))
		[ "$i" -le 300 ] || return 1
		sleep 0.1
	done
}

# wait_exit PID: its exit status, or fail if it runs past 30 s.
wait_exit() {
	wait_for eval "! kill -0 $1 2>/dev/null" ||
	    fail "process $1 still running after 30 s"
	wait "$1"
}

echod_ready() {
	kill -0 "$echod_pid" 2>/dev/null ||
	    fail "echod exited during start-up"
	grep -Eq ' ready(,|$)' "$tmp/echod.log"
}

# start_echod CONF [NOFILE]: run echod on CONF, with at most NOFILE file
# descriptors if given, until it says it is ready; under echod_wrap (say,
# valgrind) if that is set.
start_echod() {
	# Emptied here, not by the child's redirection: that one runs after
	# the fork, and until it does a restart would see the last "ready".
	: > "$tmp/echod.log"
	# shellcheck disable=SC3045 # dash and bash both have ulimit -n
	(if [ -n "${2:-}" ]; then ulimit -n "$2" || exit 1; fi
	    # shellcheck disable=SC2086 # echod_wrap is words: a command line
	    exec ${echod_wrap:-} "$ECHOD" -d -f "$1") >> "$tmp/echod.log" 2>&1 &
	echod_pid=$!
	wait_for echod_ready || fail "echod not ready after 30 s"
}

# start_must_fail CONF WHAT PATTERN...: echod on CONF (under echod_wrap
# if set) must refuse to start: exit 1, every PATTERN (a fixed string) in
# what it says, and no listener announced nor "ready".  It runs in the
# foreground under timeout, so an echod that wrongly starts and serves is
# stopped after 30 s and fails the test instead of hanging it.  What it
# said stays in $tmp/refused.
start_must_fail() {
	conf=$1
	what=$2
	shift 2
	[ "$#" -gt 0 ] || fail "start_must_fail: $what: no PATTERN to expect"
	# shellcheck disable=SC2086 # echod_wrap is words: a command line
	timeout -k 5 30 ${echod_wrap:-} "$ECHOD" -F -f "$conf" > "$tmp/refused" 2>&1
	status=$?
	case $status in
	1) ;;
	124 | 137)
		cat "$tmp/refused" >&2
		fail "$what: echod started: still running after 30 s" ;;
	*)
		cat "$tmp/refused" >&2
		fail "$what: echod exited $status, not 1" ;;
	esac
	for pattern; do
		expect_match "$tmp/refused" "$pattern" "$what: echod says why"
	done
	if grep -Eq 'listening on| ready(,|$)' "$tmp/refused"; then
		cat "$tmp/refused" >&2
		fail "$what: echod announced a listener before exiting"
	fi
	ok "$what: echod exits 1 without serving"
}

# stop_echod [SIGNAL]: it must exit 0.
# shellcheck disable=SC2120 # SIGNAL is optional
stop_echod() {
	kill "-${1:-TERM}" "$echod_pid"
	wait_exit "$echod_pid"
	status=$?
	pid=$echod_pid
	echod_pid=
	[ "$status" -eq 0 ] || fail "echod ($pid) exited $status on SIG${1:-TERM}"
	ok "echod exits 0 on SIG${1:-TERM}"
}

echod_alive() {
	kill -0 "$echod_pid" 2>/dev/null || fail "echod died"
}

# hold NAME [-w S] [-b ADDR] HOST PORT N: N connections held open by
# `probe hold` in the background (its pid in hold_pid; killed when the
# test ends) once its count, "answered A refused R waiting W", is in
# $tmp/NAME.
hold() {
	name=$1
	shift
	: > "$tmp/$name"
	"$PROBE" hold "$@" > "$tmp/$name" &
	hold_pid=$!
	bg_pids="$bg_pids $hold_pid"
	wait_for grep -q . "$tmp/$name" || fail "$name: no count from probe hold"
}

# tcp_answers HOST PORT MESSAGE REPLY: echod-tcp -m MESSAGE gets REPLY.
tcp_answers() {
	[ "$("$ECHOD_TCP" -m "$3" "$1" "$2" 2>/dev/null)" = "$4" ]
}

# notify_catch: what echod tells systemd (NOTIFY_SOCKET), caught on the
# socket $tmp/notify.sock and written to $tmp/notify, a message a line.
notify_catch() {
	python3 - "$tmp/notify.sock" "$tmp/notify" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        msg = s.recv(4096).decode()
        out.write(msg.replace("\n", " ") + "\n")
        out.flush()
PY
	bg_pids="$bg_pids $!"
	wait_for test -S "$tmp/notify.sock" || fail "no notify socket"
	chmod 777 "$tmp/notify.sock" # as systemd's is: echod runs as nobody
	: > "$tmp/notify"
}

# http PORT [SOURCE [REQUEST]]: the status code and the body of one
# request (GET /metrics unless REQUEST is given), or "error: ..." if no
# answer came.
http() {
	python3 - "$@" <<'PY'
import socket, sys
port = int(sys.argv[1])
source = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
req = sys.argv[3] if len(sys.argv) > 3 else "GET /metrics HTTP/1.0\r\n\r\n"
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=20,
                                 source_address=(source, 0))
    s.sendall(req.replace("\\r\\n", "\r\n").encode())
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
except OSError as e:
    print("error:", e)
    sys.exit(0)
head, _, body = got.decode("utf-8", "replace").partition("\r\n\r\n")
print(head.split("\r\n")[0].split(" ")[1] if head else "error: no answer")
print(body, end="")
PY
}

# json_field FILE KEY: a number from echod-bench's --json line.
json_field() { sed -n "s/.*\"$2\": \\([0-9.]*\\).*/\\1/p" "$1"; }

# upper and rot13 as tr does them: an oracle independent of echod's code.
# shellcheck disable=SC2018,SC2019 # ASCII letters only, on purpose
tr_upper() { LC_ALL=C tr 'a-z' 'A-Z'; }
tr_rot13() { LC_ALL=C tr 'A-Za-z' 'N-ZA-Mn-za-m'; }
