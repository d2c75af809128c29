#!/usr/bin/python3
"""The class console in a real browser: headless Chromium under Selenium.

    console_browser.py --console-port P --udp-port U --tcp-port T \\
        --shots DIR [--timeout 60]

037-console-browser.sh runs it against a real echod.  That echod must
listen on 127.0.0.1 only, with exactly this (the tests below rely on it):
  - console = { address = "127.0.0.1"; port = P;
                instructors = ( "127.0.0.1" ); history = 1000; };
    instructors must be 127.0.0.1 alone, not the loopback default
    (127.0.0.0/8 and ::1): test 4 needs 127.0.0.3 to be a student;
  - a udp listener on 127.0.0.1:U, transform "upper", log_messages = true;
  - a tcp listener on 127.0.0.1:T, transform "rot13", log_messages = true;
  - nothing else sending it messages while this runs.

The contract tested is console-spec.md (URLs, SSE events, element ids
and classes).  The tests, each printing "ok N - name" or
"not ok N - name: reason" (the exit status is 1 if any failed):
  1. the student page (/) shows the viewer's own messages, UDP and TCP,
     with their replies, newest first, and never another address's;
  2. the instructor page (/class) shows every message and the scoreboard;
  3. markup in a message is shown as text, never run or parsed, and
     escaped bytes (\\xNN) are shown as echod escapes them;
  4. /class, /class/events and /class/listeners are 403 from a student
     address (127.0.0.3), / is 200 there;
  5. the browser-safety headers on every answer, the content types, and
     the hello event of each event stream.
Every wait polls every 0.2 s up to --timeout; nothing asserts on time.
Screenshots go to DIR: student.png, class.png, markup.png, and
failure-N.png for a failed test N in the browser (1 to 3), whose
page's #status and #messages are printed too, as "# " lines.

Needs the Debian packages python3-selenium, chromium and chromium-driver,
and so Debian's python3 (/usr/bin/python3), not another first on PATH.
"""

import argparse
import http.client
import json
import os
import re
import secrets
import signal
import socket
import sys
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException,
                                        NoSuchElementException,
                                        UnexpectedAlertPresentException,
                                        WebDriverException)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

HOST = "127.0.0.1"
STRANGER = "127.0.0.2"  # sends one message the student page must not show
STUDENT = "127.0.0.3"   # not an instructor: /class is refused to it
SAFETY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
POLL = 0.2

# Every row of table#messages, top to bottom, read in one call so that a
# row the page adds or removes meanwhile cannot make a read go stale.
# textContent, not Selenium's rendered text: the exact characters.
ROWS_JS = """
return Array.from(document.querySelectorAll('table#messages > tbody > tr.msg'))
  .map(function (tr) {
    function cell(c) {
      var td = tr.querySelector('td.' + c);
      return td ? td.textContent : null;
    }
    return {id: tr.getAttribute('data-id'), time: cell('time'),
            listener: cell('listener'), transform: cell('transform'),
            from: cell('from'), message: cell('message'), reply: cell('reply')};
  });
"""

SCOREBOARD_JS = """
return Array.from(document.querySelectorAll('table#listeners > tbody > tr.listener'))
  .map(function (tr) {
    function cell(c) {
      var td = tr.querySelector('td.' + c);
      return td ? td.textContent : null;
    }
    return {key: tr.getAttribute('data-listener'), listener: cell('listener'),
            transform: cell('transform'), messages: cell('messages'),
            clients: cell('clients'), addresses: cell('addresses')};
  });
"""

TEXT_JS = """
var e = document.getElementById(arguments[0]);
return e ? e.textContent : null;
"""


class Failure(Exception):
    """A test's assertion that did not hold."""


def check(cond, what):
    if not cond:
        raise Failure(what)


def wait_until(timeout, probe, what):
    """Call probe() every POLL s until it returns (True, value), at most
    timeout s; then fail with what and the last thing probe saw."""
    deadline = time.monotonic() + timeout
    while True:
        done, seen = probe()
        if done:
            return seen
        if time.monotonic() >= deadline:
            raise Failure("%s (after %g s; last seen: %s)" % (what, timeout, seen))
        time.sleep(POLL)


