"""Production settings: `DJANGO_SETTINGS_MODULE=saas_platform.settings.production`.

Everything of `base` (read from the environment), with DEBUG off whatever DJANGO_DEBUG says, the
public development secrets refused, and the web tier hardened for running behind a proxy or
ingress that terminates TLS and sets `X-Forwarded-Proto`:
- HTTPS only: plain-HTTP requests are redirected (the health probes are answered before this,
  on any Host: tenants/health.py), HSTS for a year on BASE_DOMAIN and every organization's
  subdomain, cookies marked Secure and HttpOnly;
- the Content-Security-Policy of `base` enforced (django-csp), no framing, no MIME sniffing;
- static files (admin, API docs) collected into the image and served by the web processes
  (WhiteNoise).
`manage.py check --deploy` passes clean with these (tests/platform/test_production_settings.py).
Django's checklist: https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
"""

from __future__ import annotations

from saas_platform.env import env, refuse_dev_secrets
from saas_platform.settings.base import *  # noqa: F403
from saas_platform.settings.base import CONFIGURED_SECRETS, CSP_POLICY, MIDDLEWARE

DEBUG = False
refuse_dev_secrets(CONFIGURED_SECRETS)
# Staff sign in to the console with a second factor, whatever the environment says.
CONSOLE_OTP_REQUIRED = True

# The proxy in front (ingress, load balancer) terminates TLS; it must overwrite this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Every organization is a subdomain of BASE_DOMAIN, served by us over the wildcard certificate.
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Submitting the domain to the browsers' preload list is a separate, deliberate step
# (https://hstspreload.org/); the header only makes it possible. DJANGO_HSTS_PRELOAD=false for
# a BASE_DOMAIN that shares its parent domain with sites not served over HTTPS.
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True

CONTENT_SECURITY_POLICY = CSP_POLICY
CONTENT_SECURITY_POLICY_REPORT_ONLY = None

# WhiteNoise right after SecurityMiddleware (its documented place): static files answer without
# a session, CSRF or tenant lookup beyond the host check.
# https://whitenoise.readthedocs.io/en/stable/django.html
MIDDLEWARE = list(MIDDLEWARE)
if "whitenoise.middleware.WhiteNoiseMiddleware" not in MIDDLEWARE:  # base.py may have it already
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )
