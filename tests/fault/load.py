#!/usr/bin/env python3
"""Load and fault-suite client for referd: sends API requests through the
web server from many threads and logs every answer as a JSON line.

usage: load.py send --plan FILE [common options] [--retry SECONDS]
       load.py mixed --duration SECONDS --ubase N [common options]
                     [--settle SECONDS]

common options: --base URL (the web server), --conf FILE (referd.conf:
api_key, admin_api_key, webhook_secret), --out FILE (results, appended),
--threads N.

send: every line of the plan is one request, all sent at once (the
threads start together behind a barrier), in the plan's order per thread.
A plan line is a JSON object:
  {"kind": "event", "id": ID, "body": TEXT, "ts_offset": S, "sig": SIG,
   "sig_id": ID, "wave": N}
  {"kind": "signup", "user_id": N, "code": C}      {"kind": "mint", "user_id": N}
  {"kind": "landing", "code": C}   {"kind": "void", "referral_id": N}
Lines of wave N are sent after every request of wave N-1 was answered.
--retry S: events answered 5xx or not at all are sent again (as an order
system would) until they get an answer below 500 or S seconds pass.

mixed: DURATION seconds of landings, signups (new users, with a code of a
referrer made on the way), code mints, conversion events, refunds and
redeliveries of events already sent; user ids from UBASE up.  Then,
during --settle seconds, every event not yet answered below 500 is sent
again until it is.

A result line: {"kind", "key" (event id, user id or code), "status" (0:
no answer), "err" (the transport error), "body" (the JSON answer, if
any), "sha256" (of an event body), "t" (start, s), "ms", "phase"}.
Prints a summary ("statuses: 200:N 503:N ...") on stdout.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from signing import sign  # noqa: E402  (tests/lib/signing.py)


def read_conf(path):
    conf = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            k, sep, v = line.partition("=")
            if sep:
                conf[k.strip()] = v.strip()
    return conf


class Client:
    """One keep-alive connection to the web server per thread."""

    def __init__(self, base, timeout=65):
        u = urllib.parse.urlsplit(base)
        self.host = u.hostname
        self.port = u.port or 80
        self.timeout = timeout
        self.conn = None
        self.used = 0

    def request(self, method, path, body=None, headers=None):
        """Returns (status, body bytes, headers, err); status 0 if none."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout)
                self.used = 0
            reused = self.used > 0
            try:
                self.conn.request(method, path, body=body,
                                  headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                self.used += 1
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, data, r, None
            except (http.client.RemoteDisconnected, BrokenPipeError) as e:
                self.close()
                # A kept connection the server closed while idle, before
                # reading this request: not an answer; once more, anew.
                if attempt == 0 and reused:
                    continue
                return 0, b"", None, type(e).__name__
            except (OSError, http.client.HTTPException) as e:
                self.close()
                return 0, b"", None, type(e).__name__
        return 0, b"", None, "retry"

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None


class Api:
    def __init__(self, args):
        conf = read_conf(args.conf)
        self.base = args.base
        self.key = conf["api_key"]
        self.admin = conf["admin_api_key"]
        self.secret = conf["webhook_secret"]
        self.out = open(args.out, "a", encoding="utf-8", buffering=1)
        self.lock = threading.Lock()
        self.local = threading.local()
        self.phase = "load"
        self.statuses = {}

    def client(self):
        c = getattr(self.local, "c", None)
        if c is None:
            c = self.local.c = Client(self.base)
        return c

    def record(self, rec):
        line = json.dumps(rec, separators=(",", ":"))
        with self.lock:
            self.out.write(line + "\n")
            k = str(rec["status"]) if rec["status"] else \
                "conn:" + str(rec.get("err"))
            self.statuses[k] = self.statuses.get(k, 0) + 1

    def call(self, kind, key, method, path, body=None, headers=None,
             extra=None):
        t0 = time.time()
        st, data, _, err = self.client().request(method, path, body, headers)
        rec = {"kind": kind, "key": key, "status": st, "t": round(t0, 3),
               "ms": round((time.time() - t0) * 1000, 1),
               "phase": self.phase}
        if err:
            rec["err"] = err
        if data:
            try:
                rec["body"] = json.loads(data)
            except ValueError:
                rec["body"] = data[:200].decode("utf-8", "replace")
        if extra:
            rec.update(extra)
        self.record(rec)
        return rec

    def event(self, eid, body, ts_offset=0, sig=None, sig_id=None):
        raw = body.encode() if isinstance(body, str) else body
        ts = str(int(time.time()) + int(ts_offset))
        if sig is None:
            sig = sign(self.secret, sig_id or eid, ts, raw)
        h = {"Content-Type": "application/json", "webhook-id": eid,
             "webhook-timestamp": ts, "webhook-signature": sig}
        return self.call("event", eid, "POST", "/v1/events", raw, h,
                         {"sha256": hashlib.sha256(raw).hexdigest()})

    def signup(self, uid, code=None, ip=None):
        b = {"user_id": uid}
        if code:
            b["code"] = code
        if ip:
            b["ip"] = ip
        return self.call("signup", uid, "POST", "/v1/signups",
                         json.dumps(b).encode(),
                         {"Authorization": "Bearer " + self.key,
                          "Content-Type": "application/json"})

    def mint(self, uid):
        return self.call("mint", uid, "POST", f"/v1/users/{uid}/code", b"",
                         {"Authorization": "Bearer " + self.key})

    def landing(self, code):
        return self.call("landing", code, "GET", "/r/" + code)

    def void(self, rid, reason="fault suite"):
        return self.call("void", rid, "POST", f"/v1/referrals/{rid}/void",
                         json.dumps({"reason": reason}).encode(),
                         {"Authorization": "Bearer " + self.admin,
                          "Content-Type": "application/json"})

    def run_spec(self, s):
        k = s["kind"]
        if k == "event":
            return self.event(s["id"], s["body"], s.get("ts_offset", 0),
                              s.get("sig"), s.get("sig_id"))
        if k == "signup":
            return self.signup(s["user_id"], s.get("code"), s.get("ip"))
        if k == "mint":
            return self.mint(s["user_id"])
        if k == "landing":
            return self.landing(s["code"])
        if k == "void":
            return self.void(s["referral_id"])
        raise ValueError("unknown kind " + k)

    def summary(self):
        return " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))


def answered(rec):
    """An answer the sender need not repeat: below 500."""
    return 0 < rec["status"] < 500


def cmd_send(api, args):
    with open(args.plan, encoding="utf-8") as fh:
        plan = [json.loads(l) for l in fh if l.strip()]
    waves = sorted({s.get("wave", 0) for s in plan})
    for w in waves:
        todo = [s for s in plan if s.get("wave", 0) == w]
        n = min(args.threads, len(todo))
        barrier = threading.Barrier(n)
        last = {}

        def worker(i):
            barrier.wait()
            for j in range(i, len(todo), n):
                last[j] = api.run_spec(todo[j])

        ts = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if args.retry > 0:
            api.phase = "retry"
            end = time.time() + args.retry
            again = [j for j in range(len(todo)) if todo[j]["kind"] ==
                     "event" and not answered(last[j])]
            while again and time.time() < end:
                time.sleep(0.3)
                for j in again:
                    last[j] = api.run_spec(todo[j])
                again = [j for j in again if not answered(last[j])]
            api.phase = "load"
    print("statuses:", api.summary())
    return 0


class Mixed:
    """The state of a mixed load: referrers, referees, events sent."""

    def __init__(self, api, args):
        self.api = api
        self.args = args
        self.lock = threading.Lock()
        self.rng = random.Random(args.seed)
        self.next_uid = args.ubase
        self.next_ev = 0
        self.referrers = []	# [uid, code, signups]
        self.referees = []	# uids attributed, no event yet
        self.converted = []	# (uid, order_id) completions sent
        self.events = {}	# id -> body: every event sent
        self.pending = {}	# id -> body: not yet answered below 500
        self.codes = []

    def uid(self):
        with self.lock:
            self.next_uid += 1
            return self.next_uid

    def evid(self):
        with self.lock:
            self.next_ev += 1
            return f"fe-{self.args.ubase}-{self.next_ev}"

    def body(self, eid, uid, order, typ="order.completed", amount="25.00"):
        return json.dumps({
            "id": eid, "type": typ, "user_id": uid, "order_id": order,
            "amount": amount, "currency": "USD",
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                         time.gmtime())},
            separators=(",", ":"))

    def send_event(self, eid, body):
        with self.lock:
            self.events[eid] = body
        r = self.api.event(eid, body)
        with self.lock:
            if answered(r):
                self.pending.pop(eid, None)
            else:
                self.pending[eid] = body
        return r

    def a_referrer(self):
        uid = self.uid()
        r = self.api.signup(uid)
        if r["status"] in (200, 201) and isinstance(r.get("body"), dict):
            with self.lock:
                self.referrers.append([uid, r["body"]["code"], 0])
                self.codes.append(r["body"]["code"])

    def a_signup(self):
        with self.lock:
            ok = [x for x in self.referrers if x[2] < 8]
            ref = self.rng.choice(ok) if ok else None
            if ref:
                ref[2] += 1
        if ref is None:
            return self.a_referrer()
        uid = self.uid()
        r = self.api.signup(uid, ref[1])
        b = r.get("body")
        if r["status"] in (200, 201) and isinstance(b, dict):
            with self.lock:
                self.codes.append(b["code"])
                if b.get("referral"):
                    self.referees.append(uid)

    def a_landing(self):
        with self.lock:
            code = self.rng.choice(self.codes) if self.codes else "ZZZZZZZZ"
        self.api.landing(code)

    def a_mint(self):
        with self.lock:
            uid = self.rng.choice(self.referrers)[0] if self.referrers \
                else self.args.ubase
        self.api.mint(uid)

    def a_event(self):
        with self.lock:
            r = self.rng.random()
            if self.referees and r < 0.8:
                uid = self.referees.pop(self.rng.randrange(len(self.referees)))
                kind = "completion"
            elif self.converted and r < 0.9:
                uid, order = self.rng.choice(self.converted)
                kind = "refund"
            elif self.converted:
                uid, _ = self.rng.choice(self.converted)
                kind = "second"
            else:
                return
        eid = self.evid()
        if kind == "refund":
            body = self.body(eid, uid, order, "order.refunded")
        else:
            order = "fo-" + eid
            body = self.body(eid, uid, order)
            if kind == "completion":
                with self.lock:
                    self.converted.append((uid, order))
        self.send_event(eid, body)

    def a_redeliver(self):
        with self.lock:
            if not self.events:
                return
            eid = self.rng.choice(list(self.events))
            body = self.events[eid]
        self.send_event(eid, body)

    def worker(self, end):
        acts = [(0.20, self.a_landing), (0.25, self.a_signup),
                (0.05, self.a_mint), (0.35, self.a_event),
                (0.15, self.a_redeliver)]
        while time.time() < end:
            r = self.rng.random()
            acc = 0
            for p, f in acts:
                acc += p
                if r < acc:
                    f()
                    break
            if self.args.pause:
                time.sleep(self.args.pause)


