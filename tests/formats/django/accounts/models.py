"""A custom user model (AUTH_USER_MODEL = "accounts.Member") as apps write
them: a UUID primary key in a column of its own name, an e-mail as the
user name, and no is_active field (AbstractBaseUser's class attribute says
True)."""
import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models


class Member(AbstractBaseUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_column="member_id")
    email = models.CharField(max_length=200, unique=True)

    objects = BaseUserManager()

    USERNAME_FIELD = "email"

    class Meta:
        app_label = "accounts"
        db_table = "members"
