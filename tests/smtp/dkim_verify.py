"""Verifies the DKIM signature of a stored message with dkimpy, answering the DNS lookup with
the given public key (there is no DNS here). Exit 0 when the signature is valid.

Usage: python3 tests/smtp/dkim_verify.py MESSAGE_FILE PUBLIC_KEY_BASE64
"""
import sys

import dkim


def main():
    message = open(sys.argv[1], "rb").read()
    record = b"v=DKIM1; k=rsa; p=" + sys.argv[2].encode()
    ok = dkim.verify(message, dnsfunc=lambda name, timeout=5: record)
    print("valid" if ok else "invalid")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
