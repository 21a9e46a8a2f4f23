"""Forms of the console: the second factor, suspensions, replays, reveals, filters."""

from __future__ import annotations

from django import forms

from billing_stub.selectors import plan_list
from tenants.models import OrganizationSuspension, WebhookChange


class TotpForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self) -> str:
        return self.cleaned_data["token"].strip().replace(" ", "")


class ReasonForm(forms.Form):
    """Every dangerous action states why and is confirmed (the `confirm` box)."""

    reason = forms.CharField(
        label="Reason (kept in the audit log)",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )
    confirm = forms.BooleanField(label="I confirm", required=True)


class SuspendForm(ReasonForm):
    category = forms.ChoiceField(label="Category", choices=OrganizationSuspension.Category.choices)
    field_order = ["category", "reason", "confirm"]


class PlanChangeForm(ReasonForm):
    plan = forms.ChoiceField(label="New plan", choices=[])
    field_order = ["plan", "reason", "confirm"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [
            (plan.code, f"{plan.name} ({plan.price} {plan.currency} a month)")
            for plan in plan_list()
        ]


class CreateOrganizationForm(forms.Form):
    name = forms.CharField(label="Organization name", max_length=200)
    slug = forms.CharField(label="Address (slug)", max_length=40)
    admin_email = forms.EmailField(label="First admin's email")


class TenantFilterForm(forms.Form):
    STATUS_CHOICES = [("", "Any status"), ("active", "Active"), ("suspended", "Suspended")]
    q = forms.CharField(label="Search", required=False, max_length=100)
    status = forms.ChoiceField(label="Status", choices=STATUS_CHOICES, required=False)
    created_after = forms.DateField(
        label="Created after", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    quiet_days = forms.IntegerField(
        label="No webhook for (days)", required=False, min_value=1, max_value=3650
    )
    halted = forms.BooleanField(label="Sending halted", required=False)
    expiring_days = forms.IntegerField(
        label="Token expires within (days)", required=False, min_value=0, max_value=3650
    )
    low_quality = forms.BooleanField(label="Quality below GREEN", required=False)
    plan = forms.ChoiceField(label="Plan", required=False, choices=[])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [("", "Any plan")] + [
            (plan.code, plan.name) for plan in plan_list()
        ]


STATE_CHOICES = [
    ("", "Any state"),
    *WebhookChange.State.choices,
    # Raw events not split into changes (the event log's other table).
    ("received", "Event received (not split yet)"),
    ("malformed", "Event malformed"),
    ("routing_failed", "Event routing failed"),
]


class EventFilterForm(forms.Form):
    org = forms.CharField(label="Organization (slug)", required=False, max_length=40)
    field = forms.CharField(label="Field", required=False, max_length=64)
    phone_number_id = forms.CharField(label="Phone number id", required=False, max_length=64)
    state = forms.ChoiceField(label="State", choices=STATE_CHOICES, required=False)
    since = forms.DateTimeField(
        label="From", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        label="To", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class AuditFilterForm(forms.Form):
    org = forms.CharField(label="Organization (slug)", required=False, max_length=40)
    actor = forms.CharField(label="Who (email)", required=False, max_length=254)
    action = forms.CharField(label="Action", required=False, max_length=64)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
