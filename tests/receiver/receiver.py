#!/usr/bin/python3
"""referd reward receiver: a stand-in for a business's credit/coupon/points
system that the referd outbox dispatcher POSTs reward messages to.

Standard library only (Python 3.11).  Two roles:

  * demo receiver for the dev stack (--mode demo, the default): accepts
    signed POSTs on any path, applies each Idempotency-Key once and prints
    a one-line human summary per request on stderr;
  * fault-injecting receiver for tests (--faults SPEC, --always KIND,
    POST /_control at run time).

Every reward request is answered after these steps, in order:

  1. read the body (Content-Length or chunked; > --max-body -> 413);
  2. verify the Standard Webhooks signature when a secret is configured
     (webhook-id, webhook-timestamp, webhook-signature; bad -> 401);
  3. parse the JSON object body (broken -> 400);
  4. require the Idempotency-Key header (missing -> 400);
  5. draw a fault (500, 503, 429 + Retry-After (--retry-after, default 1),
     400, hang, reset or any other 4xx/5xx status); a faulted request is
     not applied, except "hang", which applies before (--hang-applies,
     default) or after (--no-hang-applies) sleeping --hang-seconds and
     then answers 200;
  6. apply the key the first time it is seen ("applied"), answer
     200 {"status":"granted"}; later deliveries of the key answer
     200 {"status":"duplicate"}.

Control endpoints (not signed, not counted as reward requests):
  GET  /_stats    counters as JSON
  GET  /_health   {"status":"ok"}
  GET  /_control  current fault settings
  POST /_control  {"faults":"SPEC", "always":KIND|null, "hang_seconds":N,
                   "fault_prefix":"reward-"|null (faults only for keys
                   with that prefix: grants, not revocations),
                   "hang_applies":bool, "retry_after":VALUE,
                   "reset_stats":bool}
"""

import argparse
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The signer of the test helpers: tests/lib/signing.py.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from signing import DEFAULT_TOLERANCE, VECTOR, sign, verify  # noqa: E402
from signing import key as secret_key  # noqa: E402

DEFAULT_LISTEN = "127.0.0.1:8082"
MAX_BODY = 1 << 20
FAULT_KINDS_NAMED = ("hang", "reset")

# ---------------------------------------------------------------- faults

