"""peer.py: what the tests' Python clients share: reading a socket to its
end or to a length, told apart by how the connection ended, and a TLS
ClientHello's bytes.  lib.sh puts this directory on PYTHONPATH."""
import socket
import ssl


def read_to_end(s, wait, want=None):
    """What s sends, and how that ended: "fin", "reset", "open after
    WAIT s" (nothing more for wait seconds), or, with want, "open" once
    want bytes came."""
    got, end = b"", "open after %g s" % wait
    s.settimeout(wait)
    try:
        while want is None or len(got) < want:
            b = s.recv(65536)
            if not b:
                end = "fin"
                break
            got += b
        else:
            end = "open"
    except ConnectionResetError:
        end = "reset"
    except socket.timeout:
        pass
    return got, end


def read_exactly(s, n):
    """Up to n bytes from s (a socket or a TLS socket): fewer only if it
    ends first."""
    got = b""
    while len(got) < n:
        b = s.recv(n - len(got))
        if not b:
            break
        got += b
    return got


def client_hello():
    """The bytes of a real TLS ClientHello, made without a socket."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()
