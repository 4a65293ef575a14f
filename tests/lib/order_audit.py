#!/usr/bin/env python3
"""The per-reward order audit (SPEC 13, issue 12): over reward receivers'
logs (tests/receiver/receiver.py --log), no revoke-<id> request ever
arrived before reward-<id> was applied, so none arrived for a grant that
was never delivered.  A request's arrival is its log time less its
duration.

usage: order_audit.py RECEIVER_LOG...

Prints "grants=N revocations=N out_of_order=N" (grants and revocations
applied) and the first offending keys; exits 1 if any is out of order.
"""
import json
import sys


def audit(paths):
    """Returns {"grants", "revocations", "bad": [text...]} over the logs."""
    applied = {}            # key -> time first applied
    revokes = []            # (arrival, key) of every revoke- request
    for p in paths:
        try:
            f = open(p, errors="replace")
        except FileNotFoundError:
            continue
        with f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                k = r.get("key") or ""
                if r.get("kind") == "applied":
                    t = r.get("ts", 0)
                    if k not in applied or t < applied[k]:
                        applied[k] = t
                elif r.get("kind") == "request" and k.startswith("revoke-"):
                    revokes.append((r.get("ts", 0) - r.get("ms", 0) / 1000,
                                    k))
    bad = []
    for arrival, k in revokes:
        g = "reward-" + k[len("revoke-"):]
        # the log times are rounded to the millisecond
        if g not in applied or applied[g] > arrival + 0.002:
            bad.append(f"{k} at {arrival:.3f}, {g} "
                       f"{'at %.3f' % applied[g] if g in applied else 'never'}")
    return {"grants": sum(1 for k in applied if k.startswith("reward-")),
            "revocations": sum(1 for k in applied if k.startswith("revoke-")),
            "bad": bad}


def main(paths):
    r = audit(paths)
    print(f"grants={r['grants']} revocations={r['revocations']} "
          f"out_of_order={len(r['bad'])}")
    for b in r["bad"][:10]:
        print(b)
    return 1 if r["bad"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
