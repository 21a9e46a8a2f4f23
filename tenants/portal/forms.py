"""Forms of the public host: signup (what a new organization tells us about itself), sign-in."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db.models import Q

from tenants.errors import OnboardingError
from tenants.services.onboarding import validate_slug
from tenants.webapp.forms import EmailAuthenticationForm


class SignupForm(forms.Form):
    name = forms.CharField(label="Organization name", max_length=200)
    slug = forms.CharField(label="Address", max_length=40)
    admin_email = forms.EmailField(label="Your email")
    admin_password = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "slug"
        ].help_text = f"Lowercase letters, digits and hyphens: your-name.{settings.BASE_DOMAIN}"

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].strip().lower()
        try:
            validate_slug(slug)
        except OnboardingError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return slug

    def clean_admin_email(self) -> str:
        """An anonymous signup must not attach a new organization to someone else's account
        (the onboarding service makes an existing user the admin, which is right for staff
        running `create_org`, not for a public form anyone can fill in with any email)."""
        email = self.cleaned_data["admin_email"].strip()
        users = get_user_model().objects.filter(Q(email__iexact=email) | Q(username__iexact=email))
        if users.exists():
            raise forms.ValidationError(
                "An account with this email already exists. Sign in with it, or sign up with "
                "another email."
            )
        return email

    def clean_admin_password(self) -> str:
        password = self.cleaned_data["admin_password"]
        validate_password(password)
        return password


class PortalLoginForm(EmailAuthenticationForm):
    """The public host's sign-in: checks the password and finds the person's organizations
    (tenants.auth `portal_lookup`); throttled like every sign-in (django-axes)."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            self.user_cache = authenticate(
                self.request, username=username, password=password, portal_lookup=True
            )
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
