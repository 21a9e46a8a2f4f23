"""Forms of the organization's web app."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from tenants.models import BusinessHours, Membership
from tenants.services.schedule import Interval


class EmailAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, labelled for what people type: their email."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account here.",
    }

    username = forms.CharField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email of the person to invite")
    role = forms.ChoiceField(
        label="Role", choices=Membership.Role.choices, initial=Membership.Role.MEMBER
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Key name", max_length=100, help_text="What uses it, e.g. “CRM sync”."
    )


class InvitationAcceptForm(forms.Form):
    """A new person chooses a password (twice); someone with an account types theirs."""

    password = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)

    def __init__(self, *args: Any, existing_account: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.existing_account = existing_account
        if existing_account:
            self.fields["password"].label = "Your current password"
        else:
            self.fields["password"].label = "Choose a password"
            self.fields["password_again"] = forms.CharField(
                label="The same password again", widget=forms.PasswordInput, strip=False
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.existing_account and data.get("password") != data.get("password_again"):
            raise forms.ValidationError("The two passwords differ.")
        return data


WEEKDAYS = BusinessHours.Weekday.choices


class ScheduleForm(forms.Form):
    """The organization's time zone, and per weekday: open or not, from, until."""

    time_zone = forms.ChoiceField(label="Time zone")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(z, z) for z in sorted(zoneinfo.available_timezones())]
        for day, name in WEEKDAYS:
            self.fields[f"open_{day}"] = forms.BooleanField(label=f"Open on {name}", required=False)
            self.fields[f"opens_{day}"] = forms.TimeField(
                label=f"{name} from", required=False, widget=forms.TimeInput(attrs={"type": "time"})
            )
            self.fields[f"closes_{day}"] = forms.TimeField(
                label=f"{name} until",
                required=False,
                widget=forms.TimeInput(attrs={"type": "time"}),
            )

    @classmethod
    def initial_for(cls, *, time_zone: str, intervals: list[Interval]) -> dict[str, Any]:
        initial: dict[str, Any] = {"time_zone": time_zone}
        for interval in intervals:  # the form shows the first interval of each day
            if f"open_{interval.weekday}" not in initial:
                initial[f"open_{interval.weekday}"] = True
                initial[f"opens_{interval.weekday}"] = interval.opens_at.strftime("%H:%M")
                initial[f"closes_{interval.weekday}"] = interval.closes_at.strftime("%H:%M")
        return initial

    def days(self) -> list[tuple[str, forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (name, self[f"open_{day}"], self[f"opens_{day}"], self[f"closes_{day}"])
            for day, name in WEEKDAYS
        ]

    def intervals(self) -> list[Interval]:
        result = []
        for day, name in WEEKDAYS:
            if not self.cleaned_data.get(f"open_{day}"):
                continue
            opens, closes = (
                self.cleaned_data.get(f"opens_{day}"),
                self.cleaned_data.get(f"closes_{day}"),
            )
            if opens is None or closes is None:
                raise forms.ValidationError(f"{name}: give both opening and closing times.")
            result.append(Interval(weekday=day, opens_at=opens, closes_at=closes))
        return result
