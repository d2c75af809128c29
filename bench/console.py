#!/usr/bin/env python3
"""bench/console.py: a class's worth of console viewers and messages.

bench/run runs it beside echod to measure what the class console costs.
It opens VIEWERS Server-Sent-Events streams on echod's console (a few of
/class/events, the instructors' pages, which see every message, and the
rest /events, one student each, from an address of its own, 127.2.x.y,
so that max_viewers_per_ip is never what limits them), then sends RATE
datagrams a second to a UDP listener with log_messages, each from one
student's address in turn, so that each student's page gets its own
messages and every instructor's page all of them.  Each message carries
its number; the time from its reply's arrival to its event's arrival
at each viewer that should show it is one latency sample.

It reads echod's VmRSS before the viewers open, once they are all open
(before any message), and at the end, and asks ss(8) for the kernel's
buffers of echod's side of the viewers' sockets, which VmRSS leaves out.

It prints "console.py: ready" on standard error once the messages flow,
runs until SIGTERM, SIGINT or --duration, waits up to --drain seconds
for the last events, and prints one JSON object on standard output.
Everything is on loopback.  Python's standard library only.
"""

import argparse
import json
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

MESSAGE = re.compile(rb'"message":"m(\d+) ')
BEHIND = re.compile(rb'event: behind\ndata: \{"missed":(\d+)\}')


def say(text):
    print("console.py: " + text, file=sys.stderr, flush=True)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for %d" % pid)


