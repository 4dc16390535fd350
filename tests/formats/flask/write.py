"""Writes Flask session cookies with the real Flask and Flask-Login.

For each case on stdin ({"cases": [{"secret": "...", "fallbacks"?: [...],
"user"?: "alice", "session"?: {...}, "age"?: seconds, "cookie"?: "session"}]})
a Flask app with SECRET_KEY / SECRET_KEY_FALLBACKS logs `user` in with
Flask-Login's login_user (none when absent), sets the extra `session`
fields, and the session cookie it answers becomes one Cookie header on
stdout ({"cookies": ["session=..."]}). `age` signs as if that many seconds
ago (itsdangerous' own clock, patched). Extra fields may hold Python types
Flask tags: {"$tuple": [...]}, {"$bytes": "text"}, {"$uuid": "hex"},
{"$markup": "text"}, {"$datetime": unix_seconds}.
"""

import datetime
import json
import sys
import time
import uuid
from unittest import mock

import itsdangerous.timed
from flask import Flask, session
from flask_login import LoginManager, UserMixin, login_user
from markupsafe import Markup


class User(UserMixin):
    def __init__(self, user_id):
        self.id = user_id


def python(value):
    if isinstance(value, list):
        return [python(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, inner), = value.items()
        if key == "$tuple":
            return tuple(python(v) for v in inner)
        if key == "$bytes":
            return inner.encode()
        if key == "$uuid":
            return uuid.UUID(inner)
        if key == "$markup":
            return Markup(inner)
        if key == "$datetime":
            return datetime.datetime.fromtimestamp(inner, tz=datetime.timezone.utc)
    return {k: python(v) for k, v in value.items()}


def write(case):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = case["secret"]
    app.config["SECRET_KEY_FALLBACKS"] = case.get("fallbacks", [])
    app.config["SESSION_COOKIE_NAME"] = case.get("cookie", "session")
    login = LoginManager(app)
    login.user_loader(User)

    @app.route("/login")
    def log_in():
        if case.get("user") is not None:
            login_user(User(case["user"]))
        for key, value in case.get("session", {}).items():
            session[key] = python(value)
        return "ok"

    signed_at = int(time.time()) - case.get("age", 0)
    with mock.patch.object(
        itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: signed_at
    ):
        response = app.test_client().get("/login")
    name = app.config["SESSION_COOKIE_NAME"]
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "=")]
    return cookie.split(";")[0]


cases = json.load(sys.stdin)["cases"]
json.dump({"cookies": [write(c) for c in cases]}, sys.stdout)