def parse_faults(spec):
    """Parse "kind:share,..." into a list of (kind, share).

    kind is "hang", "reset" or an HTTP status 400..599 (500, 503, 429 and
    400 are the documented ones).  A bare kind means share 1.0.  Shares
    must lie in [0, 1] and sum to at most 1.
    """
    out = []
    if spec is None:
        return out
    total = 0.0
    for item in str(spec).split(","):
        item = item.strip()
        if not item:
            continue
        kind, sep, share = item.partition(":")
        kind = kind.strip().lower()
        if kind not in FAULT_KINDS_NAMED:
            try:
                code = int(kind)
            except ValueError:
                raise ValueError(f"unknown fault kind {kind!r}")
            if not 400 <= code <= 599:
                raise ValueError(f"fault status {code} not in 400..599")
            kind = str(code)
        try:
            p = float(share) if sep else 1.0
        except ValueError:
            raise ValueError(f"bad share {share!r} for {kind}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"share {p} for {kind} not in [0,1]")
        total += p
        out.append((kind, p))
    if total > 1.0 + 1e-9:
        raise ValueError(f"fault shares sum to {total:.3f} > 1")
    return out


def faults_str(faults):
    return ",".join(f"{k}:{p:g}" for k, p in faults)


def pick_fault(faults, r):
    """Choose a fault by one draw r in [0,1) over cumulative shares."""
    acc = 0.0
    for kind, p in faults:
        acc += p
        if p > 0 and r < acc:
            return kind
    return None


# ---------------------------------------------------------------- state

class Log:
    """JSON lines, appended and flushed per line; stdout when no file."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.path = path
        if path:
            self.fh = open(path, "a", encoding="utf-8", buffering=1)
        else:
            self.fh = sys.stdout

    def write(self, kind, **fields):
        rec = {"ts": round(time.time(), 3), "kind": kind}
        rec.update(fields)
        line = json.dumps(rec, separators=(",", ":"), sort_keys=False)
        with self.lock:
            try:
                self.fh.write(line + "\n")
                self.fh.flush()
            except (OSError, ValueError):
                pass


class State:
    def __init__(self, args, log):
        self.lock = threading.Lock()
        self.log = log
        self.args = args
        self.rng = random.Random(args.seed)
        self.faults = parse_faults(args.faults)
        self.always = None
        self.fault_prefix = None
        if args.always is not None:
            self.always = parse_faults(args.always)[0][0]
        self.hang_seconds = args.hang_seconds
        self.hang_applies = args.hang_applies
        self.retry_after = args.retry_after
        self.applied = set()		# keys applied (ever, incl. reloaded)
        self.attempts = {}		# key -> deliveries seen (ever)
        self.inflight_keys = {}		# key -> number of holders in flight
        self.hanging_keys = {}		# key -> holders in a hang sleep
        self.stop = threading.Event()
        self.reset_stats()

    def reset_stats(self):
        self.requests = 0
        self.applied_n = 0
        self.duplicates = 0
        self.by_status = {}
        self.by_fault = {}
        self.inflight = 0
        self.max_inflight = 0
        self.overlap = 0
        self.overlap_hung = 0
        self.bad_signature = 0
        self.key_mismatch = 0
        self.started = time.time()

    def reload(self, path):
        """Rebuild the dedupe set and attempt counts from an old log."""
        n = 0
        try:
            fh = open(path, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return 0
        with fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue	# torn last line after a crash
                if not isinstance(rec, dict):
                    continue
                key = rec.get("key")
                if not isinstance(key, str):
                    continue
                if rec.get("kind") == "applied":
                    if key not in self.applied:
                        n += 1
                    self.applied.add(key)
                elif rec.get("kind") == "request":
                    self.attempts[key] = self.attempts.get(key, 0) + 1
        return n

    def snapshot(self):
        with self.lock:
            return {
                "requests": self.requests,
                "applied": self.applied_n,
                "duplicates": self.duplicates,
                "by_status": dict(sorted(self.by_status.items())),
                "faults": dict(sorted(self.by_fault.items())),
                "inflight": self.inflight,
                "max_inflight": self.max_inflight,
                "overlap": self.overlap,
                "overlap_hung": self.overlap_hung,
                "bad_signature": self.bad_signature,
                "key_mismatch": self.key_mismatch,
                "known_keys": len(self.applied),
                "uptime": round(time.time() - self.started, 3),
            }

    def control(self):
        with self.lock:
            return {
                "faults": faults_str(self.faults),
                "always": self.always,
                "fault_prefix": self.fault_prefix,
                "hang_seconds": self.hang_seconds,
                "hang_applies": self.hang_applies,
                "retry_after": self.retry_after,
            }


# ---------------------------------------------------------------- HTTP

class BodyError(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "referd-receiver/1"
    timeout = 300			# idle keep-alive connections

    # quiet the default access log; we write our own
    def log_message(self, fmt, *a):
        if self.server.state.args.verbose:
            sys.stderr.write("receiver: " + (fmt % a) + "\n")

    @property
    def st(self):
        return self.server.state

    # ---- I/O helpers

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise BodyError("truncated chunked body")
                try:
                    n = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise BodyError("bad chunk size")
                if n == 0:
                    while True:		# trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                total += n
                if total > self.st.args.max_body:
                    raise BodyError("body too large")
                chunks.append(self.rfile.read(n))
                self.rfile.readline(3)
            return b"".join(chunks)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
        except ValueError:
            raise BodyError("bad Content-Length")
        if n < 0 or n > self.st.args.max_body:
            raise BodyError("body too large")
        data = self.rfile.read(n)
        if len(data) != n:
            raise BodyError("truncated body")
        return data

    def reply(self, code, obj, extra=None):
        body = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            self.close_connection = True

    def abort(self):
        """Close the socket without answering (RST where possible)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    # ---- methods

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/_stats":
            self.reply(200, self.st.snapshot())
        elif path == "/_control":
            self.reply(200, self.st.control())
        elif path in ("/_health", "/"):
            self.reply(200, {"status": "ok", "service": "referd-receiver"})
        else:
            self.reply(404, {"error": "not found"})

    do_HEAD = do_GET

    def do_PUT(self):
        self.not_allowed()

    def do_DELETE(self):
        self.not_allowed()

    def do_PATCH(self):
        self.not_allowed()

    def not_allowed(self):
        try:
            self.read_body()
        except BodyError:
            self.close_connection = True
        self.reply(405, {"error": "method not allowed"},
                   {"Allow": "GET, HEAD, POST"})

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        if path == "/_control":
            return self.do_control()
        if path in ("/_stats", "/_health"):
            return self.not_allowed()
        return self.do_reward(path)

    def do_control(self):
        try:
            body = self.read_body()
            req = json.loads(body or b"{}")
            if not isinstance(req, dict):
                raise ValueError("body must be a JSON object")
        except BodyError as e:
            self.close_connection = True
            return self.reply(413, {"error": str(e)})
        except ValueError as e:
            return self.reply(400, {"error": f"bad JSON: {e}"})
        st = self.st
        try:
            faults = (parse_faults(req["faults"]) if "faults" in req
                      else None)
            always = None
            if req.get("always") is not None:
                always = parse_faults(str(req["always"]))[0][0]
            ra = req.get("retry_after")
            if ra is not None:
                ra = str(ra).strip()
                if not ra or not ra.isprintable():
                    raise ValueError("bad retry_after")
            hs = req.get("hang_seconds")
            if hs is not None:
                hs = float(hs)
                if hs < 0:
                    raise ValueError("hang_seconds < 0")
        except (ValueError, IndexError, TypeError) as e:
            return self.reply(400, {"error": str(e)})
        with st.lock:
            if faults is not None:
                st.faults = faults
            if "always" in req:
                st.always = always
            if "fault_prefix" in req:
                fp = req["fault_prefix"]
                st.fault_prefix = str(fp) if fp else None
            if hs is not None:
                st.hang_seconds = hs
            if "hang_applies" in req:
                st.hang_applies = bool(req["hang_applies"])
            if ra is not None:
                st.retry_after = ra
            if "seed" in req and req["seed"] is not None:
                st.rng.seed(req["seed"])
        if req.get("reset_stats"):
            with st.lock:
                inflight = st.inflight
                st.reset_stats()
                st.inflight = inflight
        ctl = st.control()
        st.log.write("control", **ctl)
        self.reply(200, ctl)

    def do_reward(self, path):
        st = self.st
        t0 = time.monotonic()
        key = self.headers.get("Idempotency-Key")
        key = key.strip() if key else None
        with st.lock:
            st.requests += 1
            st.inflight += 1
            inflight = st.inflight
            if inflight > st.max_inflight:
                st.max_inflight = inflight
            overlap = False
            overlap_hung = False
            if key:
                held = st.inflight_keys.get(key, 0)
                hung = st.hanging_keys.get(key, 0)
                if held > hung:
                    overlap = True
                    st.overlap += 1
                elif held:
                    overlap_hung = True
                    st.overlap_hung += 1
                st.inflight_keys[key] = held + 1
                st.attempts[key] = st.attempts.get(key, 0) + 1
                attempt_no = st.attempts[key]
            else:
                attempt_no = None
        info = {
            "status": None, "fault": None, "error": None, "msg": None,
            "hung": False,
        }
        try:
            self.handle_reward(key, attempt_no, info)
        finally:
            with st.lock:
                st.inflight -= 1
                if key:
                    n = st.inflight_keys.get(key, 1) - 1
                    if n > 0:
                        st.inflight_keys[key] = n
                    else:
                        st.inflight_keys.pop(key, None)
                    if info["hung"]:
                        h = st.hanging_keys.get(key, 1) - 1
                        if h > 0:
                            st.hanging_keys[key] = h
                        else:
                            st.hanging_keys.pop(key, None)
                status = info["status"]
                sk = "reset" if status is None else str(status)
                st.by_status[sk] = st.by_status.get(sk, 0) + 1
                if info["fault"]:
                    f = info["fault"]
                    st.by_fault[f] = st.by_fault.get(f, 0) + 1
            msg = info["msg"] or {}
            rec = {
                "method": "POST",
                "path": path,
                "key": key,
                "webhook_id": self.headers.get("webhook-id"),
                "event": msg.get("event"),
                "reward_id": msg.get("reward_id"),
                "fault": info["fault"],
                "status": info["status"],
                "inflight": inflight,
                "overlap": overlap,
                "attempt_no": attempt_no,
                "ms": round((time.monotonic() - t0) * 1000, 1),
            }
            if overlap_hung:
                rec["overlap_hung"] = True
            if info["error"]:
                rec["error"] = info["error"]
            if info.get("key_mismatch"):
                rec["key_mismatch"] = True
            st.log.write("request", **rec)
            if st.args.mode == "demo":
                self.demo_line(key, msg, info)

    def demo_line(self, key, msg, info):
        status = info["status"]
        what = info.get("outcome") or info["error"] or info["fault"] or ""
        amt = msg.get("amount")
        line = (f"receiver: {status if status is not None else 'RESET'} "
                f"{key or '-'} {what}")
        if info.get("outcome") in ("granted", "duplicate"):
            line += (f" {msg.get('event')} {msg.get('type')} {amt} "
                     f"{msg.get('currency')} user={msg.get('user_id')} "
                     f"role={msg.get('role')}")
        sys.stderr.write(line.rstrip() + "\n")
        sys.stderr.flush()

    def fail(self, info, code, error, extra=None):
        info["status"] = code
        info["error"] = error
        self.reply(code, {"error": error}, extra)

    def handle_reward(self, key, attempt_no, info):
        st = self.st
        args = st.args
        try:
            body = self.read_body()
        except BodyError as e:
            self.close_connection = True
            return self.fail(info, 413 if "large" in str(e) else 400, str(e))

        if st.key is not None:
            why = verify(st.key, self.headers.get("webhook-id"),
                         self.headers.get("webhook-timestamp"),
                         self.headers.get("webhook-signature"), body,
                         tolerance=args.ts_tolerance,
                         check_ts=not args.no_ts_check)
            if why:
                with st.lock:
                    st.bad_signature += 1
                return self.fail(info, 401, why)

        try:
            msg = json.loads(body)
            if not isinstance(msg, dict):
                raise ValueError("body is not a JSON object")
        except (ValueError, UnicodeDecodeError) as e:
            return self.fail(info, 400, f"bad JSON: {e}")
        info["msg"] = msg

        if not key:
            return self.fail(info, 400, "missing Idempotency-Key")

        rid = msg.get("reward_id")
        prefix = "revoke-" if msg.get("event") == "reward.revoked" \
            else "reward-"
        if rid is not None and key != f"{prefix}{rid}":
            info["key_mismatch"] = True
            with st.lock:
                st.key_mismatch += 1

        with st.lock:
            fault = st.always
            if fault is None:
                fault = pick_fault(st.faults, st.rng.random())
            if st.fault_prefix and not key.startswith(st.fault_prefix):
                fault = None
            hang_seconds = st.hang_seconds
            hang_applies = st.hang_applies
            retry_after = st.retry_after
        info["fault"] = fault

        if fault == "reset":
            info["status"] = None
            info["error"] = "reset"
            return self.abort()
        if fault == "hang":
            info["hung"] = True
            with st.lock:
                st.hanging_keys[key] = st.hanging_keys.get(key, 0) + 1
            outcome = None
            if hang_applies:
                outcome = self.apply(key, msg, attempt_no)
            if st.stop.wait(hang_seconds):
                # shutting down mid-hang: never answer (nor apply late)
                info["status"] = None
                info["error"] = "shutdown during hang"
                return self.abort()
            if outcome is None:
                outcome = self.apply(key, msg, attempt_no)
            info["outcome"] = outcome
            info["status"] = 200
            return self.reply(200, {"status": outcome, "key": key})
        if fault is not None:
            code = int(fault)
            extra = {"Retry-After": retry_after} if code == 429 else None
            return self.fail(info, code, "injected fault", extra)

        outcome = self.apply(key, msg, attempt_no)
        info["outcome"] = outcome
        info["status"] = 200
        self.reply(200, {"status": outcome, "key": key})

    def apply(self, key, msg, attempt_no):
        """Apply key once; return "granted" or "duplicate"."""
        st = self.st
        with st.lock:
            first = key not in st.applied
            if first:
                st.applied.add(key)
                st.applied_n += 1
            else:
                st.duplicates += 1
            # log inside the lock so applied lines are ordered per key
            st.log.write(
                "applied" if first else "duplicate",
                key=key,
                event=msg.get("event"),
                reward_id=msg.get("reward_id"),
                referral_id=msg.get("referral_id"),
                user_id=msg.get("user_id"),
                role=msg.get("role"),
                type=msg.get("type"),
                amount=msg.get("amount"),
                currency=msg.get("currency"),
                attempt_no=attempt_no,
            )
        return "granted" if first else "duplicate"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


# ---------------------------------------------------------------- CLI

def read_secret_file(path):
    """Take outbound_secret from a referd.conf-style "key = value" file."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#") or line.startswith(";"):
                continue
            k, sep, v = line.partition("=")
            if not sep or k.strip() != "outbound_secret":
                continue
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            else:
                v = v.split(" #", 1)[0].strip()
            return v
    raise ValueError(f"{path}: no outbound_secret")


def parse_listen(s):
    host, sep, port = s.rpartition(":")
    if not sep:
        raise ValueError(f"--listen {s!r}: want HOST:PORT")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def selftest():
    fails = []
    key = secret_key(VECTOR["secret"])
    got = sign(key, VECTOR["id"], VECTOR["timestamp"], VECTOR["body"])
    if got != VECTOR["signature"]:
        fails.append(f"vector: got {got}")
    if verify(key, VECTOR["id"], VECTOR["timestamp"], VECTOR["signature"],
              VECTOR["body"], now=int(VECTOR["timestamp"])) is not None:
        fails.append("vector does not verify")
    if verify(key, VECTOR["id"], VECTOR["timestamp"],
              "v1,bogus " + VECTOR["signature"], VECTOR["body"],
              now=int(VECTOR["timestamp"])) is not None:
        fails.append("multi-signature header does not verify")
    if verify(key, VECTOR["id"], VECTOR["timestamp"], VECTOR["signature"],
              b'{"test": 2432232315}',
              now=int(VECTOR["timestamp"])) is None:
        fails.append("tampered body verifies")
    if verify(key, VECTOR["id"], VECTOR["timestamp"], VECTOR["signature"],
              VECTOR["body"]) is None:
        fails.append("stale timestamp verifies")
    f = parse_faults("500:0.2,503:0.1,429:0.1,400:0.0,hang:0.05,reset:0.05")
    if pick_fault(f, 0.0) != "500" or pick_fault(f, 0.25) != "503" \
            or pick_fault(f, 0.35) != "429" or pick_fault(f, 0.42) != "hang" \
            or pick_fault(f, 0.47) != "reset" or pick_fault(f, 0.6) is not None:
        fails.append("fault selection")
    for bad in ("500:0.7,503:0.5", "teapot:0.1", "200:0.1", "500:x"):
        try:
            parse_faults(bad)
            fails.append(f"fault spec {bad!r} accepted")
        except ValueError:
            pass
    for m in fails:
        print("FAIL", m)
    print("ok" if not fails else "selftest failed")
    return 0 if not fails else 1


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="receiver.py",
        description="HTTP reward receiver for the referd outbox "
                    "dispatcher (demo and fault injection).",
        epilog="Fault SPEC: comma-separated kind:share, kinds 500, 503, "
               "429 (Retry-After: 1), 400, hang, reset or any 4xx/5xx; "
               "one random draw per request over the cumulative shares "
               "(sum <= 1). Example: 500:0.2,503:0.1,429:0.1,hang:0.05,"
               "reset:0.05. Control: GET /_stats, GET|POST /_control "
               "{\"faults\":SPEC,\"always\":KIND|null,\"hang_seconds\":N,"
               "\"hang_applies\":bool,\"reset_stats\":true}.")
    ap.add_argument("--mode", choices=("demo", "test"), default="demo",
                    help="demo (default) also prints a human line per "
                         "request on stderr; test is quiet")
    ap.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                    help=f"address to listen on (default {DEFAULT_LISTEN})")
    ap.add_argument("--secret", metavar="whsec_...",
                    help="outbound signing secret (default: env "
                         "REFERD_OUTBOUND_SECRET)")
    ap.add_argument("--secret-file", metavar="FILE",
                    help="read outbound_secret from a referd.conf-style file")
    ap.add_argument("--no-ts-check", action="store_true",
                    help="do not reject stale/future webhook-timestamp")
    ap.add_argument("--ts-tolerance", type=int, default=DEFAULT_TOLERANCE,
                    metavar="SECONDS",
                    help="timestamp tolerance (default 300)")
    ap.add_argument("--log", metavar="FILE",
                    help="JSON-lines log, appended (default stdout); applied "
                         "keys are reloaded from it at startup")
    ap.add_argument("--pidfile", metavar="FILE", help="write pid here")
    ap.add_argument("--faults", metavar="SPEC", default="",
                    help="fault injection spec, see below")
    ap.add_argument("--always", metavar="KIND",
                    help="every reward request gets this fault (e.g. 400, "
                         "500, hang, reset); overrides --faults")
    ap.add_argument("--hang-seconds", type=float, default=30.0,
                    metavar="SECONDS", help="sleep for a hang (default 30)")
    ap.add_argument("--hang-applies", dest="hang_applies",
                    action="store_true", default=True,
                    help="hang: apply the grant, then sleep (default)")
    ap.add_argument("--no-hang-applies", dest="hang_applies",
                    action="store_false",
                    help="hang: sleep first, then apply and answer")
    ap.add_argument("--retry-after", default="1", metavar="VALUE",
                    help="Retry-After of a 429: seconds or an HTTP date "
                         "(default 1)")
    ap.add_argument("--seed", type=int, help="random seed for faults")
    ap.add_argument("--max-body", type=int, default=MAX_BODY,
                    metavar="BYTES", help="largest body accepted")
    ap.add_argument("--verbose", action="store_true",
                    help="also print the raw HTTP access log on stderr")
    ap.add_argument("--selftest", action="store_true",
                    help="check the published signature vector and fault "
                         "parsing; print ok and exit 0, else exit 1")
    args = ap.parse_args(argv)

    if args.selftest:
        return selftest()

    try:
        parse_faults(args.faults)
        if args.always is not None:
            kinds = parse_faults(args.always)
            if len(kinds) != 1:
                raise ValueError("--always wants one kind")
        host, port = parse_listen(args.listen)
    except ValueError as e:
        ap.error(str(e))

    secret = args.secret
    if secret is None and args.secret_file:
        try:
            secret = read_secret_file(args.secret_file)
        except (OSError, ValueError) as e:
            ap.error(str(e))
    if secret is None:
        secret = os.environ.get("REFERD_OUTBOUND_SECRET") or None
    key = None
    if secret:
        try:
            key = secret_key(secret)
        except ValueError as e:
            ap.error(f"bad secret: {e}")
    else:
        sys.stderr.write("receiver: WARNING: no secret configured; "
                         "signatures are NOT verified\n")

    log = Log(args.log)
    state = State(args, log)
    state.key = key
    reloaded = state.reload(args.log) if args.log else 0

    Server.address_family = (socket.AF_INET6 if ":" in host
                             else socket.AF_INET)
    try:
        srv = Server((host, port), Handler)
    except OSError as e:
        sys.stderr.write(f"receiver: cannot listen on {args.listen}: {e}\n")
        return 1
    srv.state = state

    if args.pidfile:
        with open(args.pidfile, "w") as fh:
            fh.write(f"{os.getpid()}\n")

    def on_signal(signum, frame):
        state.stop.set()	# wake hanging handlers
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    log.write("start", pid=os.getpid(), listen=f"{host}:{srv.server_port}",
              mode=args.mode, faults=faults_str(state.faults),
              always=state.always, hang_seconds=state.hang_seconds,
              hang_applies=state.hang_applies, seed=args.seed,
              verify=key is not None, ts_check=not args.no_ts_check,
              reloaded_keys=reloaded)
    if args.mode == "demo":
        sys.stderr.write(f"receiver: listening on {host}:{srv.server_port} "
                         f"(pid {os.getpid()}, {reloaded} keys reloaded)\n")
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
        log.write("stop", pid=os.getpid(), **state.snapshot())
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
