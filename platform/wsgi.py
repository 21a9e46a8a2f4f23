"""WSGI entry point: `gunicorn saas_platform.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings")
application = get_wsgi_application()
