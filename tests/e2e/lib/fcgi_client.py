#!/usr/bin/env python3
"""A raw FastCGI client for tests: talks to referd-fcgi's unix socket
directly, without a web server, to send what no web server would.

usage: fcgi_client.py SOCKET [-p NAME=VALUE]... [-b BODY] [-B N]
                             [--keep] [--repeat N] [--huge-params]
  -p NAME=VALUE  a FastCGI parameter (repeat); REQUEST_METHOD=GET and
                 REQUEST_URI=/healthz unless given
  -b BODY        the stdin stream (default empty)
  -B N           a stdin stream of N bytes of 'x'
  --repeat N     N requests on one kept connection (FCGI_KEEP_CONN)
  --huge-params  send one FCGI_PARAMS record whose name and value lengths
                 are both 0x7fffffff, then close; prints what came back
Prints the application's stdout stream of each request (CGI headers and
body) followed by a line "== end <appStatus>"; "== closed" if the
connection ended first.  Exit status 0 unless the socket cannot be used.
"""
import socket
import struct
import sys

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7


def record(rtype, rid, content=b""):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), pad, 0) + \
        content + b"\0" * pad


def stream(rtype, rid, data):
    out = b""
    for i in range(0, len(data), 65535):
        out += record(rtype, rid, data[i:i + 65535])
    return out + record(rtype, rid)


def length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def pairs(params):
    out = b""
    for k, v in params:
        out += length(len(k)) + length(len(v)) + k + v
    return out


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def response(s, rid):
    """Reads records until END_REQUEST; returns (stdout, status) or None."""
    out = b""
    while True:
        head = recv_exact(s, 8)
        if head is None:
            return None
        _, rtype, r, clen, pad, _ = struct.unpack(">BBHHBB", head)
        body = recv_exact(s, clen + pad)
        if body is None:
            return None
        body = body[:clen]
        if rtype == STDOUT:
            out += body
        elif rtype == END and r == rid:
            return out, struct.unpack(">I", body[:4])[0]


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    path, params, body, keep, repeat, huge = argv[1], [], b"", False, 1, False
    i = 2
    while i < len(argv):
        a = argv[i]
        if a == "-p":
            k, _, v = argv[i + 1].partition("=")
            params.append((k.encode(), v.encode()))
            i += 2
        elif a == "-b":
            body = argv[i + 1].encode()
            i += 2
        elif a == "-B":
            body = b"x" * int(argv[i + 1])
            i += 2
        elif a == "--keep":
            keep = True
            i += 1
        elif a == "--repeat":
            repeat, keep = int(argv[i + 1]), True
            i += 2
        elif a == "--huge-params":
            huge = True
            i += 1
        else:
            print("unknown option " + a, file=sys.stderr)
            return 2
    names = [k for k, _ in params]
    if b"REQUEST_METHOD" not in names:
        params.append((b"REQUEST_METHOD", b"GET"))
    if b"REQUEST_URI" not in names:
        params.append((b"REQUEST_URI", b"/healthz"))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(path)
    if huge:
        bad = struct.pack(">II", 0x7fffffff | 0x80000000,
                          0x7fffffff | 0x80000000) + b"AAAAAAAA"
        try:
            s.sendall(record(BEGIN, 1, struct.pack(">HB5x", 1, 0)) +
                      record(PARAMS, 1, bad))
            s.shutdown(socket.SHUT_WR)
            r = response(s, 1)
        except OSError as e:
            r = None
            print("== error " + str(e))
        print("== closed" if r is None else
              r[0].decode("latin-1") + "\n== end %d" % r[1])
        return 0
    for n in range(repeat):
        rid = n + 1
        try:
            s.sendall(record(BEGIN, rid,
                             struct.pack(">HB5x", 1, 1 if keep else 0))
                      + stream(PARAMS, rid, pairs(params))
                      + stream(STDIN, rid, body))
        except OSError:
            # The application may answer (413) and close before reading a
            # large body; its answer is still there to read.
            pass
        try:
            r = response(s, rid)
        except OSError:
            r = None
        if r is None:
            print("== closed")
            return 0
        sys.stdout.write(r[0].decode("latin-1"))
        print("\n== end %d" % r[1])
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
