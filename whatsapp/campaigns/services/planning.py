"""Creating and planning a campaign: the audience resolved, variables frozen per recipient,
and the flight plan (what will happen, before anything is sent) stored on the campaign.

Flight plan (`Campaign.plan`), every count over the audience after reading it:
`{"audience": n read, "recipients": n to send, "duplicates": n, "opted_out": n,
"us_marketing": n, "unresolved": {variable: n}, "skipped": n, "import": {...CSV report} | None,
"messaging_limit": {"tier", "limit", "used_24h", "headroom"}, "quota": {"outbound_messages":
headroom | None, "campaigns": headroom | None}, "rate_per_second", "duration_seconds",
"cost": {"currency", "effective_date", "total", "by_category": {..}, "by_country": {..}},
"blockers": [reason, ...], "template": {"name", "language", "category"}}`.

Meta's rules it applies:
- Opted-out contacts (`Contact.opted_out_at`: the user stopped marketing) get no MARKETING
  template; utility and authentication templates still go to them.
- MARKETING templates are not delivered to US (+1) WhatsApp users
  (https://developers.facebook.com/docs/whatsapp/pricing/updates-to-pricing/): such recipients
  are skipped `us_marketing` rather than paid for.
- The messaging limit caps the distinct users a business starts conversations with in a
  rolling 24 hours (https://developers.facebook.com/docs/whatsapp/messaging-limits).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing_stub.quota import quota_headroom
from tenants.models import PhoneNumber
from whatsapp.campaigns.errors import (
    CampaignInvalidError,
    CampaignNotFoundError,
    CampaignStateError,
)
from whatsapp.campaigns.models import Campaign, CampaignRecipient
from whatsapp.campaigns.services.audience import (
    AudienceRow,
    contacts_by_ids,
    contacts_by_tags,
    csv_audience,
)
from whatsapp.campaigns.services.rates import rate_table
from whatsapp.inbox.contacts_io import _contacts_within_plan as contacts_within_plan
from whatsapp.message_templates.compose import template_shape
from whatsapp.message_templates.models import MessageTemplate
from whatsapp.message_templates.services.fill import CONTACT_FIELDS, DEFAULT_FIELD_OF_VARIABLE
from whatsapp.message_templates.services.send import template_for_send
from whatsapp.models import WhatsAppMessage
from whatsapp.services.outbound import sending_number_for
from whatsapp.services.outbound.rules import current_organization
from whatsapp.services.ratelimit import effective_limit, number_messages_per_second

MARKETING = "MARKETING"
# Meta's messaging-limit tiers: distinct users per rolling 24 hours (None: unlimited).
TIER_LIMITS: dict[str, int | None] = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1000,
    "TIER_2K": 2000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}
# Meta's highest throughput per number (https://developers.facebook.com/docs/whatsapp/throughput).
MAX_RATE_PER_SECOND = 1000
Skip = str  # skip reasons: opted_out, us_marketing, missing_variable


def campaign_get(*, campaign_id: int) -> Campaign:
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise CampaignNotFoundError("No such campaign.")
    return campaign


def _check_definition(
    *, audience: Mapping[str, Any], variables: Mapping[str, Any], rate_per_second: int | None
) -> None:
    kinds = [k for k in ("tags", "contact_ids", "csv") if audience.get(k)]
    if len(kinds) != 1:
        raise CampaignInvalidError(
            "The audience is one of: tags, contact_ids, or csv (a file given when planning).",
            field="audience",
        )
    for variable, spec in variables.items():
        if not isinstance(spec, Mapping) or not (spec.get("field") or spec.get("column")):
            raise CampaignInvalidError(
                f"Variable {variable}: give a contact `field` or a CSV `column`.",
                field=f"variables.{variable}",
            )
        if spec.get("field") and spec["field"] not in CONTACT_FIELDS:
            raise CampaignInvalidError(
                f"Variable {variable}: unknown contact field {spec['field']!r} "
                f"(one of {', '.join(CONTACT_FIELDS)}).",
                field=f"variables.{variable}",
            )
    if rate_per_second is not None and not 1 <= rate_per_second <= MAX_RATE_PER_SECOND:
        raise CampaignInvalidError(
            f"rate_per_second is between 1 and {MAX_RATE_PER_SECOND} (Meta's highest throughput).",
            field="rate_per_second",
        )


@transaction.atomic
def campaign_create(
    *,
    name: str,
    template_name: str,
    template_language: str,
    audience: Mapping[str, Any],
    variables: Mapping[str, Any] | None = None,
    template_extras: Mapping[str, Any] | None = None,
    phone_number_id: str = "",
    scheduled_at: dt.datetime | None = None,
    rate_per_second: int | None = None,
    created_by_id: int | None = None,
) -> Campaign:
    """A draft campaign of the current organization. `phone_number_id` empty: its first
    number. Raises CampaignInvalidError (also for a `scheduled_at` in the past),
    NoSendingNumberError."""
    variables = dict(variables or {})
    _check_definition(audience=audience, variables=variables, rate_per_second=rate_per_second)
    if scheduled_at is not None and scheduled_at < timezone.now():
        raise CampaignInvalidError(
            "The scheduled time is in the past: leave it empty to send when you start.",
            field="scheduled_at",
        )
    number = sending_number_for(
        organization=current_organization(), phone_number_id=phone_number_id or None
    )
    return Campaign.objects.create(
        name=name,
        phone_number_id=number.phone_number_id,
        template_name=template_name,
        template_language=template_language,
        audience=dict(audience),
        variables=variables,
        template_extras=dict(template_extras or {}),
        scheduled_at=scheduled_at,
        rate_per_second=rate_per_second,
        created_by_id=created_by_id,
    )


def campaign_rate(*, campaign: Campaign, number: PhoneNumber, sharing: int = 1) -> float:
    """Messages a second this campaign is fed at: the number's tier less the share kept for
    live conversations (settings CAMPAIGN_RESERVED_SHARE, default the limiter's
    WHATSAPP_RATE_LIMIT_RESERVED_SHARE), split evenly between the `sharing` campaigns running
    on the number, capped by the campaign's own `rate_per_second`."""
    reserved = getattr(
        settings,
        "CAMPAIGN_RESERVED_SHARE",
        float(getattr(settings, "WHATSAPP_RATE_LIMIT_RESERVED_SHARE", 0.1)),
    )
    limit = effective_limit(
        messages_per_second=number_messages_per_second(number), reserved_share=float(reserved)
    )
    share = limit / max(1, sharing)
    return float(min(share, campaign.rate_per_second or share))


