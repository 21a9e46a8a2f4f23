"""Forms of the numbers pages (visible labels; ids are Meta's digits)."""

from __future__ import annotations

from django import forms


class SignupFinishForm(forms.Form):
    """What the Embedded Signup page posts once Meta's popup finished (hidden fields filled by
    numbers/signup.js) plus the optional test recipient the admin typed."""

    code = forms.CharField(max_length=2048, widget=forms.HiddenInput)
    waba_id = forms.RegexField(regex=r"^\d{1,32}$", widget=forms.HiddenInput)
    phone_number_id = forms.RegexField(regex=r"^\d{1,32}$", widget=forms.HiddenInput)
    business_id = forms.RegexField(regex=r"^\d{0,32}$", required=False, widget=forms.HiddenInput)
    test_recipient = forms.RegexField(
        regex=r"^\+?[\d ()-]{6,24}$",
        required=False,
        label="Send a test message to (optional)",
        help_text="A WhatsApp number of yours, with country code, e.g. +1 555 123 4567. "
        "It receives Meta's hello_world template once the number is registered.",
        error_messages={"invalid": "Enter a phone number with its country code."},
    )


class ManualConnectForm(forms.Form):
    phone_number_id = forms.RegexField(
        regex=r"^\d{5,32}$",
        label="Phone number id",
        help_text="WhatsApp Manager, API setup: the number's id (digits), not the number.",
        error_messages={"invalid": "Enter Meta's numeric phone number id."},
    )
    waba_id = forms.RegexField(
        regex=r"^\d{5,32}$",
        label="WhatsApp Business Account id",
        help_text="The WABA id (digits) the number belongs to.",
        error_messages={"invalid": "Enter Meta's numeric WhatsApp Business Account id."},
    )
    access_token = forms.CharField(
        label="System-user access token",
        max_length=1024,
        widget=forms.PasswordInput(render_value=False),
        help_text="Meta Business settings, System users: a token with whatsapp_business_messaging "
        "and whatsapp_business_management. Stored encrypted, never shown again.",
    )
