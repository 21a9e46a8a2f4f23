"""Template variables filled from a contact's fields, for the inbox's template picker (a
conversation whose 24-hour window is closed needs a template)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from whatsapp.message_templates.compose import template_shape
from whatsapp.message_templates.models import MessageTemplate
from whatsapp.models import Contact


def _first_name(contact: Contact) -> str:
    return (contact.name or "").strip().split(" ")[0]


# The contact fields a variable can take its value from.
CONTACT_FIELDS: dict[str, Callable[[Contact], str]] = {
    "name": lambda c: (c.name or "").strip(),
    "first_name": _first_name,
    "wa_id": lambda c: c.wa_id or "",
    "phone": lambda c: f"+{c.wa_id}" if c.wa_id else "",
    "username": lambda c: c.username or "",
}
# Variable names that mean a contact field without being told (NAMED templates).
DEFAULT_FIELD_OF_VARIABLE = {
    "name": "name",
    "customer_name": "name",
    "contact_name": "name",
    "full_name": "name",
    "first_name": "first_name",
    "phone": "phone",
    "phone_number": "phone",
    "wa_id": "wa_id",
    "username": "username",
}


@dataclass(frozen=True)
class FilledParameters:
    """`parameters` in the send API's shape (a dict for NAMED templates, a list for POSITIONAL
    ones, "" where nothing was found); `missing` names the variables still to type."""

    parameters: dict[str, str] | list[str]
    missing: tuple[str, ...]


def template_parameters_fill(
    *, template: MessageTemplate, contact: Contact, mapping: Mapping[str, str] | None = None
) -> FilledParameters:
    """Fill the body's (and a NAMED header's) variables from `contact`.

    `mapping` says which contact field (a key of `CONTACT_FIELDS`) fills which variable
    (`{"1": "first_name"}`, `{"customer": "name"}`); NAMED variables with a telling name
    (`first_name`, `customer_name`, `phone`...) are filled without it. Raises KeyError for a
    field that is not in `CONTACT_FIELDS`.
    """
    shape = template_shape(template.components, template.parameter_format)
    mapping = dict(mapping or {})
    values: dict[str, str] = {}
    for variable in shape.variables:
        field = mapping.get(variable) or DEFAULT_FIELD_OF_VARIABLE.get(variable)
        values[variable] = CONTACT_FIELDS[field](contact) if field else ""
    missing = tuple(v for v, value in values.items() if not value)
    parameters: Any = values if shape.named else [values[v] for v in shape.variables]
    return FilledParameters(parameters=parameters, missing=missing)
