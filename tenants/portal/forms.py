"""The signup form: what a new organization tells us about itself."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db.models import Q

from tenants.errors import OnboardingError
from tenants.services.onboarding import validate_slug


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
