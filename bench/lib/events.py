#!/usr/bin/env python3
"""Writes the signed POST /v1/events requests of bench/run.

usage: events.py CONF FIRST COUNT THREADS OUTPREFIX

One qualifying order event per referee user id FIRST .. FIRST+COUNT-1
(each the referee of a seeded pending referral), signed per Standard
Webhooks with the webhook_secret of CONF and one timestamp, now: the
requests must be sent within the 5 minutes referd accepts.  Request i goes
to OUTPREFIX.(i mod THREADS), one per line: id, timestamp, signature and
body separated by tabs, for bench/lib/events.lua.  The body has the shape
bench/sqlfloor builds for the same work without HTTP.
"""
import os
import sys
import time

# The signer of the test helpers: tests/lib/signing.py.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "lib"))
from signing import key as secret_key, sign  # noqa: E402


def conf_get(path, key):
    with open(path) as f:
        for line in f:
            k, _, v = line.partition("=")
            if k.strip() == key:
                return v.strip()
    sys.exit("events.py: no %s in %s" % (key, path))


def main():
    if len(sys.argv) != 6 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) == 2 else 2
    conf, first, count, nthr, prefix = sys.argv[1:]
    first, count, nthr = int(first), int(count), int(nthr)
    key = secret_key(conf_get(conf, "webhook_secret"))
    ts = str(int(time.time()))
    outs = [open("%s.%d" % (prefix, t), "w") for t in range(nthr)]
    for i in range(count):
        uid = first + i
        eid = "evt_h_%d" % uid
        body = ('{"id":"%s","type":"order.completed","user_id":%d,'
                '"order_id":"ord_h_%d","amount":"25.00","currency":"USD",'
                '"occurred_at":"2026-01-01T00:00:00Z",'
                '"payment_fingerprint":"pf_h_%d"}' % (eid, uid, uid, uid))
        sig = sign(key, eid, ts, body)
        outs[i % nthr].write("%s\t%s\t%s\t%s\n" % (eid, ts, sig, body))
    for f in outs:
        f.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
