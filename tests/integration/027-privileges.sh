#!/bin/sh
# Started as root, echod binds first (here, a port below 1024), then runs
# as user and group for good; it can still read its config and modules
# afterwards, which a reload (SIGHUP) proves: it applies a new module
# setting and opens a new listener as nobody, while a new port below 1024
# is refused and changes nothing.  A user that does not exist is a
# config error; user = "root" keeps root, with a warning.  Without root,
# CAP_NET_BIND_SERVICE alone (what the systemd unit grants) is enough.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

[ "$(id -u)" -eq 0 ] || skip "not root: nothing to drop"
command -v setpriv > /dev/null || skip "no setpriv (util-linux)"
low=$("$PROBE" free-low-port) || fail "no free port below 1024"
chmod 755 "$tmp" # the config must stay readable by nobody

# ids FIELD: /proc's Uid: or Gid: line of echod, tabs made spaces.
ids() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$echod_pid/status" | tr "\t" " " | sed "s/ *$//"; }

write_conf "$tmp/echod.conf" "$(built_modules '"caesar.so"') user = \"nobody\"; group = \"nogroup\";" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $low; transform = { name = "caesar"; shift = 1; }; }
CONF
start_echod "$tmp/echod.conf"
expect_match "$tmp/echod.log" "running as user nobody, group nogroup" "the drop is logged"
expect_eq "$(ids Uid)" "65534 65534 65534 65534" "real, effective, saved and fs uid are nobody's"
expect_eq "$(ids Gid)" "65534 65534 65534 65534" "and every gid is nogroup's"
expect_eq "$(ids Groups)" "65534" "no supplementary group of root's is kept"
expect_eq "$("$ECHOD_TCP" -m 'HAL' 127.0.0.1 "$low")" "IBM" "serving on port $low after the drop"

high=$(free_port)
write_conf "$tmp/echod.conf" "$(built_modules '"caesar.so"') user = \"nobody\"; group = \"nogroup\";" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $low; transform = { name = "caesar"; shift = 2; }; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $high; transform = "upper"; }
CONF
kill -HUP "$echod_pid"
wait_for grep -q "SIGHUP: reloaded $tmp/echod.conf: 1 listener kept, 1 opened" "$tmp/echod.log" ||
    fail "no reload after the drop"
expect_eq "$("$ECHOD_TCP" -m 'HAL' 127.0.0.1 "$low")" "JCN" "after the drop, a reload reloads the module with new settings"
expect_eq "$("$ECHOD_TCP" -m 'new' 127.0.0.1 "$high")" "NEW" "and opens a new listener as nobody"

low2=$("$PROBE" free-low-port) || fail "no second free port below 1024"
cp "$tmp/echod.conf" "$tmp/good.conf"
write_conf "$tmp/echod.conf" "$(built_modules '"caesar.so"') user = \"nobody\"; group = \"nogroup\";" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $low; transform = "upper"; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $low2; }
CONF
kill -HUP "$echod_pid"
wait_for grep -q "tcp 127.0.0.1:$low2: Permission denied" "$tmp/echod.log" ||
    fail "a port below 1024 after the drop was not refused"
wait_for grep -q "SIGHUP: nothing changed" "$tmp/echod.log" || fail "no 'nothing changed'"
expect_eq "$("$ECHOD_TCP" -m 'HAL' 127.0.0.1 "$low")" "JCN" "a reload that cannot bind changes nothing"
expect_eq "$("$ECHOD_TCP" -m 'new' 127.0.0.1 "$high")" "NEW" "not even the listeners it could keep"
cp "$tmp/good.conf" "$tmp/echod.conf"
chmod 600 "$tmp/echod.conf"
kill -HUP "$echod_pid"
wait_for grep -q "SIGHUP: $tmp/echod.conf: Permission denied" "$tmp/echod.log" ||
    fail "an unreadable config was not reported"
ok "a config nobody cannot read is reported"
expect_eq "$("$ECHOD_TCP" -m 'HAL' 127.0.0.1 "$low")" "JCN" "still serving as it was"
stop_echod

write_conf "$tmp/bad.conf" 'user = "no-such-user-here";' <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $low; }
CONF
"$ECHOD" -t -f "$tmp/bad.conf" 2> "$tmp/out" && fail "-t accepted a missing user"
expect_match "$tmp/out" "$tmp/bad.conf:1: user: no user \"no-such-user-here\"" "a missing user is a config error"
start_must_fail "$tmp/bad.conf" "a missing user" \
    "$tmp/bad.conf:1: user: no user \"no-such-user-here\""

write_conf "$tmp/root.conf" 'user = "root";' <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $low; }
CONF
start_echod "$tmp/root.conf"
expect_match "$tmp/echod.log" 'warning: running as root, as user = "root" asks' "keeping root is a warning"
expect_eq "$(ids Uid)" "0 0 0 0" "user = \"root\" keeps root"
stop_echod

# Never root: nobody with only the capability to bind a low port.
write_conf "$tmp/cap.conf" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $low; transform = "upper"; }
CONF
nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups"
echod_wrap="$nobody --inh-caps=+net_bind_service --ambient-caps=+net_bind_service"
start_echod "$tmp/cap.conf"
expect_eq "$(ids Uid)" "65534 65534 65534 65534" "nobody from the start"
expect_eq "$(ids CapEff)" "0000000000000400" "holding CAP_NET_BIND_SERVICE alone"
expect_eq "$("$ECHOD_TCP" -m 'capable' 127.0.0.1 "$low")" "CAPABLE" "serving on port $low without root"
grep -q "running as user" "$tmp/echod.log" && fail "not root, yet a drop was logged"
ok "nothing to drop"
stop_echod

# Without the capability, the bind fails and says so.
echod_wrap=$nobody
start_must_fail "$tmp/cap.conf" "nobody without the capability" \
    "tcp 127.0.0.1:$low: Permission denied"
