#!/bin/sh
# The image's entrypoint: one role per process, each exec'd so that it is PID 1's only child
# and receives SIGTERM directly (graceful shutdown: README, "Running in production").
#
#   web                     gunicorn with platform/gunicorn_conf.py (PORT, WEB_CONCURRENCY, ...)
#   webhook-worker [ARGS]   manage.py webhook_worker: applies inbound webhooks (no Celery)
#   worker QUEUES [ARGS]    a Celery worker consuming QUEUES (comma-separated); the `outbound`
#                           queue alone gets prefetch 1 (a send task holds a batch of messages)
#   beat                    Celery beat, exactly one replica (schedule file under /tmp)
#   migrate                 manage.py migrate_platform: public, every organization, template
#   manage ARGS             any manage.py command; anything else is exec'd as given
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
    web)
        exec gunicorn saas_platform.wsgi --config python:saas_platform.gunicorn_conf "$@"
        ;;
    webhook-worker)
        exec python manage.py webhook_worker "$@"
        ;;
    worker)
        queues="${1:?usage: worker QUEUES [celery worker options]}"
        shift
        prefetch=""
        [ "$queues" = "outbound" ] && prefetch="--prefetch-multiplier=1"
        # shellcheck disable=SC2086  # $prefetch is one word or none
        exec celery -A saas_platform.celery worker --queues "$queues" $prefetch \
            --hostname "${queues%%,*}@%h" --loglevel "${LOG_LEVEL:-INFO}" "$@"
        ;;
    beat)
        exec celery -A saas_platform.celery beat --loglevel "${LOG_LEVEL:-INFO}" \
            --schedule "${TMPDIR:-/tmp}/celerybeat-schedule" "$@"
        ;;
    migrate)
        exec python manage.py migrate_platform "$@"
        ;;
    manage)
        exec python manage.py "$@"
        ;;
    *)
        exec "$role" "$@"
        ;;
esac
