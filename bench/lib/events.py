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
import base64
import hashlib
import hmac
import sys
import time


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
    key = base64.b64decode(conf_get(conf, "webhook_secret").split("_", 1)[1])
    ts = str(int(time.time()))
    outs = [open("%s.%d" % (prefix, t), "w") for t in range(nthr)]
    for i in range(count):
        uid = first + i
        eid = "evt_h_%d" % uid
        body = ('{"id":"%s","type":"order.completed","user_id":%d,'
                '"order_id":"ord_h_%d","amount":"25.00","currency":"USD",'
                '"occurred_at":"2026-01-01T00:00:00Z",'
                '"payment_fingerprint":"pf_h_%d"}' % (eid, uid, uid, uid))
        mac = hmac.new(key, ("%s.%s.%s" % (eid, ts, body)).encode(),
                       hashlib.sha256).digest()
        sig = "v1," + base64.b64encode(mac).decode()
        outs[i % nthr].write("%s\t%s\t%s\t%s\n" % (eid, ts, sig, body))
    for f in outs:
        f.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
