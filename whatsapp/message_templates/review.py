"""The local review checks: Meta's template rules, checked before a template is submitted, as
a pure function (no Django, no I/O) so the API and the web editor run the very same checks.

`template_review(definition)` takes the body of `POST /{waba-id}/message_templates`
(`{"name", "language", "category", "parameter_format"?, "components": [...]}`, Meta's shape)
and returns every `Problem(field, message)`, `field` being the path in that body
(`components[1].text`, `components[2].buttons[0].url`); an empty list means it passes.
`placeholders(text)` lists a text's variables (`{{1}}` or `{{customer_name}}`).

Rules (Meta: "Message templates" guidelines and the template components reference):
name `[a-z0-9_]`, starting with a letter, at most 512 characters; one BODY (at most 1,024
characters, no variable at its very start or end, no two variables side by side, an example for
every variable); an optional HEADER (TEXT: at most 60 characters and one variable; IMAGE, VIDEO,
DOCUMENT: an example `header_handle` from the resumable upload API; LOCATION); an optional FOOTER
(at most 60 characters, no variable); at most 10 buttons, text at most 25 characters, quick
replies grouped together, a URL button's variable only at the end of its URL; positional
(`{{1}}`, numbered from 1 without gaps) and named (`{{name}}`) variables never mixed.
- https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates
- https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates/components
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
NAME_MAX = 512
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2}|_[A-Za-z]{4})?$")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
PARAMETER_FORMATS = ("POSITIONAL", "NAMED")
HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
MEDIA_HEADER_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")
COMPONENT_TYPES = ("HEADER", "BODY", "FOOTER", "BUTTONS")
BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "FLOW", "OTP", "CATALOG", "MPM")
HEADER_TEXT_MAX = 60
BODY_TEXT_MAX = 1024
FOOTER_TEXT_MAX = 60
BUTTONS_MAX = 10
BUTTON_TEXT_MAX = 25

# `{{1}}` or `{{customer_name}}`; Meta allows no spaces inside the braces.
PLACEHOLDER_RE = re.compile(r"\{\{([a-z][a-z0-9_]*|[0-9]+)\}\}")
_ANY_BRACES_RE = re.compile(r"\{\{(.*?)\}\}")


@dataclass(frozen=True)
class Problem:
    """One failed rule: `field` is the path in the create body, `message` says what to fix."""

    field: str
    message: str


def placeholders(text: str) -> list[str]:
    """The variables of a text, in order of first appearance, without duplicates."""
    seen: list[str] = []
    for match in PLACEHOLDER_RE.finditer(text or ""):
        if match.group(1) not in seen:
            seen.append(match.group(1))
    return seen


def is_positional(name: str) -> bool:
    return name.isdigit()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _upper(value: Any) -> str:
    return value.upper() if isinstance(value, str) else ""


def _check_variables(text: str, field: str, problems: list[Problem]) -> list[str]:
    """Malformed braces, and the placement rules every text with variables follows."""
    for match in _ANY_BRACES_RE.finditer(text):
        if not PLACEHOLDER_RE.fullmatch(match.group(0)):
            problems.append(
                Problem(
                    field,
                    f"'{match.group(0)}' is not a variable: use {{{{1}}}} or {{{{a_name}}}}.",
                )
            )
    return placeholders(text)


def _check_body(component: Mapping[str, Any], field: str, problems: list[Problem]) -> list[str]:
    text = _text(component.get("text"))
    if not text.strip():
        problems.append(Problem(f"{field}.text", "The body text is required."))
        return []
    if len(text) > BODY_TEXT_MAX:
        problems.append(
            Problem(
                f"{field}.text", f"The body is {len(text)} characters; at most {BODY_TEXT_MAX}."
            )
        )
    names = _check_variables(text, f"{field}.text", problems)
    stripped = text.strip()
    if names and (PLACEHOLDER_RE.match(stripped) or re.search(r"\{\{[^}]*\}\}$", stripped)):
        problems.append(
            Problem(f"{field}.text", "A variable cannot be at the very start or end of the body.")
        )
    if re.search(r"\}\}\s*\{\{", text):
        problems.append(Problem(f"{field}.text", "Two variables cannot be side by side."))
    _check_examples(component, field, names, "body", problems)
    return names


def _check_examples(
    component: Mapping[str, Any], field: str, names: list[str], part: str, problems: list[Problem]
) -> None:
    """Examples for every variable: `body_text: [[v1, v2]]` / `header_text: [v1]` (positional)
    or `body_text_named_params` / `header_text_named_params: [{param_name, example}]`."""
    if not names:
        return
    example = component.get("example")
    example = example if isinstance(example, Mapping) else {}
    if is_positional(names[0]):
        values = example.get(f"{part}_text")
        if part == "body" and isinstance(values, list) and values and isinstance(values[0], list):
            values = values[0]
        values = values if isinstance(values, list) else []
        given = [v for v in values if isinstance(v, str) and v.strip()]
        if len(given) < len(names):
            problems.append(
                Problem(
                    f"{field}.example.{part}_text",
                    f"Give an example for each of the {len(names)} variable(s) of the {part}.",
                )
            )
        return
    named = example.get(f"{part}_text_named_params")
    named = named if isinstance(named, list) else []
    covered = {
        item.get("param_name")
        for item in named
        if isinstance(item, Mapping) and _text(item.get("example")).strip()
    }
    for name in names:
        if name not in covered:
            problems.append(
                Problem(
                    f"{field}.example.{part}_text_named_params",
                    f"Give an example for the variable {{{{{name}}}}}.",
                )
            )


def _check_header(component: Mapping[str, Any], field: str, problems: list[Problem]) -> list[str]:
    fmt = _upper(component.get("format"))
    if fmt not in HEADER_FORMATS:
        problems.append(
            Problem(
                f"{field}.format", f"The header format must be one of {', '.join(HEADER_FORMATS)}."
            )
        )
        return []
    if fmt == "TEXT":
        text = _text(component.get("text"))
        if not text.strip():
            problems.append(Problem(f"{field}.text", "A text header needs its text."))
            return []
        if len(text) > HEADER_TEXT_MAX:
            problems.append(
                Problem(
                    f"{field}.text",
                    f"The header is {len(text)} characters; at most {HEADER_TEXT_MAX}.",
                )
            )
        names = _check_variables(text, f"{field}.text", problems)
        if len(names) > 1:
            problems.append(Problem(f"{field}.text", "A header can have at most one variable."))
        _check_examples(component, field, names, "header", problems)
        return names
    if fmt in MEDIA_HEADER_FORMATS:
        example = component.get("example")
        handles = example.get("header_handle") if isinstance(example, Mapping) else None
        if not (isinstance(handles, list) and handles and all(isinstance(h, str) for h in handles)):
            problems.append(
                Problem(
                    f"{field}.example.header_handle",
                    f"An {fmt.lower()} header needs an example uploaded with the resumable "
                    "upload API (its handle).",
                )
            )
    return []


def _check_buttons(component: Mapping[str, Any], field: str, problems: list[Problem]) -> list[str]:
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not buttons:
        problems.append(Problem(f"{field}.buttons", "Give at least one button."))
        return []
    if len(buttons) > BUTTONS_MAX:
        problems.append(Problem(f"{field}.buttons", f"At most {BUTTONS_MAX} buttons."))
    kinds = [_upper(b.get("type")) if isinstance(b, Mapping) else "" for b in buttons]
    quick = [i for i, kind in enumerate(kinds) if kind == "QUICK_REPLY"]
    if quick and quick[-1] - quick[0] + 1 != len(quick):
        problems.append(
            Problem(f"{field}.buttons", "Quick reply buttons must be grouped together.")
        )
    names: list[str] = []
    for index, (button, kind) in enumerate(zip(buttons, kinds, strict=True)):
        where = f"{field}.buttons[{index}]"
        if not isinstance(button, Mapping) or kind not in BUTTON_TYPES:
            problems.append(
                Problem(
                    f"{where}.type", f"The button type must be one of {', '.join(BUTTON_TYPES)}."
                )
            )
            continue
        text = _text(button.get("text"))
        if kind != "OTP" and not text.strip():
            problems.append(Problem(f"{where}.text", "The button needs its text."))
        elif len(text) > BUTTON_TEXT_MAX:
            problems.append(
                Problem(f"{where}.text", f"Button text is at most {BUTTON_TEXT_MAX} characters.")
            )
        if kind == "URL":
            url = _text(button.get("url"))
            if not url.startswith(("https://", "http://")):
                problems.append(Problem(f"{where}.url", "The URL must start with https://."))
            variables = _check_variables(url, f"{where}.url", problems)
            if len(variables) > 1 or (variables and not re.search(r"\{\{[^}]+\}\}$", url)):
                problems.append(
                    Problem(f"{where}.url", "A URL's only variable must be at its very end.")
                )
            if variables:
                example = button.get("example")
                if not (isinstance(example, list) and example and isinstance(example[0], str)):
                    problems.append(Problem(f"{where}.example", "Give an example of the full URL."))
            names.extend(variables)
        elif kind == "PHONE_NUMBER" and not _text(button.get("phone_number")).strip():
            problems.append(Problem(f"{where}.phone_number", "Give the phone number to call."))
        elif kind == "COPY_CODE" and not button.get("example"):
            problems.append(Problem(f"{where}.example", "Give an example of the code."))
    return names


def template_review(definition: Mapping[str, Any]) -> list[Problem]:
    """Every local review problem of a template definition (see the module docstring)."""
    problems: list[Problem] = []
    name = _text(definition.get("name"))
    if not NAME_RE.match(name) or len(name) > NAME_MAX:
        problems.append(
            Problem(
                "name",
                "Use lowercase letters, digits and underscores, starting with a letter "
                f"(at most {NAME_MAX} characters).",
            )
        )
    if not LANGUAGE_RE.match(_text(definition.get("language"))):
        problems.append(Problem("language", "Use a language code Meta knows, e.g. en_US or pt_BR."))
    if _upper(definition.get("category")) not in CATEGORIES:
        problems.append(
            Problem("category", f"The category must be one of {', '.join(CATEGORIES)}.")
        )
    declared = definition.get("parameter_format")
    if declared is not None and _upper(declared) not in PARAMETER_FORMATS:
        problems.append(Problem("parameter_format", "Use POSITIONAL or NAMED."))
    components = definition.get("components")
    if not isinstance(components, list) or not components:
        problems.append(Problem("components", "Give the template's components (a list)."))
        return problems
    seen: dict[str, int] = {}
    variables: list[tuple[str, str]] = []  # (field, name)
    for index, component in enumerate(components):
        field = f"components[{index}]"
        kind = _upper(component.get("type")) if isinstance(component, Mapping) else ""
        if kind not in COMPONENT_TYPES:
            problems.append(Problem(f"{field}.type", f"Use one of {', '.join(COMPONENT_TYPES)}."))
            continue
        if kind in seen:
            problems.append(Problem(f"{field}.type", f"Only one {kind} component."))
            continue
        seen[kind] = index
        if kind == "BODY":
            names = _check_body(component, field, problems)
            variables += [(f"{field}.text", n) for n in names]
        elif kind == "HEADER":
            names = _check_header(component, field, problems)
            variables += [(f"{field}.text", n) for n in names]
        elif kind == "FOOTER":
            text = _text(component.get("text"))
            if len(text) > FOOTER_TEXT_MAX:
                problems.append(
                    Problem(f"{field}.text", f"The footer is at most {FOOTER_TEXT_MAX} characters.")
                )
            if _ANY_BRACES_RE.search(text):
                problems.append(Problem(f"{field}.text", "A footer cannot have variables."))
        else:
            # A URL button's variable is `{{1}}` in named templates too: not counted here.
            _check_buttons(component, field, problems)
    if "BODY" not in seen:
        problems.append(Problem("components", "A template needs a BODY component."))
    _check_variable_kinds(definition, components, seen, variables, problems)
    return problems


def _check_variable_kinds(
    definition: Mapping[str, Any],
    components: list[Any],
    seen: dict[str, int],
    variables: list[tuple[str, str]],
    problems: list[Problem],
) -> None:
    """No mixing of `{{1}}` and `{{name}}`; positional ones numbered 1..n; the declared
    `parameter_format` matches what the texts use."""
    positional = [(f, n) for f, n in variables if is_positional(n)]
    named = [(f, n) for f, n in variables if not is_positional(n)]
    if positional and named:
        problems.append(
            Problem(named[0][0], "Do not mix numbered ({{1}}) and named ({{name}}) variables.")
        )
        return
    declared = _upper(definition.get("parameter_format")) or "POSITIONAL"
    if named and declared != "NAMED":
        problems.append(Problem("parameter_format", "Named variables need parameter_format NAMED."))
    if positional and declared == "NAMED":
        problems.append(
            Problem("parameter_format", "Numbered variables need parameter_format POSITIONAL.")
        )
    if "BODY" in seen:
        body = components[seen["BODY"]]
        numbers = sorted(int(n) for n in placeholders(_text(body.get("text"))) if n.isdigit())
        if numbers and numbers != list(range(1, len(numbers) + 1)):
            problems.append(
                Problem(
                    f"components[{seen['BODY']}].text",
                    "Number the variables {{1}}, {{2}}, ... without gaps.",
                )
            )