_region_cache: dict[str, str] = {}


def country_of(address: str) -> str:
    """ISO region of a wa_id ("" for a BSUID or an unknown code), cached by prefix. Outside
    +1 the calling code decides; +1 numbers are told apart by area code (US, CA, ...), an
    area code `phonenumbers` cannot place counting as US (the code's main region)."""
    if not address.isdigit():
        return ""
    key = address[:4] if address.startswith("1") else address[:3]
    region = _region_cache.get(key)
    if region is None:
        try:
            number = phonenumbers.parse("+" + address)
        except phonenumbers.NumberParseException:
            region = ""
        else:
            main = phonenumbers.region_code_for_country_code(number.country_code)
            if number.country_code == 1:
                region = phonenumbers.region_code_for_number(number) or main
            else:
                region = main
            region = "" if region == phonenumbers.UNKNOWN_REGION else region
        _region_cache[key] = region
    return region


def _resolve(
    *,
    variables: tuple[str, ...],
    mapping: Mapping[str, Any],
    row: AudienceRow,
) -> tuple[dict[str, str], list[str]]:
    values: dict[str, str] = {}
    missing: list[str] = []
    for variable in variables:
        spec = mapping.get(variable) or {}
        value = ""
        if spec.get("column"):
            value = row.values.get(str(spec["column"]).lower(), "")
        elif spec.get("field"):
            value = CONTACT_FIELDS[spec["field"]](row.contact)
        elif variable.lower() in row.values:
            value = row.values[variable.lower()]
        elif DEFAULT_FIELD_OF_VARIABLE.get(variable):
            value = CONTACT_FIELDS[DEFAULT_FIELD_OF_VARIABLE[variable]](row.contact)
        value = value or str(spec.get("fallback") or "")
        values[variable] = value
        if not value:
            missing.append(variable)
    return values, missing


