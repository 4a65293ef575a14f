#!/usr/bin/env python3
"""The audit every fault test ends with, over the database, the reward
receivers' logs and the answers the clients got (tests/fault/load.py
results), for the users of one test (ids UBASE .. UBASE+SPAN-1):

  - every converted order converted at most one referral, and every
    referral was converted by at most one event;
  - every rewarded referral has exactly two rewards (referrer, referee),
    a voided one none or two revoked ones, any other none; no referral
    is left converted and unrewarded unless held for review;
  - every reward (and revocation) has its outbox row, delivered, and its
    key was applied exactly once at the receivers; no party got two
    grants under different keys;
  - a grant voided before delivery is cancelled, never applied, and has
    no revocation; no revoke-<id> reached a receiver before reward-<id>
    was applied (SPEC 13; tests/lib/order_audit.py);
  - nothing accepted with a 2xx is missing: every event answered 2xx is
    in inbound_events with the same body, every "converted" answer is its
    referral's conversion, every signup and mint answered 2xx is stored.

usage: audit.py --sock SOCK --ubase N --span N [--db NAME]
                [--results FILE]... [--recv FILE]... [--figures FILE]

Prints one line per check, "ok<TAB>what<TAB>detail" or "not ok<TAB>...",
then "figures<TAB>rewards=N lost=N twice=N ..."; appends the figures as
"name value" lines to --figures.  Exits 1 if a check failed.
"""
import argparse
import json
import os
import pwd
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import order_audit  # noqa: E402


