"""Meta's per-message rates, from a dated, replaceable data file (billing_stub/data/).

The status webhook's `pricing` block (category; type regular / free_customer_service /
free_entry_point) says what Meta charges for a message; this table says how much, by the
recipient's market and the category, as of a date. Editions take effect on their date, so a
message priced on 30 September 2026 and one on 1 October 2026 (when service messages became
chargeable at the utility rate) are each estimated with the rates of their day.
Pricing: https://developers.facebook.com/docs/whatsapp/pricing
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import phonenumbers
from django.conf import settings

DEFAULT_FILE = Path(__file__).parent / "data" / "meta_rates.json"
ANY_MARKET = "*"


@dataclass(frozen=True)
class Edition:
    """One rate card: from `effective_from` (a UTC date) until the next edition."""

    effective_from: dt.date
    currency: str
    free_types: frozenset[str]
    category_aliases: dict[str, str]
    rates: dict[str, dict[str, Decimal]]

    def rate(self, *, country: str, category: str, pricing_type: str) -> Decimal:
        """USD (the edition's currency) per message; 0 for a free type or unknown category."""
        if pricing_type in self.free_types:
            return Decimal(0)
        category = self.category_aliases.get(category, category)
        market = self.rates.get(country) or self.rates[ANY_MARKET]
        return market.get(category, Decimal(0))


def _rates_file() -> Path:
    return Path(getattr(settings, "BILLING_META_RATES_FILE", "") or DEFAULT_FILE)


@functools.cache
def _editions(path: Path) -> tuple[Edition, ...]:
    data = json.loads(path.read_text())
    built: dict[str, Edition] = {}
    for raw in sorted(data["editions"], key=lambda e: e["effective_from"]):
        base = built.get(raw.get("based_on", ""))
        rates = {m: dict(c) for m, c in base.rates.items()} if base else {}
        for market, categories in raw.get("rates", {}).items():
            rates.setdefault(market, {}).update({k: Decimal(v) for k, v in categories.items()})
        aliases = dict(base.category_aliases) if base else {}
        aliases.update(raw.get("category_aliases", {}))
        if ANY_MARKET not in rates:
            raise ValueError(f"{path}: edition {raw['effective_from']} has no '*' market")
        built[raw["effective_from"]] = Edition(
            effective_from=dt.date.fromisoformat(raw["effective_from"]),
            currency=raw["currency"],
            free_types=frozenset(raw.get("free_types", ())),
            category_aliases=aliases,
            rates=rates,
        )
    return tuple(built.values())


def edition_on(day: dt.date) -> Edition:
    """The edition in force on UTC date `day` (the earliest one before any edition)."""
    editions = _editions(_rates_file())
    current = editions[0]
    for edition in editions:
        if edition.effective_from <= day:
            current = edition
    return current


def market_of(recipient: str) -> str:
    """The market of a recipient's phone number (wa_id digits): the main region of its country
    calling code, as Meta's rate cards go by calling code (+44 is GB, Guernsey included; +1 is
    US, Canada included). '*' when there is none (a business-scoped user id, an unknown code)."""
    if not recipient.isdigit():
        return ANY_MARKET
    try:
        number = phonenumbers.parse("+" + recipient)
    except phonenumbers.NumberParseException:
        return ANY_MARKET
    region = phonenumbers.region_code_for_country_code(number.country_code)
    return region if region and region != "ZZ" else ANY_MARKET


def meta_rate(*, at: dt.datetime, country: str, category: str, pricing_type: str) -> Decimal:
    """Estimated Meta charge of one message priced at instant `at`."""
    edition = edition_on(at.astimezone(dt.UTC).date())
    return edition.rate(country=country, category=category, pricing_type=pricing_type)