# The transforms, as oracles independent of echod: ASCII letters only.
def upper(data):
    return data.upper()  # bytes.upper changes a-z only


ROT13 = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    b"NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm")


def rot13(data):
    return data.translate(ROT13)


class Sent:
    """One message sent to echod, and how its row must read."""

    def __init__(self, proto, port, transform, src, src_port, text):
        self.proto = proto
        self.port = port
        self.transform = transform
        self.src = src
        self.src_port = src_port
        self.text = text

    @property
    def listener(self):
        return "%s %s:%d" % (self.proto, HOST, self.port)

    @property
    def sender(self):
        return "%s:%d" % (self.src, self.src_port)

    @property
    def reply(self):
        return (upper if self.transform == "upper" else rot13)(
            self.text.encode()).decode()

    def __repr__(self):
        return "%s from %s: %r" % (self.listener, self.sender, self.text)


def send_udp(args, src, data):
    """One datagram from src to the udp listener; its reply and the
    client's port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(args.timeout)
        s.bind((src, 0))
        s.sendto(data, (HOST, args.udp_port))
        try:
            reply, peer = s.recvfrom(65536)
        except socket.timeout:
            raise Failure("no udp reply from %s:%d to %r within %g s"
                          % (HOST, args.udp_port, data, args.timeout))
        check(peer == (HOST, args.udp_port), "udp reply from %s" % (peer,))
        return reply, s.getsockname()[1]


def send_tcp(args, src, data):
    """data on one connection from src to the tcp listener, half-closed;
    everything read back until EOF, and the client's port."""
    with socket.create_connection((HOST, args.tcp_port), timeout=args.timeout,
                                  source_address=(src, 0)) as s:
        port = s.getsockname()[1]
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                raise Failure("tcp reply to %r: no EOF within %g s, got %r"
                              % (data, args.timeout, reply))
            if not b:
                return reply, port
            reply += b


def exchange(args, proto, src, text):
    """Send text, check the reply is its transform, return a Sent."""
    data = text.encode()
    if proto == "udp":
        reply, port = send_udp(args, src, data)
        sent = Sent("udp", args.udp_port, "upper", src, port, text)
    else:
        reply, port = send_tcp(args, src, data)
        sent = Sent("tcp", args.tcp_port, "rot13", src, port, text)
    check(reply == sent.reply.encode(),
          "%s reply to %r is %r, not %r" % (proto, text, reply, sent.reply))
    return sent


def unique(what):
    return "%s hello %s" % (what, secrets.token_hex(6))


class Browser:
    """One headless Chromium, quit by close() whatever happens."""

    def __init__(self, args):
        self.args = args
        opts = Options()
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-dev-shm-usage", "--window-size=1400,1000"):
            opts.add_argument(a)
        if os.path.exists("/usr/bin/chromium"):
            opts.binary_location = "/usr/bin/chromium"
        # Leave an alert open for the test to find instead of having
        # chromedriver dismiss it; and keep the console's messages (CSP
        # violations are reported there).
        opts.set_capability("unhandledPromptBehavior", "ignore")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(
            service=Service("/usr/bin/chromedriver"), options=opts)
        self.driver.set_page_load_timeout(args.timeout)
        self.driver.set_script_timeout(args.timeout)

    def close(self):
        try:
            self.driver.quit()
        except Exception as e:  # the report matters more than the quit
            print("# quitting chromedriver: %s" % e)

    def open(self, path):
        self.driver.get("http://%s:%d%s" % (HOST, self.args.console_port, path))

    def js(self, script, *a):
        return self.driver.execute_script(script, *a)

    def text(self, element_id):
        return self.js(TEXT_JS, element_id)

    def rows(self):
        return self.js(ROWS_JS)

    def wait_live(self):
        def probe():
            s = self.text("status")
            return (s is not None and s.strip() == "live"), "#status %r" % s
        wait_until(self.args.timeout, probe, "#status never said live")

    def wait_rows(self, want, what):
        """Until a row matches each Sent in want; those rows, in want's
        order."""
        def probe():
            rows = self.rows()
            found = [find_row(rows, s) for s in want]
            missing = [s for s, r in zip(want, found) if r is None]
            return not missing, ("no row for %s among %d rows"
                                 % (missing, len(rows)))
        wait_until(self.args.timeout, probe, what)
        rows = self.rows()
        return rows, [find_row(rows, s) for s in want]

    def no_alert(self):
        try:
            alert = self.driver.switch_to.alert
        except NoAlertPresentException:
            return
        text = alert.text
        alert.accept()
        raise Failure("an alert is open: %r" % text)

    def csp_violations(self):
        """What the page's console said about the Content Security
        Policy since the last call."""
        try:
            log = self.driver.get_log("browser")
        except WebDriverException as e:
            print("# no browser log: %s" % e)
            return []
        for entry in log:
            if entry.get("level") in ("SEVERE", "WARNING") \
                    and "favicon.ico" not in entry.get("message", ""):
                print("# browser console: %s" % entry.get("message"))
        return [e["message"] for e in log
                if "Content Security Policy" in e.get("message", "")]

    def shot(self, name):
        path = os.path.join(self.args.shots, name)
        try:
            if not self.driver.save_screenshot(path):
                print("# screenshot %s not saved" % path)
        except WebDriverException as e:
            print("# screenshot %s not saved: %s" % (path, e))


