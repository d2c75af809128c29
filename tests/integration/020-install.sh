#!/bin/sh
# The installed tree: `make install` into a temporary DESTDIR puts every
# file where the issue says; the installed echod, clients and modules
# run and answer; the installed examples/ builds, as a student would,
# with the installed header and echod.pc, and loads; a second install
# keeps an admin's changed config (the new sample goes beside it); and
# uninstall removes everything but that config.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

for tool in make cc pkg-config; do
	command -v "$tool" > /dev/null || skip "$tool is not installed"
done
# installdir NAME: where configure said NAME is, from "sbindir=... ...".
installdir() { echo "$INSTALL_DIRS" | tr ' ' '\n' | sed -n "s|^$1=||p"; }
sbindir=$(installdir sbindir)
bindir=$(installdir bindir)
sysconfdir=$(installdir sysconfdir)
pkglibdir=$(installdir pkglibdir)
includedir=$(installdir includedir)
libdir=$(installdir libdir)
mandir=$(installdir mandir)
docdir=$(installdir docdir)
unitdir=$(installdir unitdir)
[ -n "$sbindir$unitdir" ] || fail "no directories in INSTALL_DIRS"
dest=$tmp/root
# A make of its own, not a part of the one running the tests.
install_tree() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$TOP_BUILDDIR" \
	    "$1" DESTDIR="$dest" > "$tmp/$1.log" 2>&1 ||
	    { tail -n 20 "$tmp/$1.log" >&2; fail "make $1"; }
}
install_tree install
ok "make install DESTDIR=..."

for f in "$sbindir/echod" "$bindir/echod-tcp" "$bindir/echod-udp" \
    "$bindir/echod-bench" "$sysconfdir/echod/echod.conf" \
    "$pkglibdir/caesar.so" "$pkglibdir/reverse.so" \
    "$includedir/echod/transform.h" "$libdir/pkgconfig/echod.pc" \
    "$mandir/man1/echod-tcp.1" "$mandir/man1/echod-udp.1" \
    "$mandir/man1/echod-bench.1" "$mandir/man3/echod-transform.3" \
    "$mandir/man5/echod.conf.5" "$mandir/man8/echod.8" \
    "$docdir/examples/swapcase.c" "$docdir/examples/Makefile" \
    "$unitdir/echod.service" "$unitdir/echod-socket.service" \
    "$unitdir/echod.socket"; do
	[ -f "$dest$f" ] || fail "not installed: $f"
done
ok "every file is where configure said"
expect_eq "$(find "$dest$pkglibdir" -name '*.la' | wc -l)" 0 "no libtool archives installed"
cmp -s "$dest$sysconfdir/echod/echod.conf" "$TOP_SRCDIR/etc/echod.conf" ||
    fail "the installed config is not the sample"
expect_match "$dest$unitdir/echod.service" "ExecStart=$sbindir/echod -f $sysconfdir/echod/echod.conf" "the unit runs the installed echod on the installed config"

# The installed sample, with the installed modules, checks out.
conf=$tmp/installed.conf
{ echo "module_dir = \"$dest$pkglibdir\";"; cat "$dest$sysconfdir/echod/echod.conf"; } > "$conf"
"$dest$sbindir/echod" -t -f "$conf" > "$tmp/t.log" 2>&1 ||
    { cat "$tmp/t.log" >&2; fail "the installed echod -t on the installed sample"; }
ok "installed echod -t: the installed sample and modules check out"

# The installed header and echod.pc build the installed example.
PKG_CONFIG_PATH=$dest$libdir/pkgconfig
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
expect_eq "$(pkg-config --cflags echod | sed 's/ *$//')" "-I$dest$includedir" \
    "pkg-config --cflags echod names the installed header's directory"
moddir=$(pkg-config --variable=moduledir echod)
# pkgconf puts the sysroot before variables too; pkg-config 0.29 did not.
case $moddir in "$dest"/*) ;; *) moddir=$dest$moddir ;; esac
expect_eq "$moddir" "$dest$pkglibdir" "echod.pc's moduledir is where the modules are"
examples=$dest$docdir/examples
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$examples" > "$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; fail "the example does not build"; }
expect_match "$tmp/build.log" "pkg-config --cflags echod" "the installed example builds with pkg-config"

# The installed daemon and clients, serving the student's module and
# an installed one.
p=$(free_port)
write_conf "$tmp/echod.conf" "module_dir = \"$moddir\"; modules = ( \"$examples/swapcase.so\", \"caesar.so\" );" <<CONF
{ protocol = "tcp"; address = "127.0.0.1"; port = $p; transform = "swapcase"; }
{ protocol = "udp"; address = "127.0.0.1"; port = $p; transform = ( "swapcase", { name = "caesar"; shift = 1; } ); }
CONF
ECHOD=$dest$sbindir/echod
start_echod "$tmp/echod.conf"
expect_eq "$("$dest$bindir/echod-tcp" -m 'Hello, World' 127.0.0.1 "$p")" "hELLO, wORLD" \
    "installed echod-tcp to installed echod: the student's module answers"
expect_eq "$("$dest$bindir/echod-udp" -m 'Hello' 127.0.0.1 "$p")" "iFMMP" \
    "installed echod-udp: chained with an installed module"
stop_echod

# An admin's changed config survives a second install.
echo "# changed by the admin" >> "$dest$sysconfdir/echod/echod.conf"
install_tree install
grep -q "changed by the admin" "$dest$sysconfdir/echod/echod.conf" ||
    fail "a second install overwrote the config"
cmp -s "$dest$sysconfdir/echod/echod.conf.dist" "$TOP_SRCDIR/etc/echod.conf" ||
    fail "no echod.conf.dist beside the kept config"
ok "a second install keeps the changed config, the sample beside it"

# Uninstall leaves the changed config alone, and nothing else.
rm -f "$examples/swapcase.so"
install_tree uninstall
left=$(find "$dest" -type f | sed "s|^$dest||")
expect_eq "$left" "$sysconfdir/echod/echod.conf" "make uninstall leaves only the changed config"