def _messaging_limit(number: PhoneNumber) -> dict[str, Any]:
    tier = number.messaging_limit_tier or ""
    limit = TIER_LIMITS.get(tier)
    since = timezone.now() - dt.timedelta(hours=24)
    numbers = PhoneNumber.objects.filter(waba_id=number.waba_id).values_list(
        "phone_number_id", flat=True
    )
    used = (
        WhatsAppMessage.objects.filter(
            direction=WhatsAppMessage.Direction.OUTGOING,
            type="template",
            phone_number_id__in=list(numbers),
            timestamp__gte=since,
        )
        .values("contact_id")
        .distinct()
        .count()
    )
    headroom = None if limit is None else max(0, limit - used)
    return {"tier": tier or "unknown", "limit": limit, "used_24h": used, "headroom": headroom}


def quota_headrooms(*, organization_id: int) -> dict[str, int | None]:
    """The plan's headroom (billing_stub.quota; None = unlimited) for sends and campaigns."""
    return {
        "outbound_messages": quota_headroom(
            organization_id=organization_id, limit="outbound_messages_per_month"
        ),
        "campaigns": quota_headroom(organization_id=organization_id, limit="campaigns_per_month"),
    }


def plan_blockers(
    *, recipients: int, quota: Mapping[str, int | None], messaging_limit: Mapping[str, Any]
) -> list[str]:
    """Why starting must be refused (empty: it may start)."""
    blockers = []
    if recipients == 0:
        blockers.append("No recipient to send to.")
    if quota.get("outbound_messages") is not None and recipients > quota["outbound_messages"]:
        blockers.append(
            f"{recipients} messages exceed the plan's remaining "
            f"{quota['outbound_messages']} outbound messages this month."
        )
    if quota.get("campaigns") is not None and quota["campaigns"] < 1:
        blockers.append("The plan allows no more campaigns this month.")
    headroom = messaging_limit.get("headroom")
    if headroom is not None and recipients > headroom:
        blockers.append(
            f"{recipients} recipients exceed the number's messaging limit headroom ({headroom} "
            f"more users in the next 24 hours, tier {messaging_limit.get('tier')})."
        )
    return blockers


def _audience_rows(
    campaign: Campaign, *, csv_data: bytes | None, known_columns: list[str]
) -> tuple[list[AudienceRow], dict | None]:
    audience = campaign.audience or {}
    if audience.get("csv"):
        if csv_data is None:
            raise CampaignInvalidError("This campaign's audience is a CSV file: upload it.",
                                       field="csv")  # fmt: skip
        rows, report = csv_audience(data=csv_data, known_columns=known_columns)
        return rows, report.as_dict()
    if audience.get("tags"):
        return contacts_by_tags(audience["tags"]), None
    return contacts_by_ids(audience.get("contact_ids") or []), None


