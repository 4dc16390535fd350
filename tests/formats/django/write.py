"""Writes Django sessions with the real Django, and asks Django's own
`get_user` about them. The request on stdin:

{"database_url": ..., "schema": ..., "user_model": "accounts.Member" (optional),
 "cases": [{"engine": "db" | "signed_cookies", "secret": ..., "fallbacks": [...],
            "user": "alice", "backend": "<AUTHENTICATION_BACKENDS path>",
            "session": {...}, "drop": ["_auth_user_hash", ...],
            "then": "logout" | "expire" | "set_password" | "change_password_here"
                    | "deactivate" | "delete_user",
            "signed_at": unix seconds, "serializer": "pickle"}],
 "verify": [{"engine": ..., "secret": ..., "fallbacks": [...], "cookie": "sessionid=..."}],
 "memberships": [{"user": "alice", "document": "Roadmap"}]}

For each case a user logs in through Django's test client (force_login) and
the session cookie it got becomes one Cookie header on stdout
({"cookies": [...], "subjects": [the session's _auth_user_id or null, ...],
"users": [...]}). `then` runs after the login: `set_password` is
`user.set_password(...); user.save()` (what Django's password reset and
admin do: every session of the user ends), `change_password_here` does the
same through `update_session_auth_hash` (the session it runs in stays, with a
new key). Each `verify` entry is answered in `users` with the pk Django's
`django.contrib.auth.get_user` finds for that cookie, or null when Django
treats it as anonymous (which, for the db engine, also deletes the row).

With `memberships`, the `collab` app (collab/models.py, migrated by its own
migration) is installed, and each entry makes the user (when missing), the
document (by title) and a Membership; the answer's "documents" maps each
title to its id.

With `user_model`, AUTH_USER_MODEL is the custom model in accounts/models.py
(table <schema>.members, a UUID key in column member_id) and `user` is its
e-mail. The `db` engine keeps the session in <schema>.django_session on
PostgreSQL;
each test passes a schema of its own, so writers of parallel tests never
create or migrate the same one.
"""
import contextlib
import json
import pickle
import sys
from datetime import timedelta
from importlib import import_module
from unittest import mock
from urllib.parse import urlparse

import django
from django.conf import settings

REQUEST = json.load(sys.stdin)
URL = urlparse(REQUEST["database_url"])
SCHEMA = REQUEST["schema"]
USER_MODEL = REQUEST.get("user_model", "auth.User")
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
        *(["accounts"] if USER_MODEL.startswith("accounts.") else []),
        *(["collab"] if "memberships" in REQUEST else []),
    ],
    AUTH_USER_MODEL=USER_MODEL,
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    AUTHENTICATION_BACKENDS=[
        "django.contrib.auth.backends.ModelBackend",
        "django.contrib.auth.backends.AllowAllUsersModelBackend",
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

from django.contrib.auth import get_user, get_user_model  # noqa: E402
from django.contrib.auth import update_session_auth_hash  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest  # noqa: E402
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
    # accounts has no migrations: syncdb creates its table.
    call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)


def overrides(case):
    return {
        "SECRET_KEY": case["secret"],
        "SECRET_KEY_FALLBACKS": case.get("fallbacks", []),
        "SESSION_ENGINE": ENGINES[case["engine"]],
    }


def write(case):
    changed = overrides(case)
    if case.get("serializer") == "pickle":
        changed["SESSION_SERIALIZER"] = f"{__name__}.PickleSerializer"
    clock = (
        mock.patch("django.core.signing.time.time", return_value=case["signed_at"])
        if "signed_at" in case
        else contextlib.nullcontext()
    )
    with override_settings(**changed), clock:
        client = Client()
        user = None
        if case.get("user"):
            User = get_user_model()
            user, _ = User._default_manager.get_or_create(
                **{User.USERNAME_FIELD: case["user"]}
            )
            client.force_login(user, backend=case.get("backend"))
        session = client.session
        session.update(case.get("session", {}))
        for key in case.get("drop", []):
            del session[key]
        session.save()
        client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
        subject = session.get("_auth_user_id")
        then = case.get("then")
        if then == "logout":
            client.logout()
        elif then == "expire":
            Session.objects.filter(session_key=session.session_key).update(
                expire_date=timezone.now() - timedelta(seconds=1)
            )
        elif then == "set_password":
            user.set_password("a-new-password-after-a-reset")
            user.save()
        elif then == "change_password_here":
            user.set_password("a-new-password-changed-in-this-session")
            user.save()
            request = HttpRequest()
            request.session = session
            request.user = user
            update_session_auth_hash(request, user)
            session.save()
        elif then == "deactivate":
            user.is_active = False
            user.save()
        elif then == "delete_user":
            user.delete()
        cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    return cookie, subject


def verify(check):
    """The pk Django's get_user finds for this cookie, or None."""
    with override_settings(**overrides(check)):
        engine = import_module(settings.SESSION_ENGINE)
        request = HttpRequest()
        request.session = engine.SessionStore(check["cookie"].split("=", 1)[1])
        user = get_user(request)
        return str(user.pk) if user.is_authenticated else None


def member(entry):
    """Makes `entry["user"]` a member of the document titled `entry["document"]`."""
    from collab.models import Document, Membership

    User = get_user_model()
    user, _ = User._default_manager.get_or_create(**{User.USERNAME_FIELD: entry["user"]})
    document, _ = Document.objects.get_or_create(title=entry["document"])
    Membership.objects.get_or_create(user=user, document=document)
    return entry["document"], document.id


migrate()
written = [write(case) for case in REQUEST.get("cases", [])]
users = [verify(check) for check in REQUEST.get("verify", [])]
documents = dict(member(entry) for entry in REQUEST.get("memberships", []))
print(
    json.dumps(
        {
            "cookies": [c for c, _ in written],
            "subjects": [s for _, s in written],
            "users": users,
            "documents": documents,
        }
    )
)
