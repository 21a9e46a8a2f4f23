"""Routing: split a stored event into changes and find the organization that owns each.

A change is routed by its `value.metadata.phone_number_id`, else by its entry's id (the WABA):
template and account changes carry no metadata. A WABA whose numbers belong to more than one
organization is ambiguous: unroutable. Meta's payload:
https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from tenants.models import Organization, PhoneNumber
from whatsapp.graph.sanitize import json_clean


@dataclass(frozen=True)
class ChangeSpec:
    """One `entry[].changes[]` item: where it sits, its `field`, routing ids and its `value`
    (already cleaned of characters PostgreSQL refuses)."""

    entry_index: int
    change_index: int
    field: str
    phone_number_id: str
    waba_id: str
    value: dict[str, Any]


def _as_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return json_clean(str(value).strip()[:64])


def split_changes(payload: Any) -> tuple[list[ChangeSpec], list[str]]:
    """The routable changes of a parsed body, and a list of problems found in its shape.

    Tolerant by design (Meta adds fields all the time): a bad entry or change is reported and
    skipped, the rest is kept. Every value is passed through `json_clean`, so a `\\u0000` or a
    lone surrogate anywhere in it is stored as U+FFFD instead of failing the insert.
    """
    problems: list[str] = []
    if not isinstance(payload, dict):
        return [], ["body is not a JSON object"]
    if payload.get("object") not in (None, "whatsapp_business_account"):
        problems.append(f"object {json_clean(str(payload.get('object'))[:60])!r} is not handled")
        return [], problems
    entries = payload.get("entry")
    if not isinstance(entries, list):
        return [], ["`entry` is missing or not a list"]
    specs: list[ChangeSpec] = []
    for entry_index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            problems.append(f"entry {entry_index}: not an object with a `changes` list")
            continue
        waba_id = _as_id(entry.get("id"))
        for change_index, change in enumerate(entry["changes"]):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                problems.append(f"entry {entry_index} change {change_index}: no `value` object")
                continue
            metadata = value.get("metadata")
            phone_number_id = (
                _as_id(metadata.get("phone_number_id")) if isinstance(metadata, dict) else ""
            )
            field = change.get("field")
            try:
                value = json_clean(value)
            except RecursionError:
                problems.append(f"entry {entry_index} change {change_index}: nested too deep")
                continue
            specs.append(
                ChangeSpec(
                    entry_index=entry_index,
                    change_index=change_index,
                    field=json_clean(field[:64]) if isinstance(field, str) else "",
                    phone_number_id=phone_number_id,
                    waba_id=waba_id,
                    value=value,
                )
            )
    return specs, problems


@dataclass(frozen=True)
class Owner:
    organization_id: int
    schema_name: str
    slug: str
    status: str

    @property
    def is_active(self) -> bool:
        return self.status == Organization.Status.ACTIVE


class RoutingTable:
    """The owners of a set of phone number ids and WABA ids, read with ONE query."""

    def __init__(self, *, phone_number_ids: Iterable[str], waba_ids: Iterable[str]) -> None:
        numbers = {i for i in phone_number_ids if i}
        wabas = {i for i in waba_ids if i}
        self.by_number: dict[str, Owner] = {}
        waba_owners: dict[str, set[Owner]] = {}
        if numbers or wabas:
            rows = routing_rows(numbers, wabas)
            for number_id, waba_id, org_pk, schema, slug, status in rows:
                owner = Owner(org_pk, schema, slug, status)
                if number_id in numbers:
                    self.by_number[number_id] = owner
                if waba_id in wabas:
                    waba_owners.setdefault(waba_id, set()).add(owner)
        self.by_waba = {w: next(iter(o)) for w, o in waba_owners.items() if len(o) == 1}

    def owner(self, *, phone_number_id: str, waba_id: str) -> Owner | None:
        if phone_number_id and phone_number_id in self.by_number:
            return self.by_number[phone_number_id]
        return self.by_waba.get(waba_id) if waba_id else None


def routing_rows(numbers: set[str], wabas: set[str]) -> list[tuple]:
    """(phone_number_id, waba_id, org pk, schema, slug, status) of the numbers matching either."""
    return list(
        PhoneNumber.objects.filter(
            Q(phone_number_id__in=numbers) | Q(waba_id__in=wabas)
        ).values_list(
            "phone_number_id",
            "waba_id",
            "organization_id",
            "organization__schema_name",
            "organization__slug",
            "organization__status",
        )
    )
