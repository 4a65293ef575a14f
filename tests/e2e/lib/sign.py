#!/usr/bin/env python3
"""Signs stdin per Standard Webhooks: prints "v1,<base64 HMAC-SHA256>".

usage: sign.py SECRET ID TIMESTAMP < body
       sign.py --selftest   (checks the published vector of the spec)

An implementation of its own (stdlib only), so the end-to-end tests do not
check referd's signatures with referd's code.
"""
import base64
import hashlib
import hmac
import sys


def sign(secret, msg_id, ts, body):
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body,
                   hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--selftest":
        got = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                   "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                   b'{"test": 2432232314}')
        want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        print("ok" if got == want else "FAIL " + got)
        return 0 if got == want else 1
    if len(sys.argv) != 4 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(sys.argv) != 2 else sys.stdout)
        return 0 if len(sys.argv) == 2 else 2
    print(sign(sys.argv[1], sys.argv[2], sys.argv[3], sys.stdin.buffer.read()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
