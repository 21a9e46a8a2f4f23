"""`gunicorn --pythonpath benchmarks minimal_ingest.wsgi -c python:saas_platform.gunicorn_conf`"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minimal_ingest.settings")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
