"""Gunicorn settings for production.

gunicorn saas_platform.wsgi -c python:saas_platform.gunicorn_conf
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
# Meta expects webhook answers within seconds; nothing here should take long.
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# The query string can hold hub.verify_token on webhook verification: log the path only.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
