#!/bin/sh
# Modules: caesar and reverse loaded from module_dir, with parameters and
# chains, over TCP and UDP; and each way a module or its parameters can
# be wrong, refused with file, line, module and reason, nothing started.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

p=$(free_port)
write_conf "$tmp/echod.conf" "$(built_modules '"caesar.so", "reverse.so"')" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = { name = "caesar"; shift = 3; }; }
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = ( "reverse", { name = "caesar"; shift = 13; } ); }
CONF
"$ECHOD" -t -f "$tmp/echod.conf" 2> "$tmp/out" || fail "-t: $(cat "$tmp/out")"
expect_match "$tmp/out" "configuration OK" "-t loads the modules"
start_echod "$tmp/echod.conf"
expect_match "$tmp/echod.log" "listening on tcp 127.0.0.1:$p, transform caesar(shift=3)" \
    "the log names the transform and its parameters"
expect_eq "$("$ECHOD_TCP" -m 'Veni, vidi, vici' 127.0.0.1 "$p")" "Yhql, ylgl, ylfl" \
    "caesar with shift 3 over tcp"
expect_eq "$("$ECHOD_UDP" -m 'hello world' 127.0.0.1 "$p")" \
    "$(printf 'dlrow olleh' | tr_rot13)" "reverse, then caesar 13 (rot13), over udp"
expect_eq "$("$ECHOD_UDP" -m 'héllo ✓' 127.0.0.1 "$p")" "✓ byyéu" \
    "reverse keeps UTF-8 characters whole"
stop_echod

# refused FILE_TOP LISTENER WANT WHAT: -t and a start both fail with
# WANT, and the start never tries to bind the listener's port: probe sink
# holds it, so that would be "Address already in use".
"$PROBE" sink "$p" > "$tmp/sink" & bg_pids="$bg_pids $!"
wait_for grep -q ready "$tmp/sink" || fail "probe sink on $p not ready"
refused() {
	echo "$2" | write_conf "$tmp/bad.conf" "$1"
	"$ECHOD" -t -f "$tmp/bad.conf" > "$tmp/out" 2>&1
	expect_eq "$?" 1 "-t exits 1: $4"
	expect_match "$tmp/out" "$3" "-t says why: $4"
	start_must_fail "$tmp/bad.conf" "$4" "$3"
	grep -q 'Address already in use' "$tmp/refused" &&
	    fail "$4: echod tried to bind port $p"
	ok "$4: no bind tried"
}

tcp="{ protocol = \"tcp\"; address = \"127.0.0.1\"; port = $p; }"
refused "$(built_modules '"nothere.so"')" "$tcp" \
    "bad.conf:1: modules[0]: $MODULE_DIR/nothere.so: cannot open shared object file: No such file or directory" \
    "a missing module"
refused "modules = ( \"$TEST_MODULE_DIR/faulty_no_entry.so\" );" "$tcp" \
    "bad.conf:1: modules[0]: $TEST_MODULE_DIR/faulty_no_entry.so: no entry point: the module defines no \"echod_module\"" \
    "a module without an entry point"
refused "modules = ( \"$TEST_MODULE_DIR/faulty_abi.so\" );" "$tcp" \
    "bad.conf:1: modules[0]: $TEST_MODULE_DIR/faulty_abi.so: built for transform ABI 2; this echod has ABI 1" \
    "a module for another ABI"
refused "modules = ( \"$TEST_MODULE_DIR/faulty_clash.so\" );" "$tcp" \
    "bad.conf:1: modules[0]: $TEST_MODULE_DIR/faulty_clash.so: transform \"upper\" is already defined as a built-in" \
    "a module whose transform's name is taken"
refused "$(built_modules '"caesar.so", "caesar.so"')" "$tcp" \
    "bad.conf:1: modules[1]: $MODULE_DIR/caesar.so: transform \"caesar\" is already defined by $MODULE_DIR/caesar.so" \
    "a module loaded twice"
refused "$(built_modules '"caesar.so"')" \
    "{ protocol = \"tcp\"; address = \"127.0.0.1\"; port = $p; transform = { name = \"caesar\"; shift = 26; }; }" \
    "bad.conf:3: listeners[0].transform: caesar ($MODULE_DIR/caesar.so): shift: expected a whole number from 0 to 25" \
    "a parameter the module's constructor refuses"
refused "$(built_modules '"caesar.so"')" \
    "{ protocol = \"tcp\"; address = \"127.0.0.1\"; port = $p; transform = { name = \"caesar\"; shfit = 3; }; }" \
    "bad.conf:3: listeners[0].transform: caesar ($MODULE_DIR/caesar.so): unknown parameter \"shfit\" (caesar takes shift)" \
    "an unknown parameter"
refused "$(built_modules '"reverse.so"')" \
    "{ protocol = \"tcp\"; address = \"127.0.0.1\"; port = $p; transform = \"reverse\"; }" \
    "bad.conf:3: listeners[0].transform: reverse works on whole messages, which a stream does not have; set framing = \"line\"" \
    "a message transform on a tcp stream"
