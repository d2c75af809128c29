#!/bin/sh
# The out-of-tree module, built as a student would: `make install` into a
# temporary root, then the installed examples/ built with the installed
# header and echod.pc, loaded by echod and answering.  The installed
# shipped modules load from the installed module directory too.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

for tool in make cc pkg-config; do
	command -v "$tool" > /dev/null || skip "$tool is not installed"
done
dest=$tmp/root
# A make of its own, not a part of the one running the tests.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$TOP_BUILDDIR" install \
    DESTDIR="$dest" > "$tmp/install.log" 2>&1 ||
    { tail -n 20 "$tmp/install.log" >&2; fail "make install"; }
ok "make install DESTDIR=..."

pc=$(find "$dest" -name echod.pc)
[ -n "$pc" ] || fail "echod.pc was not installed"
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
header=$(find "$dest" -path '*/include/echod/transform.h')
[ -n "$header" ] || fail "<echod/transform.h> was not installed"
expect_eq "$(pkg-config --cflags echod | sed 's/ *$//')" "-I$(dirname "$(dirname "$header")")" \
    "pkg-config --cflags echod names the installed header's directory"

examples=$(find "$dest" -type d -path '*/examples' | head -n 1)
for f in "$examples/swapcase.c" "$examples/Makefile"; do
	[ -f "$f" ] || fail "the example was not installed: no $f"
done
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$examples" > "$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; fail "the example does not build"; }
expect_match "$tmp/build.log" "pkg-config --cflags echod" "the example builds with pkg-config"
ok "the installed example builds"

moddir=$(pkg-config --variable=moduledir echod)
# pkgconf puts the sysroot before variables too; pkg-config 0.29 did not.
case $moddir in "$dest"/*) ;; *) moddir=$dest$moddir ;; esac
for f in "$moddir/caesar.so" "$moddir/reverse.so"; do
	[ -f "$f" ] || fail "a shipped module was not installed: no $f"
done
expect_eq "$(find "$moddir" -name '*.la' | wc -l)" 0 "no libtool archives installed"

p=$(free_port)
write_conf "$tmp/echod.conf" "module_dir = \"$moddir\"; modules = ( \"$examples/swapcase.so\", \"caesar.so\" );" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "swapcase"; }
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = ( "swapcase", { name = "caesar"; shift = 1; } ); }
CONF
start_echod "$tmp/echod.conf"
expect_eq "$("$ECHOD_TCP" -m 'Hello, World' 127.0.0.1 "$p")" "hELLO, wORLD" \
    "the student's module answers"
expect_eq "$("$ECHOD_UDP" -m 'Hello' 127.0.0.1 "$p")" "iFMMP" \
    "chained with an installed module"
stop_echod
