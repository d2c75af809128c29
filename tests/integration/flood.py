#!/usr/bin/env python3
"""flood.py PORT GO [--shutdown]: a client that sends lowercase bytes to
echod on 127.0.0.1:PORT without reading until echod stops taking them,
optionally shuts down its write side, prints "sent N", waits until the
file GO exists, then reads to the end.  Last it prints "got M of N" and
how the connection ended: "complete" (every byte back, then a clean
close), "TRUNCATED" (a clean close with bytes missing) or "reset"; and
whether what came back is an upper-case copy of what was sent ("intact"
or "corrupt").  Every wait is bounded."""
import os
import socket
import sys
import time

port, go = int(sys.argv[1]), sys.argv[2]
shut = "--shutdown" in sys.argv[3:]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.setblocking(False)
# More than loopback's socket buffers hold, with echod's own.
data = b"the quick brown fox jumps over the lazy dog " * 600000
sent, last, began = 0, time.time(), time.time()
while sent < len(data) and time.time() - last < 1 and time.time() - began < 60:
    try:
        sent += s.send(data[sent:sent + 65536])
        last = time.time()
    except BlockingIOError:
        time.sleep(0.02)
if shut:
    s.shutdown(socket.SHUT_WR)
print("sent", sent, flush=True)
for _ in range(1200):
    if os.path.exists(go):
        break
    time.sleep(0.05)
s.setblocking(True)
s.settimeout(60)
got = bytearray()
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    end = "complete" if len(got) == sent else "TRUNCATED"
except ConnectionResetError:
    end = "reset"
ok = bytes(got) == data[:len(got)].upper()
print("got", len(got), "of", sent, end, "intact" if ok else "corrupt",
      flush=True)