def find_row(rows, sent):
    """The index of sent's row: the one from its sender to its listener
    (a client port is not reused in a run this short), the one with its
    text if there are several; None if there is none yet."""
    found = [i for i, r in enumerate(rows)
             if (r["from"] or "").strip() == sent.sender
             and (r["listener"] or "").strip() == sent.listener]
    for i in found:
        if (rows[i]["message"] or "").strip() == sent.text:
            return i
    return found[0] if found else None


def check_row(row, sent):
    """Each cell of row is what sent's message must show."""
    for cell, want in (("listener", sent.listener), ("transform", sent.transform),
                       ("from", sent.sender), ("message", sent.text),
                       ("reply", sent.reply)):
        got = row[cell]
        check(got is not None, "the row of %r has no td.%s" % (sent, cell))
        check(got.strip() == want,
              "the row of %r: td.%s is %r, not %r" % (sent, cell, got, want))
    check(row["id"] and row["id"].isdigit(),
          "the row of %r: data-id is %r" % (sent, row["id"]))


def check_newest_first(rows):
    ids = [int(r["id"]) for r in rows if r["id"] and r["id"].isdigit()]
    check(len(ids) == len(rows), "rows without a numeric data-id: %r"
          % [r["id"] for r in rows])
    check(ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids),
          "rows not newest first by data-id: %s" % ids)


def check_no_csp_violation(browser):
    v = browser.csp_violations()
    check(not v, "the page broke its Content Security Policy: %s" % v)


