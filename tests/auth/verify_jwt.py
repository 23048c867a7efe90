"""Verifies a dvc access token with PyJWT, knowing only the published JWKS URL: an
implementation independent of dvc's. Prints the subject; exits 1 when verification fails.

Usage: python3 tests/auth/verify_jwt.py JWKS_URL TOKEN ISSUER AUDIENCE
"""
import sys

import jwt


def main():
    url, token, issuer, audience = sys.argv[1:5]
    key = jwt.PyJWKClient(url).get_signing_key_from_jwt(token)
    if jwt.get_unverified_header(token).get("typ") != "at+jwt":
        print("wrong typ")
        sys.exit(1)
    try:
        claims = jwt.decode(token, key.key, algorithms=["ES256"], issuer=issuer, audience=audience)
    except jwt.PyJWTError as e:
        print(f"invalid: {e}")
        sys.exit(1)
    print(claims["sub"])


if __name__ == "__main__":
    main()
