"""Signs a private_key_jwt client assertion (RFC 7523) with PyJWT: an implementation
independent of dvc's, as an outside system would use. Prints the JWT.

Usage: python3 tests/auth/client_assertion.py PRIVATE_KEY_PEM_FILE CLIENT_ID AUDIENCE KID
"""
import sys
import time
import uuid

import jwt


def main():
    pem_file, client_id, audience, kid = sys.argv[1:5]
    with open(pem_file, "rb") as f:
        key = f.read()
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 120,
    }
    print(jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid}))


if __name__ == "__main__":
    main()
