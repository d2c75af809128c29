#!/bin/sh
# The manual pages: mandoc -Tlint finds nothing in any of them (but the
# cross-references to echod's own pages, which are not installed while
# the tests run), and every option the programs' usage lists has its
# entry.  That every config setting is in echod.conf(5) is checked by
# check_echod (test_man_page), which knows the code's tables.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

command -v mandoc > /dev/null 2>&1 || skip "mandoc is not installed"
man="$TOP_SRCDIR/man"
ours='echod|echod-tcp|echod-udp|echod-bench|echod-transform|echod\.conf'
n=0
for page in "$man"/*.[1-8]; do
	mandoc -Tlint "$page" > "$tmp/lint" 2>&1
	grep -Ev "referenced manual not found: Xr ($ours) [1-8]" "$tmp/lint" > "$tmp/left" || true
	[ -s "$tmp/left" ] && { cat "$tmp/left" >&2; fail "mandoc -Tlint: ${page##*/}"; }
	n=$((n + 1))
done
[ "$n" -ge 6 ] || fail "only $n pages in $man"
ok "mandoc -Tlint: nothing to say about $n pages"

# options PROGRAM PAGE: each "  -X" line of PROGRAM -h is ".It Fl X" in PAGE.
options() {
	"$1" -h > "$tmp/usage" || fail "$1 -h failed"
	letters=$(sed -n 's/^  *-\([A-Za-z0-9]\).*/\1/p' "$tmp/usage")
	[ -n "$letters" ] || fail "no options in $1 -h"
	for x in $letters; do
		grep -q "^\.It Fl $x\( \|$\)" "$man/$2" ||
		    fail "$2: no entry for -$x"
	done
	ok "$2: every option of ${1##*/} -h ($(echo "$letters" | tr -d '\n'))"
}
options "$ECHOD" echod.8
options "$ECHOD_TCP" echod-tcp.1
options "$ECHOD_UDP" echod-udp.1
