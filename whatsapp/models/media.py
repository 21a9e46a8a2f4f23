from __future__ import annotations

import mimetypes
import uuid
from datetime import UTC, datetime

from django.db import models

from whatsapp.models.messages import WhatsAppMessage


def tenant_media_path(instance: WhatsAppMedia, filename: str) -> str:
    """Storage path under the owning organization's prefix; never built from user-supplied
    names (`filename` is ignored: it may come from a customer)."""
    from tenants.access import current_org_id  # models import before the tenants services

    now = datetime.now(tz=UTC)
    return f"tenants/{current_org_id()}/media/{now:%Y/%m}/{uuid.uuid4().hex}{instance.extension}"


class WhatsAppMedia(models.Model):
    """A media file of a message: downloaded from Meta (incoming) or uploaded to it (outgoing)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending download"
        STORED = "stored", "Stored"
        FAILED = "failed", "Failed"
        # Outgoing media sent by Meta media id or public link: nothing of ours to download/store.
        REFERENCED = "referenced", "Referenced by id or link"

    message = models.OneToOneField(
        WhatsAppMessage, null=True, blank=True, on_delete=models.CASCADE, related_name="media"
    )
    media_id = models.CharField(max_length=128, blank=True, db_index=True, help_text="Meta's id")
    mime_type = models.CharField(max_length=128, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=128, blank=True)
    original_filename = models.CharField(max_length=255, blank=True)
    file = models.FileField(upload_to=tenant_media_path, max_length=255, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    stored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.mime_type or 'media'} {self.media_id or self.pk}"

    @property
    def extension(self) -> str:
        """A safe extension from the MIME type (parameters such as `; codecs=opus` stripped)."""
        base = self.mime_type.split(";", 1)[0].strip().lower()
        overrides = {"audio/ogg": ".ogg", "image/jpeg": ".jpg", "audio/mpeg": ".mp3"}
        return overrides.get(base) or mimetypes.guess_extension(base) or ".bin"
