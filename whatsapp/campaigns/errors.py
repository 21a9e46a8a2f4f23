"""Domain errors of campaigns (the API's one handler maps each `code` to its status)."""

from __future__ import annotations

from whatsapp.errors import WhatsAppDomainError


class CampaignNotFoundError(WhatsAppDomainError):
    code = "campaign_not_found"
    http_status = 404


class CampaignStateError(WhatsAppDomainError):
    """The action does not apply in the campaign's state (e.g. editing a running campaign)."""

    code = "campaign_state"
    http_status = 409


class CampaignInvalidError(WhatsAppDomainError):
    """The campaign's definition (audience, mapping, template, schedule) is not usable."""

    code = "campaign_invalid"


class CampaignRefusedError(WhatsAppDomainError):
    """Starting was refused: the flight plan breaks a hard limit (quota, messaging limit, an
    empty audience). Nothing was sent; `reasons` lists every limit broken."""

    code = "campaign_refused"
    http_status = 409

    def __init__(self, message: str, *, reasons: list[str]) -> None:
        super().__init__(message)
        self.reasons = reasons
