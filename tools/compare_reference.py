#!/usr/bin/env python3
"""Sends the same requests to the Simple JWT reference and to Tessera and diffs the answers.

Usage:
    tools/compare_reference.py --ref http://127.0.0.1:18000 --tessera http://127.0.0.1:18001

Both servers must hold the reference's users (alice/alice-pass, inactive/inactive-pass, …)
and share the signing key, so tokens minted by one verify on the other. Tokens in bodies
are replaced by <jwt> before comparing; status, body and the headers clients read
(WWW-Authenticate, Allow, Content-Type) are compared. Prints one line per case and a
summary "N passed, M failed"; exits 1 when anything differs.
Standard library only.
"""
import argparse
import base64
import hashlib
import hmac
import json
import re
import sys
import time
import urllib.error
import urllib.request

JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
HEADERS = ("www-authenticate", "allow", "content-type", "cache-control")


def request(base, method, path, headers=None, body=None, ctype="application/json"):
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs["Content-Type"] = ctype
    req = urllib.request.Request(base + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, raw, h = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, raw, h = e.code, e.read(), e.headers
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = "<non-JSON %d bytes>" % len(raw)
    return status, parsed, {k: h.get(k) for k in HEADERS}


def norm(v):
    if isinstance(v, dict):
        out = {k: norm(x) for k, x in v.items()}
        if "created_at" in out:
            out["created_at"] = "<datetime>"
        if isinstance(out.get("detail"), str) and out["detail"].startswith("JSON parse error - "):
            out["detail"] = "JSON parse error - <parser message>"
        return out
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, str) and JWT.match(v) and v.count(".") == 2 and len(v) > 40:
        return "<jwt>"
    return v


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(key, header, claims):
    h = b64(json.dumps(header, separators=(",", ":")).encode())
    p = b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(key.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(sig)}"


def login(base, user="alice", pw=None):
    s, b, _ = request(base, "POST", "/api/token/", body={"username": user, "password": pw or user + "-pass"})
    assert s == 200, (base, s, b)
    return b["access"], b["refresh"]


