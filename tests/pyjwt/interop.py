"""PyJWT peer for the Rust test suite.

    python interop.py jwks <url> <alg> <token>...

Verifies each token the way a Python service would against a JWKS URL:
PyJWKClient picks the key by the token's `kid`, and jwt.decode checks it with
the algorithm pinned, `exp` and `sub` required, and JWT_ISSUER / JWT_AUDIENCE
when set. Prints a JSON list: {"payload", "header"} or {"error", "code"} per
token (code: the exception's class name).
"""

import json
import os
import sys

import jwt


def main():
    mode, url, alg, *tokens = sys.argv[1:]
    if mode != "jwks":
        sys.exit("usage: python interop.py jwks <url> <alg> <token>...")
    issuer = os.environ.get("JWT_ISSUER") or None
    audience = os.environ.get("JWT_AUDIENCE") or None
    # One client for every token, as a service keeps it.
    client = jwt.PyJWKClient(url)
    results = []
    for token in tokens:
        try:
            key = client.get_signing_key_from_jwt(token)
            payload = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=issuer,
                audience=audience,
                options={"require": ["exp", "sub"]},
            )
            results.append({"payload": payload, "header": jwt.get_unverified_header(token)})
        except Exception as e:  # every refusal is reported, none is fatal
            results.append({"error": str(e), "code": type(e).__name__})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
