from __future__ import annotations

from django.db import models


class PendingStatus(models.Model):
    """A status receipt (`statuses[]`) that arrived before its message row could be found.

    Meta may deliver `sent`/`delivered` before our send call returned the wamid (Meta: status
    webhook reference, webhooks overview). Such a receipt is parked here instead of failing and
    retrying the whole webhook change: the change (and the rest of its statuses and messages)
    completes at once, and the parked receipt is applied as soon as the row is found by wamid
    or by `biz_opaque_callback_data` ==
    `WhatsAppMessage.client_reference` (whatsapp.services.statuses). Unique per (wamid, status)
    like the receipts themselves, so a redelivered receipt is parked once.
    """

    wamid = models.CharField(max_length=255)
    status = models.CharField(max_length=16)
    callback_data = models.CharField(max_length=512, blank=True)
    timestamp = models.DateTimeField()
    payload = models.JSONField(default=dict, help_text="Meta's status object as received")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["wamid", "status"], name="uniq_pending_status"),
        ]
        indexes = [models.Index(fields=["callback_data"], name="pending_status_callback_idx")]

    def __str__(self) -> str:
        return f"pending {self.status} for {self.wamid}"