class Suite:
    def __init__(self, args):
        self.args = args
        self.browser = None
        self.sent = {}  # name -> Sent, shared by tests 1 and 2
        self.failed = 0
        self.n = 0

    def run(self, name, test, in_browser):
        self.n += 1
        try:
            test()
        except Failure as e:
            self.report_failure(name, str(e), in_browser)
        except UnexpectedAlertPresentException as e:
            self.report_failure(name, "an alert opened: %s" % e.alert_text,
                                in_browser)
        except WebDriverException as e:  # its str() has a stack of addresses
            self.report_failure(name, "%s: %s" % (type(e).__name__,
                                                  (e.msg or "").strip()),
                                in_browser)
        except OSError as e:
            self.report_failure(name, "%s: %s" % (type(e).__name__, e),
                                in_browser)
        except Exception as e:  # a bug of this script's: where it is
            for line in traceback.format_exc().rstrip("\n").split("\n"):
                print("# %s" % line)
            self.report_failure(name, "%s: %s" % (type(e).__name__, e),
                                in_browser)
        else:
            print("ok %d - %s" % (self.n, name))
        sys.stdout.flush()

    def report_failure(self, name, reason, in_browser):
        """The test's "not ok" line; for a test in the browser, the page
        too: a screenshot, failure-N.png, and its text."""
        self.failed += 1
        print("not ok %d - %s: %s" % (self.n, name, reason.replace("\n", " ")))
        if self.browser is None or not in_browser:
            return
        b = self.browser
        try:
            b.no_alert()
        except Failure as e:  # an alert blocks the screenshot: close it
            print("# %s" % e)
        except WebDriverException:
            pass
        b.shot("failure-%d.png" % self.n)
        try:
            print("# page: %s" % b.driver.current_url)
            print("# #status: %r" % b.text("status"))
            print("# #messages rows (data-id and the cells' exact text):")
            for r in b.rows()[:30]:
                print("#   %s" % json.dumps(r, ensure_ascii=False, sort_keys=True))
            print("# #messages as shown:")
            text = b.js("var e = document.getElementById('messages');"
                        " return e ? e.innerText : '(no #messages)';")
            for line in text.split("\n")[:40]:
                print("#   %s" % line)
        except WebDriverException as e:
            print("# page text unavailable: %s" % e)

    # Test 1.
    def student_page(self):
        b = self.browser
        b.open("/")
        b.wait_live()
        wait_until(self.args.timeout,
                   lambda: ((b.text("me") or "").strip() == HOST,
                            "#me %r" % b.text("me")),
                   "#me never showed the viewer's address %s" % HOST)
        # Each message once the one before is on the page: echod then
        # has given it its id, so the order to expect is certain.  The
        # stranger's message goes before the last one, so that once the
        # last is shown the stranger's has been through echod too.
        s = self.sent
        s["udp"] = exchange(self.args, "udp", HOST, unique("udp"))
        b.wait_rows([s["udp"]], "the udp message never showed")
        s["stranger"] = exchange(self.args, "udp", STRANGER, unique("stranger"))
        s["tcp"] = exchange(self.args, "tcp", HOST, unique("tcp"))
        rows, (iu, it) = b.wait_rows([s["udp"], s["tcp"]],
                                     "the tcp message never showed")
        check_row(rows[iu], s["udp"])
        check_row(rows[it], s["tcp"])
        check(it < iu, "the tcp message (sent last) is not above the udp one")
        check_newest_first(rows)
        for when in ("once the others showed", "2 s later"):
            if when == "2 s later":
                time.sleep(2)
                rows = b.rows()
            leak = [r for r in rows if r["message"] is not None
                    and r["message"].strip() == s["stranger"].text]
            check(not leak, "%s's message on 127.0.0.1's page, %s: %r"
                  % (STRANGER, when, leak))
            others = [r for r in rows if r["from"] is not None
                      and not r["from"].strip().startswith(HOST + ":")]
            check(not others, "another address's rows on the page, %s: %r"
                  % (when, others))
        try:
            behind = b.driver.find_element(By.ID, "behind")
        except NoSuchElementException:
            raise Failure("no #behind on the page")
        check(not behind.is_displayed(),
              "#behind is shown, nothing was missed: %r" % behind.text)
        check_no_csp_violation(b)
        b.no_alert()
        b.shot("student.png")

    # Test 2.
    def class_page(self):
        b = self.browser
        s = self.sent
        check(all(k in s for k in ("udp", "stranger", "tcp")),
              "test 1 did not send its three messages")
        b.open("/class")
        b.wait_live()
        rows, found = b.wait_rows([s["udp"], s["stranger"], s["tcp"]],
                                  "not every message showed on /class")
        for i, k in zip(found, ("udp", "stranger", "tcp")):
            check_row(rows[i], s[k])
        # The udp message showed before the other two were sent; those
        # two may have taken their ids in either order (two workers).
        check(found[0] > max(found[1], found[2]),
              "the udp message, the oldest, is not below the others: rows %s"
              % found)
        check_newest_first(rows)
        udp, tcp = s["udp"].listener, s["tcp"].listener

        def probe():
            board = {r["key"]: r for r in b.js(SCOREBOARD_JS)}
            bad = scoreboard_problems(board, udp, tcp)
            return not bad, "%s; scoreboard %r" % (bad, board)
        wait_until(self.args.timeout, probe,
                   "the scoreboard (table#listeners) never showed both listeners' counts")
        check_no_csp_violation(b)
        b.no_alert()
        b.shot("class.png")

    # Test 3.
    def markup(self):
        b = self.browser
        b.open("/")
        b.wait_live()
        evil = exchange(self.args, "udp", HOST, "<img src=x onerror=alert(1)>")
        rows, (i,) = b.wait_rows([evil], "the markup message never showed")
        b.no_alert()
        n = b.js("return document.getElementsByTagName('img').length;")
        check(n == 0, "%d img elements in the page" % n)
        check_row(rows[i], evil)
        # Not UTF-8 and a control byte: echod escapes them as \xNN, like
        # its log (upper-case hex there; lower case taken too).
        data = b"caf\xc3\xa9 \x00\xff"
        reply, port = send_udp(self.args, HOST, data)
        check(reply == upper(data), "udp reply to %r is %r" % (data, reply))
        raw = Sent("udp", self.args.udp_port, "upper", HOST, port, repr(data))
        rows, (i,) = b.wait_rows([raw], "the message %r never showed" % data)
        row = rows[i]
        for cell, want in (("message", "café \\x00\\xFF"),
                           ("reply", "CAFé \\x00\\xFF")):
            got = (row[cell] or "").strip()
            check(got in (want, want.replace("\\xFF", "\\xff")),
                  "td.%s of %r is %r, not %r" % (cell, data, got, want))
        check_newest_first(b.rows())
        b.no_alert()
        n = b.js("return document.getElementsByTagName('img').length;")
        check(n == 0, "%d img elements in the page" % n)
        check_no_csp_violation(b)
        b.shot("markup.png")

    # Test 4.
    def refused(self):
        for path in ("/class", "/class/events", "/class/listeners"):
            status, _, _ = request(self.args, STUDENT, path)
            check(status == 403, "GET %s from %s: %d, not 403"
                  % (path, STUDENT, status))
        status, _, body = request(self.args, STUDENT, "/")
        check(status == 200, "GET / from %s: %d, not 200" % (STUDENT, status))
        check(b"console.js" in body, "GET / from %s: no console.js in the page"
              % STUDENT)
        hello = event_stream(self.args, STUDENT, "/events")
        check(hello.get("address") == STUDENT and hello.get("class") is False,
              "/events from %s says hello %r" % (STUDENT, hello))

    # Test 5.
    def headers(self):
        for path, ctype in (("/", "text/html"), ("/class", "text/html"),
                            ("/console.js", "javascript"),
                            ("/console.css", "text/css"),
                            ("/class/listeners", "application/json")):
            status, h, body = request(self.args, HOST, path)
            check(status == 200, "GET %s: %d" % (path, status))
            # nosniff: a script or style sheet of the wrong type is not used.
            check(ctype in h.get("Content-Type", ""),
                  "GET %s: Content-Type %r, expected %s"
                  % (path, h.get("Content-Type"), ctype))
            if path == "/class/listeners":
                check_listeners_json(self.args, body,
                                     "stranger" in self.sent)
        status, _, _ = request(self.args, HOST, "/no-such-page")
        check(status == 404, "GET /no-such-page: %d, not 404" % status)
        hello = event_stream(self.args, HOST, "/events")
        check(hello.get("address") == HOST and hello.get("class") is False
              and hello.get("history") == 1000,
              "/events says hello %r" % (hello,))
        hello = event_stream(self.args, HOST, "/class/events")
        check(hello.get("address") == HOST and hello.get("class") is True,
              "/class/events says hello %r" % (hello,))

    # Test 6: the page stays usable at 1,000 messages and more.
    def thousand(self):
        b = self.browser
        b.open("/class")
        b.wait_live()
        tag = unique("many")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((HOST, 0))
        s.settimeout(10)
        for i in range(1200):
            s.sendto(("%s %04d" % (tag, i)).encode(), (HOST, self.args.udp_port))
            s.recv(2048)
        s.close()
        last = "%s %04d" % (tag, 1199)

        def probe():
            rows = b.rows()
            top = (rows[0].get("message") or "").strip() if rows else None
            return (len(rows) == 1000 and top == last,
                    "%d rows, the first %r" % (len(rows), top))
        wait_until(self.args.timeout, probe,
                   "1,200 messages did not leave 1,000 rows, newest first")
        rows = b.rows()
        msgs = [(r.get("message") or "").strip() for r in rows]
        want = ["%s %04d" % (tag, i) for i in range(1199, 199, -1)]
        check(msgs == want, "the 1,000 rows are not the newest 1,000 of "
              "1,200, newest first")
        check_no_csp_violation(b)
        b.shot("thousand.png")

    # Test 7: a reload that restarts the console (new limits) ends the
    # page's stream; the browser reconnects by itself with Last-Event-ID
    # and goes on where it was: no message twice, none lost.
    def reconnect(self):
        b = self.browser
        a = self.args
        b.open("/")
        b.wait_live()
        before = exchange(a, "udp", HOST, unique("before reload"))
        b.wait_rows([before], "the message before the reload never showed")
        with open(a.conf) as f:
            text = f.read()
        check("history = 1000;" in text, "no history setting to follow")
        with open(a.conf, "w") as f:
            f.write(text.replace("history = 1000;",
                                 "history = 1000; max_viewers_per_ip = 15;"))
        with open(a.log) as f:
            opened = f.read().count("console on http://")
        os.kill(a.echod_pid, signal.SIGHUP)

        def restarted():
            with open(a.log) as f:
                n = f.read().count("console on http://")
            return n > opened, "%d console announcements" % n
        wait_until(a.timeout, restarted, "the reload did not restart the console")
        after = exchange(a, "udp", HOST, unique("after reload"))
        rows, _ = b.wait_rows([after], "the message after the reload never "
                              "showed: the page did not reconnect")
        b.wait_live()
        for sent in (before, after):
            n = sum(1 for r in b.rows() if (r["message"] or "").strip() == sent.text)
            check(n == 1, "%r is on the page %d times" % (sent.text, n))
        check_newest_first(b.rows())
        check_no_csp_violation(b)

    def main(self):
        # (name, test, whether it runs in the browser)
        tests = [("the student page", self.student_page, True),
                 ("the instructor page", self.class_page, True),
                 ("markup is shown as text", self.markup, True),
                 ("/class is refused to a student", self.refused, False),
                 ("the safety headers and the event streams", self.headers,
                  False),
                 ("1,200 messages leave the newest 1,000", self.thousand,
                  True),
                 ("a page goes on where it was after a restart of the "
                  "console", self.reconnect, True)]
        print("1..%d" % len(tests))
        sys.stdout.flush()
        try:
            self.browser = Browser(self.args)
        except WebDriverException as e:
            print("# chromium did not start: %s" % e)
        try:
            for name, test, in_browser in tests:
                if in_browser and self.browser is None:
                    self.n += 1
                    self.failed += 1
                    print("not ok %d - %s: no browser" % (self.n, name))
                    continue
                self.run(name, test, in_browser)
        finally:
            if self.browser is not None:
                self.browser.close()
        return 1 if self.failed else 0


