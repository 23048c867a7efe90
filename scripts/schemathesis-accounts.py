"""Accounts and access tokens for scripts/schemathesis.sh, got the way people and apps get them.

Prints three access tokens, one a line:
  1. a citizen's, for the tenant client (the tenant's API);
  2. the same citizen's, for the account client (the account API takes no tenant's token);
  3. a tenant official's (officer, leader and tenant admin of the tenant), for the tenant client.

Each account signs up through the API and confirms its address with the link from the mail; the
official's roles are granted with `dvc user grant`, and since tokens carry a tenant role only
for a session opened with a second factor, the official sets up TOTP through the account API
and signs in again with a code.

usage: schemathesis-accounts.py BASE MAILDIR REDIRECT_URI TENANT_CLIENT ACCOUNT_CLIENT DVC_BIN TENANT
"""

import base64
import email
import email.policy
import hashlib
import hmac
import os
import pathlib
import re
import struct
import subprocess
import sys
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import requests

BASE, MAILDIR, REDIRECT_URI, TENANT_CLIENT, ACCOUNT_CLIENT, DVC_BIN, TENANT = sys.argv[1:8]
PASSWORD = "Mot-mat-khau-du-dai-2026"


def check(r, *ok):
    if r.status_code not in ok:
        sys.exit(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:500]}")
    return r


def confirmation_token(address):
    deadline = time.time() + 60
    while time.time() < deadline:
        for f in pathlib.Path(MAILDIR, "new").iterdir():
            msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            if address not in str(msg["To"]):
                continue
            for part in msg.walk():
                if part.get_content_type() == "text/plain":
                    m = re.search(r"verify-email\?token=([A-Za-z0-9_-]+)", part.get_content())
                    if m:
                        return m.group(1)
        time.sleep(0.2)
    sys.exit(f"no confirmation mail for {address}")


def sign_up(who):
    address = f"{who}.{os.getpid()}@example.vn"
    s = requests.Session()
    check(s.post(f"{BASE}/api/v1/auth/register", json={
        "email": address, "password": PASSWORD, "full_name": "Nguyễn Thị Thử", "tenant": TENANT,
    }), 202)
    check(s.post(f"{BASE}/api/v1/auth/verify-email",
                 json={"token": confirmation_token(address)}), 200, 204)
    return address


class HiddenFields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_token(s, client_id, address, totp=None):
    """Authorization code + PKCE through the sign-in page (or the session `s` already has)."""
    verifier = b64(os.urandom(32))
    params = {
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
        "scope": "openid", "state": b64(os.urandom(8)), "nonce": b64(os.urandom(8)),
        "code_challenge": b64(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    r = check(s.get(f"{BASE}/oauth/authorize", params=params, allow_redirects=False), 200, 302, 303)
    if r.status_code == 200:  # the sign-in page
        form = HiddenFields()
        form.feed(r.text)
        if "csrf" not in form.fields:
            sys.exit(f"no sign-in form: {r.text[:500]}")
        data = {**form.fields, "email": address, "password": PASSWORD}
        if totp:
            data["totp"] = totp
        r = check(s.post(f"{BASE}/oauth/authorize", data=data, allow_redirects=False), 302, 303)
    code = parse_qs(urlparse(r.headers["Location"]).query)["code"][0]
    r = check(s.post(f"{BASE}/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_id": client_id, "code_verifier": verifier,
    }), 200)
    return r.json()["access_token"]


def totp_code(secret_b32, step):
    """RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def main():
    citizen = sign_up("cong.dan")
    s = requests.Session()
    tokens = [access_token(s, TENANT_CLIENT, citizen), access_token(s, ACCOUNT_CLIENT, citizen)]

    official = sign_up("can.bo")
    for role in ("officer", "leader", "tenant_admin"):
        subprocess.run([DVC_BIN, "user", "grant", official, role, "--tenant", TENANT],
                       check=True, stdout=subprocess.DEVNULL)
    s = requests.Session()
    account = {"Authorization": "Bearer " + access_token(s, ACCOUNT_CLIENT, official)}
    secret = check(s.post(f"{BASE}/api/v1/auth/totp", headers=account), 200).json()["secret"]
    step = int(time.time()) // 30
    check(s.post(f"{BASE}/api/v1/auth/totp/confirm", headers=account,
                 json={"code": totp_code(secret, step)}), 204)
    # Each code works once: sign in again, in a new session, with the next step's code.
    while int(time.time()) // 30 <= step:
        time.sleep(0.5)
    tokens.append(access_token(requests.Session(), TENANT_CLIENT, official,
                               totp=totp_code(secret, step + 1)))
    print("\n".join(tokens))


main()
