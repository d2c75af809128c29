#!/bin/sh
# The class console in a real browser: console_browser.py drives headless
# Chromium (Selenium) against echod's console.  The student page shows
# the viewer's own messages and never another address's; the instructor
# page shows them all and the scoreboard; a message of markup is shown
# as text, never run; /class is refused to a student; every answer has
# the browser-safety headers; 1,200 messages leave the newest 1,000; a
# page reconnects after a reload restarts the console, and goes on
# where it was.  Its screenshots are kept beside this
# test's log, in 037-console-browser.shots/ of the build's
# tests/integration/.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

[ "${HAVE_HTTP:-yes}" = yes ] || skip "built without libmicrohttpd: no console to serve"
# A python3 with Selenium: Debian's, not a python3 that PATH may put first.
py=
for c in python3 /usr/bin/python3; do
	if "$c" -c 'import selenium' > /dev/null 2>&1; then
		py=$c
		break
	fi
done
[ -n "$py" ] || skip "no python3 with Selenium (Debian: python3-selenium)"
command -v chromium > /dev/null 2>&1 || skip "chromium is not installed"
[ -x /usr/bin/chromedriver ] || skip "no /usr/bin/chromedriver (Debian: chromium-driver)"

shots="${TOP_BUILDDIR:-.}/tests/integration/037-console-browser.shots"
rm -rf "$shots"
mkdir -p "$shots" || fail "cannot make $shots"

chmod 755 "$tmp" # echod reads its config again as nobody (test 7's reload)
c=$(free_port)
u=$(free_port)
t=$(free_port)
# instructors: 127.0.0.1 alone, not the loopback default, so that
# 127.0.0.3 is a student (console_browser.py's test 4).
write_conf "$tmp/echod.conf" "udp_rate = 0; log_rate = 0;
console = { address = \"127.0.0.1\"; port = $c; instructors = ( \"127.0.0.1\" ); history = 1000; };" <<CONF
{ protocol = "udp"; address = "127.0.0.1"; port = $u; transform = "upper"; log_messages = true; }
{ protocol = "tcp"; address = "127.0.0.1"; port = $t; transform = "rot13"; log_messages = true; }
CONF
start_echod "$tmp/echod.conf"

# Its every wait is bounded by --timeout (60 s here: a browser on a busy
# machine); timeout(1) only guards against a browser that hangs itself.
timeout -k 10 600 "$py" "$TOP_SRCDIR/tests/integration/console_browser.py" \
    --console-port "$c" --udp-port "$u" --tcp-port "$t" \
    --echod-pid "$echod_pid" --conf "$tmp/echod.conf" --log "$tmp/echod.log" \
    --shots "$shots" --timeout 60 > "$tmp/browser.out" 2>&1
status=$?
cat "$tmp/browser.out"
[ "$status" -eq 0 ] || fail "the console in the browser: console_browser.py exited $status (screenshots in $shots)"
ok "the console in headless Chromium: $(grep -c '^ok ' "$tmp/browser.out") tests (screenshots in $shots)"
for f in student class markup; do
	[ -s "$shots/$f.png" ] || fail "no screenshot $shots/$f.png"
done
ok "screenshots kept: student.png, class.png, markup.png"

echod_alive
stop_echod