def scoreboard_problems(board, udp, tcp):
    """What is wrong with the scoreboard, or ""."""
    want = {udp: (2, 2, (HOST, STRANGER)), tcp: (1, 1, (HOST,))}
    for key, (messages, clients, addresses) in want.items():
        row = board.get(key)
        if row is None:
            return "no tr.listener with data-listener %r" % key
        if (row["listener"] or "").strip() != key:
            return "%s: td.listener is %r" % (key, row["listener"])
        for cell, least in (("messages", messages), ("clients", clients)):
            v = (row[cell] or "").strip()
            if not v.isdigit() or int(v) < least:
                return "%s: td.%s is %r, expected %d or more" % (key, cell, v, least)
        # Comma-separated; an item may carry more after the address
        # ("127.0.0.1 (2)").
        items = [re.split(r"[\s(]", a.strip(), 1)[0]
                 for a in (row["addresses"] or "").split(",")]
        for a in addresses:
            if a not in items:
                return "%s: %s not in td.addresses %r" % (key, a, row["addresses"])
    return ""


def check_listeners_json(args, body, counts_known):
    """/class/listeners: JSON with a listeners list; if test 1 sent its
    messages, both listeners, sorted by protocol, address and port, and
    the udp one counts them."""
    try:
        listeners = json.loads(body)["listeners"]
        got = [(l["listener"], l["protocol"], l["address"], l["port"],
                l["transform"]) for l in listeners]
        counts = {l["listener"]: (l["messages"], l["clients"],
                                  [a["address"] for a in l["addresses"]])
                  for l in listeners}
    except (ValueError, KeyError, TypeError) as e:
        raise Failure("/class/listeners: not the JSON of the spec (%s): %r"
                      % (e, body[:500]))
    if not counts_known:  # a listener without messages may be left out
        return
    tcp = "tcp %s:%d" % (HOST, args.tcp_port)
    udp = "udp %s:%d" % (HOST, args.udp_port)
    want = [(tcp, "tcp", HOST, args.tcp_port, "rot13"),
            (udp, "udp", HOST, args.udp_port, "upper")]
    check(got == want, "/class/listeners lists %r, not %r (sorted by"
          " protocol, address, port)" % (got, want))
    messages, clients, addresses = counts[udp]
    check(messages >= 2 and clients >= 2 and HOST in addresses
          and STRANGER in addresses,
          "/class/listeners: %s has %r" % (udp, counts[udp]))


