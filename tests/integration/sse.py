"""sse.py: a console client for the integration tests, on plain sockets.

A stream is opened with an HTTP/1.0 GET, so that the body comes as it
is, not in chunks, and its Server-Sent Events are read with a bounded
wait.  Also: one datagram or one TCP message sent from a chosen
loopback address, with its reply, and a plain GET.
"""
import json
import socket
import time

HEADERS = {
    "content-security-policy": "default-src 'self'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
}


class Closed(Exception):
    """The server closed the stream (EOF or a reset)."""


def read_all(s):
    """Everything until EOF; a reset ends it too."""
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return got
            got += b
    except ConnectionResetError:
        return got


def parse_head(head):
    """An answer's status line and headers: (status, {name: value})."""
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split(" ")[1]), headers


class Stream:
    def __init__(self, port, path="/events", source="127.0.0.1",
                 last_id=None, timeout=30):
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=timeout,
            source_address=(source, 0))
        req = "GET %s HTTP/1.0\r\nAccept: text/event-stream\r\n" % path
        if last_id is not None:
            req += "Last-Event-ID: %s\r\n" % last_id
        self.sock.sendall((req + "\r\n").encode())
        self.buf = b""
        self.status, self.headers = parse_head(
            self._until(b"\r\n\r\n", timeout))

    def _until(self, mark, timeout):
        deadline = time.monotonic() + timeout
        while mark not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("nothing for %.0f s" % timeout)
            self.sock.settimeout(left)
            try:
                b = self.sock.recv(65536)
            except ConnectionResetError:
                b = b""
            if not b:
                raise Closed()
            self.buf += b
        out, _, self.buf = self.buf.partition(mark)
        return out

    def event(self, timeout=30):
        """The next event or comment: a dict of its fields ("comment"
        for a comment line), data decoded from JSON if it is."""
        block = self._until(b"\n\n", timeout).decode("utf-8")
        ev = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                ev["comment"] = line[1:].strip()
                continue
            k, _, v = line.partition(":")
            ev[k] = v[1:] if v.startswith(" ") else v
        if "data" in ev:
            ev["data"] = json.loads(ev["data"])
        return ev

    def messages(self, n, timeout=30):
        """The next n message events' data, skipping anything else."""
        out, deadline = [], time.monotonic() + timeout
        while len(out) < n:
            ev = self.event(max(0.1, deadline - time.monotonic()))
            if ev.get("event") == "message":
                out.append(ev["data"])
        return out

    def quiet(self, seconds):
        """Message events that come within seconds (none expected)."""
        out, deadline = [], time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            try:
                ev = self.event(left)
            except TimeoutError:
                return out
            if ev.get("event") == "message":
                out.append(ev["data"])

    def close(self):
        self.sock.close()


def udp(port, text, source="127.0.0.1"):
    """Send text from source; (the reply, the source port)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.settimeout(10)
    s.sendto(text, ("127.0.0.1", port))
    reply = s.recv(65536)
    sport = s.getsockname()[1]
    s.close()
    return reply, sport


def tcp(port, text, source="127.0.0.1"):
    """Send text from source, shut down, read to EOF; (reply, port)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                 source_address=(source, 0))
    sport = s.getsockname()[1]
    s.sendall(text)
    s.shutdown(socket.SHUT_WR)
    got = read_all(s)
    s.close()
    return got, sport


def get(port, path, source="127.0.0.1"):
    """A plain GET: (status, headers, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20,
                                 source_address=(source, 0))
    s.sendall(("GET %s HTTP/1.0\r\n\r\n" % path).encode())
    head, _, body = read_all(s).partition(b"\r\n\r\n")
    s.close()
    return parse_head(head) + (body,)


def check_headers(headers, what):
    for k, v in HEADERS.items():
        assert headers.get(k) == v, "%s: %s is %r" % (what, k, headers.get(k))