@transaction.atomic
def campaign_plan(*, campaign_id: int, csv_data: bytes | None = None) -> Campaign:
    """Resolve the audience, freeze every recipient's variables and store the flight plan
    (the campaign becomes `planned`; planning again replaces the recipients).

    Raises CampaignNotFoundError, CampaignStateError (not draft/planned),
    CampaignInvalidError (no CSV file for a CSV audience, an unreadable file),
    QuotaExceeded (the contacts a CSV file creates would pass the plan's `contacts`),
    TemplateNotFoundError / TemplateNotSendableError (the template is not APPROVED),
    NoSendingNumberError.
    """
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        raise CampaignNotFoundError("No such campaign.")
    if campaign.state not in Campaign.EDITABLE:
        raise CampaignStateError(f"A {campaign.state} campaign cannot be planned again.")
    organization = current_organization()
    number = sending_number_for(organization=organization, phone_number_id=campaign.phone_number_id)
    template = template_for_send(
        waba_id=number.waba_id, name=campaign.template_name, language=campaign.template_language
    )
    shape = template_shape(template.components, template.parameter_format)
    mapping = campaign.variables or {}
    columns = [str(s["column"]).lower() for s in mapping.values() if s.get("column")]
    audience, report = _audience_rows(
        campaign, csv_data=csv_data, known_columns=[*columns, *map(str.lower, shape.variables)]
    )
    if report and report["created_contacts"]:
        # Like the contacts import: the rows it created count against the plan's `contacts`.
        contacts_within_plan(report["created_contacts"])
    category = (template.category or "").upper()
    table = rate_table()
    seen: set[int] = set()
    duplicates = 0
    skips: Counter[str] = Counter()
    unresolved: Counter[str] = Counter()
    cost_by_category: dict[str, float] = defaultdict(float)
    by_country: dict[str, dict[str, float]] = defaultdict(lambda: {"recipients": 0, "cost": 0.0})
    rows: list[dict[str, Any]] = []
    for row in audience:
        contact = row.contact
        if contact.pk in seen:
            duplicates += 1
            continue
        seen.add(contact.pk)
        address = contact.address
        country = country_of(address)
        values, missing = _resolve(variables=shape.variables, mapping=mapping, row=row)
        reason = ""
        if category == MARKETING and contact.opted_out_at is not None:
            reason = "opted_out"
        elif category == MARKETING and country == "US":
            reason = "us_marketing"
        elif missing:
            reason = "missing_variable"
            unresolved.update(missing)
        if reason:
            skips[reason] += 1
        else:
            price = table.price(country=country, category=category)
            cost_by_category[category] += price
            bucket = by_country[country or "unknown"]
            bucket["recipients"] += 1
            bucket["cost"] += price
        rows.append(
            (campaign.pk, contact.pk, address, country, json.dumps(values), reason, row.line)
        )
    CampaignRecipient.objects.filter(campaign=campaign).delete()
    _recipients_copy(rows)
    sendable = len(rows) - sum(skips.values())
    limit = _messaging_limit(number)
    quota = quota_headrooms(organization_id=organization.pk)
    rate = campaign_rate(campaign=campaign, number=number)
    campaign.plan = {
        "audience": len(audience) + duplicates if report is None else report["rows"],
        "recipients": sendable,
        "duplicates": duplicates + (report or {}).get("counts", {}).get("duplicate", 0),
        "invalid": (report or {}).get("counts", {}).get("invalid_number", 0),
        "opted_out": skips["opted_out"],
        "us_marketing": skips["us_marketing"],
        "unresolved": dict(unresolved),
        "skipped": sum(skips.values()),
        "import": report,
        "messaging_limit": limit,
        "quota": quota,
        "rate_per_second": rate,
        "duration_seconds": round(sendable / rate, 1) if rate else None,
        "cost": {
            "currency": table.currency,
            "effective_date": table.effective_date,
            "source": table.source,
            "total": round(sum(cost_by_category.values()), 4),
            "by_category": {k: round(v, 4) for k, v in cost_by_category.items()},
            "by_country": {
                k: {"recipients": int(v["recipients"]), "cost": round(v["cost"], 4)}
                for k, v in sorted(by_country.items())
            },
        },
        "blockers": plan_blockers(recipients=sendable, quota=quota, messaging_limit=limit),
        "template": {"name": template.name, "language": template.language, "category": category},
    }
    campaign.template_category = category
    campaign.state = Campaign.State.PLANNED
    campaign.planned_at = timezone.now()
    campaign.save()
    return campaign


def _recipients_copy(rows: list[tuple]) -> None:
    """Store the recipients with one COPY (100,000 rows in about a second; an INSERT of that
    many rows spends most of its time building them): (campaign, contact, address, country,
    variables JSON, skip reason, CSV line). Skipped rows are `skipped`, the others `pending`."""
    table = connection.ops.quote_name(CampaignRecipient._meta.db_table)
    now = timezone.now()
    sql = (
        f"COPY {table} (campaign_id, contact_id, address, country, variables, state, "
        "skip_reason, attempt, line, created_at) FROM STDIN"
    )
    skipped, pending = CampaignRecipient.State.SKIPPED, CampaignRecipient.State.PENDING
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for campaign_id, contact_id, address, country, variables, reason, line in rows:
            state = skipped if reason else pending
            copy.write_row(
                (campaign_id, contact_id, address, country, variables, state, reason, 1, line, now)
            )


def template_of(campaign: Campaign, *, number: PhoneNumber) -> MessageTemplate | None:
    """The stored template the campaign sends (any status), or None."""
    return MessageTemplate.objects.filter(
        waba_id=number.waba_id, name=campaign.template_name, language=campaign.template_language
    ).first()