def cmd_mixed(api, args):
    m = Mixed(api, args)
    for _ in range(4):
        m.a_referrer()
    end = time.time() + args.duration
    ts = [threading.Thread(target=m.worker, args=(end,))
          for _ in range(args.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    api.phase = "settle"
    end = time.time() + args.settle
    while m.pending and time.time() < end:
        for eid, body in list(m.pending.items()):
            m.send_event(eid, body)
        if m.pending:
            time.sleep(0.5)
    print("statuses:", api.summary())
    print(f"events: {len(m.events)} sent, {len(m.pending)} never answered "
          f"below 500; users up to {m.next_uid}")
    return 1 if m.pending else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("cmd", choices=("send", "mixed"))
    p.add_argument("--base", required=True)
    p.add_argument("--conf", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--plan")
    p.add_argument("--retry", type=float, default=0)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--settle", type=float, default=30)
    p.add_argument("--ubase", type=int, default=0)
    p.add_argument("--pause", type=float, default=0)
    p.add_argument("--seed", type=int)
    args = p.parse_args()
    api = Api(args)
    if args.cmd == "send":
        if not args.plan:
            p.error("send needs --plan")
        return cmd_send(api, args)
    return cmd_mixed(api, args)


if __name__ == "__main__":
    sys.exit(main())
