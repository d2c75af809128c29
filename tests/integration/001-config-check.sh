#!/bin/sh
# echod -t accepts the sample config and rejects bad ones with FILE:LINE
# and the setting; at start-up a bad config stops echod before it opens
# anything.  Also -V, -h and bad options.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

"$ECHOD" -t -f "$SAMPLE_CONF" > "$tmp/out" 2>&1
expect_eq "$?" 0 "-t on the sample config exits 0"
expect_eq "$(cat "$tmp/out")" "configuration OK" "-t says configuration OK"

port=$(free_port)
bad="$tmp/bad.conf"
cat > "$bad" <<CONF
listeners = (
  { protocol = "tcp"; address = "127.0.0.1"; port = $port; transform = "upper"; },
  { protocol = "udp"; address = "127.0.0.1"; port = 70000; },
  { protocol = "tcp"; address = "127.0.0.1"; port = $port; transform = "shout"; }
);
CONF
"$ECHOD" -t -f "$bad" > "$tmp/out" 2>&1
expect_eq "$?" 1 "-t on a bad config exits 1"
expect_match "$tmp/out" "$bad:3: listeners[1].port: 70000 is out of range (1-65535)" "range error named"
expect_match "$tmp/out" "$bad:4: listeners[2].transform: unknown transform \"shout\"" "transform error named"
grep -q 'configuration OK' "$tmp/out" && fail "-t said OK on a bad config"

# Start-up: the same errors, exit 1, and the valid listener never
# opened.  Its port is held by probe sink, so an echod that went on to
# bind it despite the errors would say "Address already in use".
"$PROBE" sink "$port" > "$tmp/sink" & bg_pids="$bg_pids $!"
wait_for grep -q ready "$tmp/sink" || fail "probe sink on $port not ready"
start_must_fail "$bad" "a bad config" "$bad:4: listeners[2].transform" \
    "$bad:3: listeners[1].port: 70000 is out of range (1-65535)"
grep -q 'Address already in use' "$tmp/refused" &&
    fail "echod tried to bind the valid listener of a bad config"
ok "nothing opened from a bad config"

"$ECHOD" -t -f "$tmp/missing.conf" > "$tmp/out" 2>&1
expect_eq "$?" 1 "-t on a missing file exits 1"
expect_match "$tmp/out" "$tmp/missing.conf: No such file or directory" "missing file named"

expect_eq "$("$ECHOD" -V)" "echod 0.1.0" "-V prints the version"
"$ECHOD" -h > "$tmp/out" 2>&1
expect_eq "$?" 0 "-h exits 0"
expect_match "$tmp/out" "usage: echod" "-h prints usage"
"$ECHOD" -x > "$tmp/out" 2>&1
expect_eq "$?" 1 "an unknown option exits 1"
expect_match "$tmp/out" "usage: echod" "an unknown option prints usage"