def request(args, src, path):
    """GET path from source address src: status, headers and body; the
    safety headers must be on the answer whatever its status."""
    conn = http.client.HTTPConnection(HOST, args.console_port,
                                      timeout=args.timeout,
                                      source_address=(src, 0))
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        if resp.getheader("Content-Type", "").startswith("text/event-stream"):
            body = b""  # a stream has no end to wait for
        else:
            body = resp.read()
        check_safety_headers(resp, "GET %s from %s" % (path, src))
        return resp.status, resp.headers, body
    finally:
        conn.close()


def check_safety_headers(resp, what):
    for name, want in SAFETY_HEADERS.items():
        got = resp.getheader(name)
        check(got is not None and got.strip() == want,
              "%s (%d): %s is %r, not %r" % (what, resp.status, name, got, want))


def event_stream(args, src, path):
    """The headers of an event stream and its first event, which must be
    hello; its data, decoded."""
    conn = http.client.HTTPConnection(HOST, args.console_port,
                                      timeout=min(args.timeout, 10),
                                      source_address=(src, 0))
    try:
        conn.request("GET", path, headers={"Accept": "text/event-stream"})
        resp = conn.getresponse()
        what = "GET %s from %s" % (path, src)
        check(resp.status == 200, "%s: %d" % (what, resp.status))
        check_safety_headers(resp, what)
        ctype = resp.getheader("Content-Type", "")
        check(ctype.split(";")[0].strip() == "text/event-stream",
              "%s: Content-Type %r" % (what, ctype))
        event, data = None, []
        try:
            while True:
                line = resp.readline()
                check(line, "%s: the stream ended before an event" % what)
                line = line.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if event is not None or data:
                        break
                    continue
                if line.startswith(":"):
                    continue  # a comment, a heartbeat
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
        except socket.timeout:
            raise Failure("%s: no whole event within %g s"
                          % (what, min(args.timeout, 10)))
        check(event == "hello", "%s: first event %r, not hello" % (what, event))
        return json.loads("\n".join(data))
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--console-port", type=int, required=True)
    p.add_argument("--udp-port", type=int, required=True)
    p.add_argument("--tcp-port", type=int, required=True)
    p.add_argument("--echod-pid", type=int, required=True,
                   help="echod's, for a reload (test 7)")
    p.add_argument("--conf", required=True, help="echod's config file")
    p.add_argument("--log", required=True, help="echod's log")
    p.add_argument("--shots", required=True,
                   help="directory for the screenshots")
    p.add_argument("--timeout", type=float, default=60,
                   help="longest wait for anything, in seconds")
    args = p.parse_args()
    os.makedirs(args.shots, exist_ok=True)
    return Suite(args).main()


if __name__ == "__main__":
    sys.exit(main())