def student_address(i):
    """The i-th student's own address: 127.2.0.1, 127.2.0.2, ..."""
    return "127.2.%d.%d" % (i // 250, i % 250 + 1)


def instructor_address(i):
    return "127.3.%d.%d" % (i // 250, i % 250 + 1)


def socket_buffers(port):
    """echod's side of the established connections on the console's
    port, as ss -m shows them: how many, and the sums of what each has
    allocated (r: receive queue, w: send queue, f: reserved ahead) and
    of its limits (rb, tb).  None if ss is missing or says nothing."""
    try:
        out = subprocess.run(
            ["ss", "-Htnm", "state", "established",
             "( sport = :%d )" % port],
            capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    sums = {"sockets": 0, "r": 0, "w": 0, "f": 0, "rb": 0, "tb": 0}
    for m in re.finditer(r"skmem:\(([^)]*)\)", out):
        fields = dict(re.match(r"([a-z]+)(\d+)", kv).groups()
                      for kv in m.group(1).split(","))
        sums["sockets"] += 1
        for k in ("r", "w", "f", "rb", "tb"):
            sums[k] += int(fields.get(k, 0))
    return sums if sums["sockets"] > 0 else None


def slab_bytes_per_socket():
    """The kernel's objects behind one TCP connection's descriptor in a
    process, by their slab sizes (the socket, its inode, the open file,
    the dentry, an epoll entry); None if /proc/slabinfo is closed."""
    names = ("TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi")
    sizes = {}
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                w = line.split()
                if w and w[0] in names:
                    sizes[w[0]] = int(w[3])
    except OSError:
        return None
    return sum(sizes.values()) if len(sizes) == len(names) else None


def percentile(sorted_values, p):
    """Nearest rank: the smallest value with p% of them at or below."""
    if not sorted_values:
        return None
    k = max(0, -(-len(sorted_values) * p // 100) - 1)
    return sorted_values[int(k)]


class Viewer:
    """One SSE stream: its socket, what it has read, what it has seen."""

    def __init__(self, address, path):
        self.address = address
        self.path = path
        self.sock = None
        self.pending = b""
        self.greeted = False
        self.closed = False


class Bench:
    def __init__(self, args):
        self.args = args
        self.sel = selectors.DefaultSelector()
        self.viewers = []
        self.senders = []
        self.stop = False
        self.replies = {}        # message number: when its reply came
        self.samples = []        # (number, when the event came, is class)
        self.sent = 0
        self.expected = 0        # events owed for the replies seen
        self.behind = [0, 0]     # notices to students, to instructors
        self.missed = [0, 0]     # the messages they said were missed
        self.closed = 0
        self.wrong_replies = 0
        self.kernel_load = None
        self.sampler = None

    # --- Viewers ------------------------------------------------------

    def connect(self, v):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((v.address, 0))
        s.connect_ex((self.args.host, self.args.console))
        v.sock = s
        self.sel.register(s, selectors.EVENT_WRITE, v)

    def viewer_writable(self, v):
        err = v.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err != 0:
            raise RuntimeError("viewer %s: connect: %s"
                               % (v.address, os.strerror(err)))
        # HTTP/1.0: the stream ends with the connection, no chunks.
        v.sock.send(("GET %s HTTP/1.0\r\n\r\n" % v.path).encode())
        self.sel.modify(v.sock, selectors.EVENT_READ, v)

    def viewer_readable(self, v, now):
        try:
            data = v.sock.recv(262144)
        except ConnectionError:
            data = b""
        if not data:
            v.closed = True
            self.closed += 1
            self.sel.unregister(v.sock)
            v.sock.close()
            return
        buf = v.pending + data
        if not v.greeted and b"\r\n" in buf and \
                not re.match(rb"HTTP/1\.[01] 200 ", buf):
            raise RuntimeError("viewer %s: %s refused: %r"
                               % (v.address, v.path, buf[:80]))
        end = buf.rfind(b"\n\n")
        if end < 0:
            v.pending = buf
            return
        chunk, v.pending = buf[:end + 2], buf[end + 2:]
        if not v.greeted:
            if b"event: hello" not in chunk:
                v.pending = chunk + v.pending
                return
            v.greeted = True
        is_class = v.path == "/class/events"
        for m in MESSAGE.finditer(chunk):
            self.samples.append((int(m.group(1)), now, is_class))
        for m in BEHIND.finditer(chunk):
            self.behind[is_class] += 1
            self.missed[is_class] += int(m.group(1))

    def open_viewers(self):
        a = self.args
        for i in range(a.viewers):
            if i < a.class_viewers:
                self.viewers.append(Viewer(instructor_address(i),
                                           "/class/events"))
            else:
                self.viewers.append(Viewer(
                    student_address(i - a.class_viewers), "/events"))
        # A few at a time: a burst of handshakes beyond the listening
        # socket's backlog would be dropped and retried a second later.
        todo = list(self.viewers)
        waiting = 0
        deadline = time.monotonic() + 60
        while True:
            while todo and waiting < 64:
                self.connect(todo.pop(0))
                waiting += 1
            if not todo and all(v.greeted for v in self.viewers):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("%d of %d viewers opened in 60 s"
                                   % (sum(v.greeted for v in self.viewers),
                                      len(self.viewers)))
            for key, ev in self.sel.select(0.5):
                v = key.data
                if ev & selectors.EVENT_WRITE:
                    self.viewer_writable(v)
                else:
                    was = v.greeted
                    self.viewer_readable(v, time.monotonic())
                    if v.closed:
                        raise RuntimeError("viewer %s: closed while "
                                           "opening" % v.address)
                    if v.greeted and not was:
                        waiting -= 1

    # --- Messages -----------------------------------------------------

    def open_senders(self):
        a = self.args
        n = a.senders or max(a.viewers - a.class_viewers, 0) or 1000
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.bind((student_address(i), 0))
            s.connect((a.host, a.udp))
            self.senders.append(s)
            self.sel.register(s, selectors.EVENT_READ, None)

    def send(self):
        # Long enough to look like a student's line, short of RING_TEXT.
        n = self.sent
        self.senders[n % len(self.senders)].send(
            b"m%d hello from the lab" % n)
        self.sent += 1

    def reply_readable(self, s, now):
        while True:
            try:
                data = s.recv(2048)
            except BlockingIOError:
                return
            if not data.startswith(b"M") or b" HELLO FROM THE LAB" not in \
                    data:
                self.wrong_replies += 1
                continue
            number = int(data[1:data.index(b" ")])
            if number not in self.replies:
                self.expected += self.expected_for(number)
            self.replies[number] = now

    # --- The run --------------------------------------------------------

    def run(self):
        a = self.args
        start = time.monotonic()
        end = start + a.duration if a.duration > 0 else float("inf")
        interval = 1.0 / a.rate if a.rate > 0 else float("inf")
        next_send = start
        stopped_at = None
        sample_at = start + 3
        while True:
            now = time.monotonic()
            if now >= sample_at and a.viewers:
                # ss in a thread: the loop goes on reading meanwhile.
                sample_at = float("inf")
                self.sampler = threading.Thread(target=self.sample_kernel,
                                                daemon=True)
                self.sampler.start()
            if stopped_at is None and (self.stop or now >= end):
                stopped_at = now
            if stopped_at is None:
                # Catch up after a slow turn rather than drift; the
                # schedule, not the loop, sets the rate.
                while next_send <= now:
                    self.send()
                    next_send += interval
                timeout = min(next_send - now, 0.05)
            else:
                if now - stopped_at >= a.drain or \
                        self.delivered_all():
                    break
                timeout = 0.05
            for key, _ in self.sel.select(max(timeout, 0)):
                t = time.monotonic()
                if key.data is None:
                    self.reply_readable(key.fileobj, t)
                else:
                    self.viewer_readable(key.data, t)
        return (stopped_at or time.monotonic()) - start

    def sample_kernel(self):
        self.kernel_load = socket_buffers(self.args.console)

    def expected_for(self, number):
        """How many viewers should show message number."""
        a = self.args
        students = a.viewers - a.class_viewers
        own = 1 if number % len(self.senders) < students else 0
        return a.class_viewers + own

    def delivered_all(self):
        """Every reply in, and every event those replies owe."""
        return len(self.replies) >= self.sent and \
            len(self.samples) >= self.expected


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--console", type=int, required=True,
                   help="echod's console port")
    p.add_argument("--udp", type=int, required=True,
                   help="a UDP listener with log_messages")
    p.add_argument("--pid", type=int, required=True, help="echod's")
    p.add_argument("--viewers", type=int, default=1000)
    p.add_argument("--class-viewers", type=int, default=10,
                   help="of the viewers, how many open /class/events")
    p.add_argument("--senders", type=int, default=0,
                   help="addresses that send (default: one per student "
                   "viewer, or 1000 with none)")
    p.add_argument("--rate", type=float, default=1000,
                   help="messages a second, in all")
    p.add_argument("--duration", type=float, default=0,
                   help="seconds (default: until SIGTERM)")
    p.add_argument("--drain", type=float, default=2,
                   help="seconds to wait for the last events")
    a = p.parse_args()
    a.class_viewers = min(a.class_viewers, a.viewers)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * a.viewers + (a.senders or 1000) + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    b = Bench(a)
    signal.signal(signal.SIGTERM, lambda *_: setattr(b, "stop", True))
    signal.signal(signal.SIGINT, lambda *_: setattr(b, "stop", True))

    rss_before = rss_kib(a.pid)
    t0 = time.monotonic()
    b.open_viewers()
    open_s = time.monotonic() - t0
    # Settle: echod's last writes and frees are done before the reading.
    time.sleep(0.5)
    rss_open = rss_kib(a.pid)
    kernel_open = socket_buffers(a.console) if a.viewers else None
    b.open_senders()
    say("ready, %d viewers open in %.1f s" % (a.viewers, open_s))
    seconds = b.run()
    if b.sampler is not None:
        b.sampler.join(15)
    rss_after = rss_kib(a.pid)
    kernel_after = socket_buffers(a.console) if a.viewers else None

    lat = []
    lat_class = []
    lat_student = []
    late = 0
    for number, when, is_class in b.samples:
        sent = b.replies.get(number)
        if sent is None:
            late += 1          # its reply never came: not a sample
            continue
        ms = (when - sent) * 1000
        lat.append(ms)
        (lat_class if is_class else lat_student).append(ms)
    for v in (lat, lat_class, lat_student):
        v.sort()

    def stats(v):
        r = lambda x: None if x is None else round(x, 1)
        return {"p50": r(percentile(v, 50)), "p99": r(percentile(v, 99)),
                "max": r(v[-1] if v else None), "samples": len(v)}

    per_viewer = lambda kib: (round((kib - rss_before) * 1024 / a.viewers)
                              if a.viewers else None)
    result = {
        "viewers": a.viewers,
        "class_viewers": a.class_viewers,
        "senders": len(b.senders),
        "rate": a.rate,
        "seconds": round(seconds, 1),
        "open_seconds": round(open_s, 1),
        "sent": b.sent,
        "replies": len(b.replies),
        "wrong_replies": b.wrong_replies,
        "events_expected": b.expected,
        "events_delivered": len(lat),
        "events_without_reply": late,
        "behind_student": b.behind[0],
        "missed_student": b.missed[0],
        "behind_class": b.behind[1],
        "missed_class": b.missed[1],
        "viewers_closed": b.closed,
        "latency_ms": stats(lat),
        "latency_class_ms": stats(lat_class),
        "latency_student_ms": stats(lat_student),
        "rss_kib": {"before": rss_before, "open": rss_open,
                    "after": rss_after},
        "rss_bytes_per_viewer": {"open": per_viewer(rss_open),
                                 "after": per_viewer(rss_after)},
        "kernel_open": kernel_open,
        "kernel_load": b.kernel_load,
        "kernel_after": kernel_after,
        "kernel_objects_per_socket": slab_bytes_per_socket(),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    try:
        main()
    except (OSError, RuntimeError) as e:
        say("error: %s" % e)
        sys.exit(1)
