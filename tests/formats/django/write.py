"""Writes Django sessions with the real Django: for each case on stdin
({"database_url": ..., "schema": ..., "cases": [{"engine": "db" | "signed_cookies",
"secret": ..., "fallbacks": [...], "user": "alice", "session": {...},
"then": "logout" | "expire", "signed_at": unix seconds, "serializer": "pickle"}]})
a user logs in through Django's test client (force_login) and the session
cookie it got becomes one Cookie header on stdout ({"cookies": [...],
"subjects": [the session's _auth_user_id or null, ...]}).
The `db` engine keeps the session in <schema>.django_session on PostgreSQL;
each test passes a schema of its own, so writers of parallel tests never
create or migrate the same one.
"""
import contextlib
import json
import pickle
import sys
from datetime import timedelta
from unittest import mock
from urllib.parse import urlparse

import django
from django.conf import settings

REQUEST = json.load(sys.stdin)
URL = urlparse(REQUEST["database_url"])
SCHEMA = REQUEST["schema"]
ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
}
urlpatterns = []

settings.configure(
    SECRET_KEY="placeholder-overridden-per-case",
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sessions",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": URL.path.lstrip("/") or "postgres",
            "USER": URL.username or "postgres",
            "PASSWORD": URL.password or "",
            "HOST": URL.hostname or "127.0.0.1",
            "PORT": URL.port or 5432,
            "OPTIONS": {"options": f"-c search_path={SCHEMA}"},
        }
    },
    ROOT_URLCONF=__name__,
    USE_TZ=True,
)
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402


class PickleSerializer:
    """A pickling SESSION_SERIALIZER, as Django < 5 shipped one."""

    def dumps(self, obj):
        return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)

    def loads(self, data):
        return pickle.loads(data)


def migrate():
    # The schema is this test's own: no other process creates or migrates it.
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
    call_command("migrate", verbosity=0, interactive=False)


def write(case):
    overrides = {
        "SECRET_KEY": case["secret"],
        "SECRET_KEY_FALLBACKS": case.get("fallbacks", []),
        "SESSION_ENGINE": ENGINES[case["engine"]],
    }
    if case.get("serializer") == "pickle":
        overrides["SESSION_SERIALIZER"] = f"{__name__}.PickleSerializer"
    clock = (
        mock.patch("django.core.signing.time.time", return_value=case["signed_at"])
        if "signed_at" in case
        else contextlib.nullcontext()
    )
    with override_settings(**overrides), clock:
        client = Client()
        if case.get("user"):
            user, _ = User.objects.get_or_create(username=case["user"])
            client.force_login(user)
        session = client.session
        session.update(case.get("session", {}))
        session.save()
        client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
        cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
        subject = session.get("_auth_user_id")
        if case.get("then") == "logout":
            client.logout()
        elif case.get("then") == "expire":
            Session.objects.filter(session_key=session.session_key).update(
                expire_date=timezone.now() - timedelta(seconds=1)
            )
    return cookie, subject


migrate()
written = [write(case) for case in REQUEST["cases"]]
print(json.dumps({"cookies": [c for c, _ in written], "subjects": [s for _, s in written]}))
