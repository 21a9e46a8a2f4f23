"""The organization's web app on its host (`<slug>.<BASE_DOMAIN>`): shell, sign-in, settings.

HTML over services and selectors only. Pages of other features (inbox, contacts, numbers,
dashboard) live with their feature and extend `frontend_templates/base.html`.
"""