def query(args, q):
    out = subprocess.run(
        ["mariadb", "--no-defaults", f"--socket={args.sock}", "-u" + pwd.getpwuid(os.getuid()).pw_name,
         "-N", "-B", "-r", args.db, "-e", q],
        check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        rows.append([None if c == "NULL" else c for c in line.split("\t")])
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sock", required=True)
    p.add_argument("--db", default="referd")
    p.add_argument("--ubase", type=int, required=True)
    p.add_argument("--span", type=int, default=100000)
    p.add_argument("--results", action="append", default=[])
    p.add_argument("--recv", action="append", default=[])
    p.add_argument("--figures")
    args = p.parse_args()
    lo, hi = args.ubase, args.ubase + args.span - 1
    checks = []

    def check(what, errs, extra=""):
        detail = "; ".join(errs[:6]) if errs else extra
        if errs and len(errs) > 6:
            detail += f"; ... {len(errs)} in all"
        checks.append((not errs, what, detail))

    refs = {}
    for r in query(args, f"""SELECT id, referrer_id, referee_id, status,
	    review, conversion_event, conversion_order FROM referrals
	    WHERE referee_id BETWEEN {lo} AND {hi}"""):
        refs[int(r[0])] = {"referrer": int(r[1]), "referee": int(r[2]),
                           "status": r[3], "review": r[4], "event": r[5],
                           "order": r[6]}
    ids = ",".join(str(i) for i in refs) or "0"
    rewards = {}
    for r in query(args, f"""SELECT id, referral_id, role, user_id, status
	    FROM referral_rewards WHERE referral_id IN ({ids})"""):
        rewards[int(r[0])] = {"ref": int(r[1]), "role": r[2],
                              "user": int(r[3]), "status": r[4]}
    rids = ",".join(str(i) for i in rewards) or "0"
    outbox = {}
    for r in query(args, f"""SELECT idempotency_key, reward_id, event,
	    status, attempts FROM outbox WHERE reward_id IN ({rids})"""):
        outbox[r[0]] = {"reward": int(r[1]), "event": r[2],
                        "status": r[3], "attempts": int(r[4])}
    events = {}
    for r in query(args, f"""SELECT event_id, body_sha256, type, user_id,
	    order_id, outcome, referral_id FROM inbound_events
	    WHERE source = 'webhook' AND user_id BETWEEN {lo} AND {hi}"""):
        events[r[0]] = {"sha": r[1], "type": r[2], "user": int(r[3]),
                        "order": r[4], "outcome": r[5],
                        "ref": int(r[6]) if r[6] else 0}
    signals = {int(r[0]): int(r[1] or 0) for r in query(args, f"""
	    SELECT user_id, referral_id FROM user_signals
	    WHERE user_id BETWEEN {lo} AND {hi}""")}
    codes = {int(r[0]): r[1] for r in query(args, f"""SELECT user_id, code
	    FROM referral_codes WHERE user_id BETWEEN {lo} AND {hi}""")}

    # --- conversions
    errs = []
    by_order = {}
    for i, r in refs.items():
        if r["order"] is not None:
            by_order.setdefault((r["referee"], r["order"]), []).append(i)
    for k, v in by_order.items():
        if len(v) > 1:
            errs.append(f"order {k[1]} converted referrals {v}")
    conv = {}
    for eid, e in events.items():
        if e["outcome"] == "converted":
            conv.setdefault(e["ref"], []).append(eid)
    for ref, evs in conv.items():
        if len(evs) > 1:
            errs.append(f"referral {ref} converted by {len(evs)} events "
                        f"{evs[:3]}")
        elif ref in refs and refs[ref]["event"] != evs[0]:
            errs.append(f"referral {ref}: conversion_event "
                        f"{refs[ref]['event']}, converted by {evs[0]}")
    for i, r in refs.items():
        if r["event"] is not None and i not in conv:
            errs.append(f"referral {i} has conversion_event {r['event']} "
                        f"but no event converted it")
    check("each order converted at most one referral, each referral "
          "was converted by at most one event", errs,
          f"{len(refs)} referrals, {len(conv)} converted")

    # --- rewards per referral
    errs = []
    lost = 0
    per_ref = {}
    for w in rewards.values():
        per_ref.setdefault(w["ref"], []).append(w)
    nrewarded = 0
    for i, r in refs.items():
        ws = per_ref.get(i, [])
        roles = sorted(w["role"] for w in ws)
        st = {w["status"] for w in ws}
        if r["status"] == "rewarded":
            nrewarded += 1
            if roles != ["referee", "referrer"] or st != {"issued"}:
                errs.append(f"rewarded referral {i}: rewards {roles} {st}")
            want = {"referrer": r["referrer"], "referee": r["referee"]}
            for w in ws:
                if want.get(w["role"]) != w["user"]:
                    errs.append(f"referral {i}: {w['role']} reward to "
                                f"user {w['user']}")
        elif r["status"] == "voided":
            if ws and (roles != ["referee", "referrer"] or
                       st != {"revoked"}):
                errs.append(f"voided referral {i}: rewards {roles} {st}")
        elif ws:
            errs.append(f"{r['status']} referral {i} has rewards {roles}")
        if r["status"] == "converted" and r["review"] != "held":
            errs.append(f"referral {i} converted but never rewarded")
            lost += 2
    check("every rewarded referral has exactly two rewards, other "
          "referrals none (or two revoked)", errs,
          f"{nrewarded} rewarded, {len(rewards)} rewards")

    # --- outbox and receivers
    applied = {}
    parties = {}
    for f in args.recv:
        try:
            fh = open(f, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        with fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if rec.get("kind") != "applied":
                    continue
                k = rec.get("key")
                applied[k] = applied.get(k, 0) + 1
                if rec.get("referral_id") in refs:
                    pk = (rec.get("event"), rec.get("referral_id"),
                          rec.get("role"))
                    parties.setdefault(pk, set()).add(k)
    errs = []
    twice = 0
    revlost = 0
    cancelled = 0
    for wid, w in rewards.items():
        g = outbox.get("reward-%d" % wid)
        if g is not None and g["status"] == "cancelled":
            # voided before its grant was delivered: nothing to revoke
            cancelled += 1
            if w["status"] != "revoked":
                errs.append(f"reward-{wid}: cancelled, reward {w['status']}")
            if applied.get("reward-%d" % wid, 0):
                errs.append(f"reward-{wid}: cancelled but applied")
            if "revoke-%d" % wid in outbox:
                errs.append(f"revoke-{wid}: written for a cancelled grant")
            continue
        keys = [("reward-%d" % wid, "reward.issued")]
        if w["status"] == "revoked":
            keys.append(("revoke-%d" % wid, "reward.revoked"))
        for key, ev in keys:
            o = outbox.get(key)
            n = applied.get(key, 0)
            if o is None:
                errs.append(f"{key}: no outbox row")
            elif o["event"] != ev or o["status"] != "delivered":
                errs.append(f"{key}: {o['event']} {o['status']} after "
                            f"{o['attempts']} attempts")
            if n == 0:
                errs.append(f"{key}: never applied at the receiver")
                if ev == "reward.issued":
                    lost += 1
                else:
                    revlost += 1
            elif n > 1:
                errs.append(f"{key}: applied {n} times")
                twice += 1
    for key in outbox:
        if key not in {"reward-%d" % w for w in rewards} | \
                {"revoke-%d" % w for w in rewards}:
            errs.append(f"outbox row {key} for no reward of ours")
    for pk, ks in parties.items():
        if len(ks) > 1:
            errs.append(f"{pk[0]} for referral {pk[1]} {pk[2]} applied "
                        f"under keys {sorted(ks)}")
            twice += 1
    check("every reward and revocation delivered and applied exactly "
          "once after dedupe by key", errs,
          f"{len(outbox)} messages, {sum(applied.get(k, 0) for k in outbox)}"
          f" applied")

    # --- the per-reward order at the receivers
    orders = order_audit.audit(args.recv)
    check("no revocation received before its grant was applied, none "
          "for a grant never delivered", orders["bad"],
          f"grants={orders['grants']} revocations={orders['revocations']} "
          f"cancelled={cancelled}")

    # --- answers the clients got
    errs = []
    acked = {}
    signups = {}
    mints = {}
    nres = 0
    for f in args.results:
        try:
            fh = open(f, encoding="utf-8")
        except FileNotFoundError:
            continue
        with fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                nres += 1
                st = rec.get("status", 0)
                if not 200 <= st < 300:
                    continue
                b = rec.get("body") if isinstance(rec.get("body"),
                                                  dict) else {}
                if rec["kind"] == "event":
                    acked.setdefault(rec["key"], []).append(
                        (rec.get("sha256"), b.get("outcome"),
                         b.get("referral_id")))
                elif rec["kind"] == "signup":
                    signups[int(rec["key"])] = b
                elif rec["kind"] == "mint":
                    mints[int(rec["key"])] = b.get("code")
    for eid, answers in acked.items():
        e = events.get(eid)
        if e is None:
            errs.append(f"event {eid} answered 2xx, not in inbound_events")
            continue
        shas = {a[0] for a in answers}
        if e["sha"] not in shas:
            errs.append(f"event {eid}: stored body is none of the bodies "
                        f"answered 2xx")
        for sha, outcome, ref in answers:
            if outcome == "converted":
                r = refs.get(ref)
                if r is None or r["event"] != eid:
                    errs.append(f"event {eid} answered converted, but "
                                f"referral {ref} has conversion_event "
                                f"{r and r['event']}")
                elif r["status"] not in ("rewarded", "voided") and \
                        r["review"] != "held":
                    errs.append(f"event {eid} converted referral {ref}, "
                                f"which is {r['status']}")
    for uid, b in signups.items():
        if uid not in signals:
            errs.append(f"signup of {uid} answered 2xx, no user_signals")
        ref = (b.get("referral") or {}).get("id")
        if ref and (ref not in refs or refs[ref]["referee"] != uid):
            errs.append(f"signup of {uid}: referral {ref} not stored")
        if b.get("code") and codes.get(uid) != b.get("code"):
            errs.append(f"signup of {uid}: code {b.get('code')} not stored")
    for uid, code in mints.items():
        if codes.get(uid) != code:
            errs.append(f"mint for {uid}: code {code}, stored "
                        f"{codes.get(uid)}")
    check("nothing accepted with a 2xx is missing", errs,
          f"{len(acked)} events, {len(signups)} signups, {len(mints)} "
          f"mints answered 2xx, {nres} answers")

    figs = {"rewards": len(rewards), "rewards_lost": lost,
            "rewards_twice": twice, "revocations_lost": revlost,
            "referrals": len(refs), "events_stored": len(events),
            "grants_applied": orders["grants"],
            "revocations_applied": orders["revocations"],
            "grants_cancelled": cancelled,
            "out_of_order": len(orders["bad"])}
    for ok, what, detail in checks:
        print(f"{'ok' if ok else 'not ok'}\t{what}\t{detail}")
    print("figures\t" + " ".join(f"{k}={v}" for k, v in figs.items()))
    if args.figures:
        with open(args.figures, "a", encoding="utf-8") as fh:
            for k, v in figs.items():
                fh.write(f"{k} {v}\n")
    return 0 if all(c[0] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
