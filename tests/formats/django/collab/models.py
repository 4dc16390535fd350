"""A collaboration app's own tables, as a Django project writes them: who
may open which document (the room source examples' `ROOMS_QUERY` reads
collab_membership). The migration in migrations/ is what `manage.py
makemigrations collab` generated from these models."""
from django.conf import settings
from django.db import models


class Document(models.Model):
    title = models.CharField(max_length=200)

    class Meta:
        app_label = "collab"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    document = models.ForeignKey(Document, on_delete=models.CASCADE)
    role = models.CharField(max_length=20, default="editor")

    class Meta:
        app_label = "collab"
        constraints = [
            models.UniqueConstraint(fields=["user", "document"], name="one_membership")
        ]
