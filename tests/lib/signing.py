"""Standard Webhooks signatures for the test helpers: the one signer.

Every Python helper of tests/ (and bench/) imports this module; the shell
suites call tests/lib/sign.  An implementation of its own (stdlib only),
so that the tests do not check referd's signatures with referd's code.

    key(secret)                      "whsec_<base64>" -> HMAC key bytes
    sign(secret_or_key, id, ts, body)  -> "v1,<base64 HMAC-SHA256>"
    verify(key, id, ts, header, body, now=None, tolerance=300,
           check_ts=True)            -> None if valid, else a reason
"""
import base64
import hashlib
import hmac
import time

DEFAULT_TOLERANCE = 300

# The published Standard Webhooks test vector.
VECTOR = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": "1614265330",
    "body": b'{"test": 2432232314}',
    "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}


def key(secret):
    """Return the HMAC key bytes of a "whsec_..." secret."""
    s = secret.strip()
    if s.startswith("whsec_"):
        s = s[len("whsec_"):]
    s += "=" * (-len(s) % 4)
    return base64.b64decode(s, validate=True)


def sign(secret, msg_id, ts, body):
    """Return "v1,<base64 HMAC-SHA256>" over "{id}.{ts}.{body}".

    "secret" is a "whsec_..." string or key bytes; "body" str or bytes.
    """
    k = key(secret) if isinstance(secret, str) else secret
    if isinstance(body, str):
        body = body.encode()
    mac = hmac.new(k, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def verify(k, msg_id, ts, sig_header, body, now=None,
           tolerance=DEFAULT_TOLERANCE, check_ts=True):
    """Return None when valid, else a short reason string."""
    if not msg_id or not ts or not sig_header:
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    try:
        tsi = int(ts)
    except ValueError:
        return "bad webhook-timestamp"
    if check_ts:
        if now is None:
            now = time.time()
        if abs(now - tsi) > tolerance:
            return "webhook-timestamp outside tolerance"
    want = sign(k, msg_id, ts, body).split(",", 1)[1].encode()
    ok = False
    for part in sig_header.split():
        ver, _, sig = part.partition(",")
        if ver != "v1" or not sig:
            continue
        # compare every candidate; no early exit
        if hmac.compare_digest(sig.encode(), want):
            ok = True
    return None if ok else "signature mismatch"


def selftest():
    """Return True if sign() and verify() agree with the published vector."""
    v = VECTOR
    got = sign(v["secret"], v["id"], v["timestamp"], v["body"])
    return got == v["signature"] and verify(
        key(v["secret"]), v["id"], v["timestamp"], v["signature"],
        v["body"], check_ts=False) is None