def cases(base, key):
    """The requests, built per server (each needs its own fresh tokens)."""
    access, refresh = login(base)
    _, spent = login(base)
    request(base, "POST", "/api/token/refresh/", body={"refresh": spent})
    _, logout = login(base)
    request(base, "POST", "/api/token/blacklist/", body={"refresh": logout})
    s, sl, _ = request(base, "POST", "/api/token/sliding/", body={"username": "bob", "password": "bob-pass"})
    sliding = sl["token"]
    now = int(time.time())
    jti = "0123456789abcdef0123456789abcdef"
    forged = {
        "none": b64(b'{"alg":"none","typ":"JWT"}') + "." + b64(json.dumps({"token_type": "access", "exp": now + 60, "jti": jti, "user_id": "1"}).encode()) + ".",
        "no_jti": sign(key, {"alg": "HS256", "typ": "JWT"}, {"token_type": "access", "exp": now + 60, "iat": now, "user_id": "1"}),
        "no_type": sign(key, {"alg": "HS256", "typ": "JWT"}, {"exp": now + 60, "iat": now, "jti": jti, "user_id": "1"}),
        "no_exp": sign(key, {"alg": "HS256", "typ": "JWT"}, {"token_type": "access", "iat": now, "jti": jti, "user_id": "1"}),
        "no_user": sign(key, {"alg": "HS256", "typ": "JWT"}, {"token_type": "access", "exp": now + 60, "iat": now, "jti": jti}),
        "ghost_user": sign(key, {"alg": "HS256", "typ": "JWT"}, {"token_type": "access", "exp": now + 60, "iat": now, "jti": jti, "user_id": "999"}),
        "inactive_user": sign(key, {"alg": "HS256", "typ": "JWT"}, {"token_type": "access", "exp": now + 60, "iat": now, "jti": jti, "user_id": "5"}),
        "expired": sign(key, {"alg": "HS256", "typ": "JWT"}, {"token_type": "access", "exp": now - 10, "iat": now - 400, "jti": jti, "user_id": "1"}),
        "future_iat": sign(key, {"alg": "HS256", "typ": "JWT"}, {"token_type": "access", "exp": now + 600, "iat": now + 120, "jti": jti, "user_id": "1"}),
        "sliding_no_refresh_exp": sign(key, {"alg": "HS256", "typ": "JWT"}, {"token_type": "sliding", "exp": now + 60, "iat": now, "jti": jti, "user_id": "1"}),
        "sliding_refresh_exp_past": sign(key, {"alg": "HS256", "typ": "JWT"}, {"token_type": "sliding", "exp": now + 60, "iat": now, "jti": jti, "refresh_exp": now - 5, "user_id": "1"}),
        "custom_type": sign(key, {"alg": "HS256", "typ": "JWT"}, {"token_type": "custom", "exp": now + 60, "iat": now, "jti": jti}),
    }
    bearer = lambda t: {"Authorization": "Bearer " + t}
    out = []
    add = lambda name, *a, **k: out.append((name, a, k))
    # obtain
    add("obtain ok", "POST", "/api/token/", body={"username": "alice", "password": "alice-pass"})
    add("obtain form", "POST", "/api/token/", body=b"username=alice&password=alice-pass", ctype="application/x-www-form-urlencoded")
    add("obtain {}", "POST", "/api/token/", body={})
    add("obtain only username", "POST", "/api/token/", body={"username": "alice"})
    add("obtain blank/null", "POST", "/api/token/", body={"username": "", "password": None})
    add("obtain list/dict", "POST", "/api/token/", body={"username": ["a"], "password": {"a": 1}})
    add("obtain wrong password", "POST", "/api/token/", body={"username": "alice", "password": "nope"})
    add("obtain unknown user", "POST", "/api/token/", body={"username": "nobody", "password": "x"})
    add("obtain inactive", "POST", "/api/token/", body={"username": "inactive", "password": "inactive-pass"})
    add("obtain text/plain", "POST", "/api/token/", body=b"hello", ctype="text/plain")
    add("obtain bad json", "POST", "/api/token/", body=b'{"username":', ctype="application/json")
    add("obtain json list", "POST", "/api/token/", body=b"[1]", ctype="application/json")
    for m in ("GET", "PUT", "DELETE"):
        add(f"{m} token", m, "/api/token/")
    # refresh
    add("refresh ok (rotation)", "POST", "/api/token/refresh/", body={"refresh": refresh})
    add("refresh spent", "POST", "/api/token/refresh/", body={"refresh": spent})
    add("refresh logged out", "POST", "/api/token/refresh/", body={"refresh": logout})
    add("refresh with access", "POST", "/api/token/refresh/", body={"refresh": access})
    add("refresh garbage", "POST", "/api/token/refresh/", body={"refresh": "garbage"})
    add("refresh int", "POST", "/api/token/refresh/", body={"refresh": 123})
    add("refresh {}", "POST", "/api/token/refresh/", body={})
    add("refresh no exp", "POST", "/api/token/refresh/", body={"refresh": forged["no_exp"]})
    # verify
    add("verify access", "POST", "/api/token/verify/", body={"token": access})
    add("verify custom type", "POST", "/api/token/verify/", body={"token": forged["custom_type"]})
    add("verify spent", "POST", "/api/token/verify/", body={"token": spent})
    add("verify garbage", "POST", "/api/token/verify/", body={"token": "garbage"})
    add("verify expired", "POST", "/api/token/verify/", body={"token": forged["expired"]})
    add("verify no exp", "POST", "/api/token/verify/", body={"token": forged["no_exp"]})
    add("verify no jti", "POST", "/api/token/verify/", body={"token": forged["no_jti"]})
    add("verify future iat", "POST", "/api/token/verify/", body={"token": forged["future_iat"]})
    add("verify alg none", "POST", "/api/token/verify/", body={"token": forged["none"]})
    add("verify {}", "POST", "/api/token/verify/", body={})
    # blacklist
    add("blacklist access", "POST", "/api/token/blacklist/", body={"refresh": access})
    add("blacklist again", "POST", "/api/token/blacklist/", body={"refresh": logout})
    add("blacklist {}", "POST", "/api/token/blacklist/", body={})
    # sliding
    add("sliding obtain", "POST", "/api/token/sliding/", body={"username": "alice", "password": "alice-pass"})
    add("sliding refresh", "POST", "/api/token/sliding/refresh/", body={"token": sliding})
    add("sliding refresh access", "POST", "/api/token/sliding/refresh/", body={"token": access})
    add("sliding no refresh_exp", "POST", "/api/token/sliding/refresh/", body={"token": forged["sliding_no_refresh_exp"]})
    add("sliding refresh_exp past", "POST", "/api/token/sliding/refresh/", body={"token": forged["sliding_refresh_exp_past"]})
    add("sliding refresh {}", "POST", "/api/token/sliding/refresh/", body={})
    # protected
    add("me ok", "GET", "/api/me/", headers=bearer(access))
    add("me sliding", "GET", "/api/me/", headers=bearer(sliding))
    add("me no header", "GET", "/api/me/")
    add("me lower bearer", "GET", "/api/me/", headers={"Authorization": "bearer " + access})
    add("me JWT scheme", "GET", "/api/me/", headers={"Authorization": "JWT " + access})
    add("me Bearer alone", "GET", "/api/me/", headers={"Authorization": "Bearer"})
    add("me Bearer a b", "GET", "/api/me/", headers={"Authorization": "Bearer a b"})
    add("me tab separator", "GET", "/api/me/", headers={"Authorization": "Bearer\t" + access})
    add("me refresh token", "GET", "/api/me/", headers=bearer(refresh))
    add("me garbage", "GET", "/api/me/", headers=bearer("garbage"))
    for k in ("none", "no_jti", "no_type", "no_exp", "no_user", "ghost_user", "inactive_user", "expired", "future_iat"):
        add(f"me {k}", "GET", "/api/me/", headers=bearer(forged[k]))
    add("me POST", "POST", "/api/me/", headers=bearer(access), body={})
    add("me DELETE no auth", "DELETE", "/api/me/")
    add("me OPTIONS no auth", "OPTIONS", "/api/me/")
    add("reviews", "GET", "/api/reviews/", headers=bearer(access))
    add("reviews no auth", "GET", "/api/reviews/")
    add("health", "GET", "/api/health/")
    add("health garbage auth", "GET", "/api/health/", headers=bearer("garbage"))
    # pair check
    _, r2 = login(base)
    add("valid both", "POST", "/api/token/valid/", headers=bearer(access), body={"refresh": r2})
    add("valid access bad", "POST", "/api/token/valid/", headers=bearer("garbage"), body={"refresh": r2})
    add("valid no header", "POST", "/api/token/valid/", body={"refresh": r2})
    add("valid refresh spent", "POST", "/api/token/valid/", headers=bearer(access), body={"refresh": spent})
    add("valid refresh missing", "POST", "/api/token/valid/", headers=bearer(access), body={})
    add("valid both bad", "POST", "/api/token/valid/", headers=bearer("x"), body={"refresh": 5})
    return out


