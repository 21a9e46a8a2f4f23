"""The cost table the flight plan prices a campaign with: a dated JSON file of per-message
rates by market and template category (Meta's pricing page:
https://developers.facebook.com/docs/whatsapp/pricing). Files live in
`whatsapp/campaigns/data/rates-<YYYY-MM-DD>.json`; the newest one wins, and settings
`CAMPAIGN_RATE_TABLE` may name another file (billing can ship its own)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class RateTable:
    effective_date: str
    currency: str
    source: str
    # {country ISO code: market name}; `default_market` prices every other country.
    market_of: dict[str, str]
    rates: dict[str, dict[str, float]]  # {market: {CATEGORY: price}}
    default_market: str

    def market(self, country: str) -> str:
        return self.market_of.get(country.upper(), self.default_market)

    def price(self, *, country: str, category: str) -> float:
        """Price of one message of `category` to `country` (0.0 for a category not listed)."""
        return float(self.rates[self.market(country)].get(category.upper(), 0.0))


def rate_table_path() -> Path:
    configured = getattr(settings, "CAMPAIGN_RATE_TABLE", "")
    if configured:
        return Path(configured)
    files = sorted(DATA_DIR.glob("rates-*.json"))
    if not files:
        raise FileNotFoundError(f"no rate table in {DATA_DIR}")
    return files[-1]


@cache
def _load(path: str, mtime: float) -> RateTable:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    market_of: dict[str, str] = {}
    rates: dict[str, dict[str, float]] = {}
    for market, entry in data["markets"].items():
        for country in entry.get("countries", []):
            market_of[country.upper()] = market
        rates[market] = {k: float(v) for k, v in entry.items() if k.isupper()}
    return RateTable(
        effective_date=str(data["effective_date"]),
        currency=str(data.get("currency", "USD")),
        source=str(data.get("source", "")),
        market_of=market_of,
        rates=rates,
        default_market=str(data["default_market"]),
    )


def rate_table() -> RateTable:
    """The current table (read once per file version). Raises FileNotFoundError, KeyError for
    a file without `effective_date`, `default_market` or `markets`."""
    path = rate_table_path()
    return _load(str(path), path.stat().st_mtime)