# Where Tessera deliberately differs (README.md, "Deviations"): name -> reason.
EXPECTED = {
    "me no_jti": "Simple JWT answers 500 (KeyError in the sliding blacklist check); Tessera 401",
    "reviews": "Tessera's demo API also takes POST /api/reviews/, so Allow lists POST",
    "reviews no auth": "Tessera's demo API also takes POST /api/reviews/, so Allow lists POST",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True)
    ap.add_argument("--tessera", required=True)
    ap.add_argument("--key", default="reference-only-insecure-signing-key-do-not-deploy")
    a = ap.parse_args()
    ref_cases = cases(a.ref, a.key)
    tes_cases = cases(a.tessera, a.key)
    passed = failed = 0
    for (name, args, kw), (_, targs, tkw) in zip(ref_cases, tes_cases):
        rs, rb, rh = request(a.ref, *args, **kw)
        ts, tb, th = request(a.tessera, *targs, **tkw)
        same = (rs, norm(rb)) == (ts, norm(tb))
        for h in ("www-authenticate", "allow"):
            same = same and (rh.get(h) == th.get(h))
        if not same and name in EXPECTED:
            passed += 1
            print(f"expected {name}: {EXPECTED[name]}")
        elif same:
            passed += 1
            print(f"same     {name}: {rs} {json.dumps(norm(rb))[:100]}")
        else:
            failed += 1
            print(f"DIFFERS  {name}:\n    reference {rs} {json.dumps(norm(rb))} {rh}\n    tessera   {ts} {json.dumps(norm(tb))} {th}")
    # Interoperability: tokens minted by one server are accepted by the other.
    for src, dst, sname, dname in ((a.ref, a.tessera, "reference", "tessera"), (a.tessera, a.ref, "tessera", "reference")):
        acc, ref = login(src)
        s1, b1, _ = request(dst, "GET", "/api/me/", headers={"Authorization": "Bearer " + acc})
        s2, b2, _ = request(dst, "POST", "/api/token/refresh/", body={"refresh": ref})
        ok = s1 == 200 and s2 == 200 and b1.get("username") == "alice"
        passed, failed = passed + ok, failed + (not ok)
        print(f"{'same    ' if ok else 'DIFFERS '} {sname} tokens on {dname}: me {s1}, refresh {s2}")
    print(f"\ncompare: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
