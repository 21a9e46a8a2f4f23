"""Gunicorn settings for production.

gunicorn saas_platform.wsgi -c python:saas_platform.gunicorn_conf

Every value can be overridden from the environment (WEB_*). benchmarks/webhook_ack.py runs the
product and its minimal ingest ceiling under this file.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Two processes of four threads: what the Kubernetes web Deployment (deploy/k8s/base/web.yaml)
# and `make run` set. More processes than cores only trade CPU for context switches: on the
# 2-core benchmark machine 4x4 cost 2.0 web CPU-ms per webhook against 1.5 for 2x4
# (benchmarks/webhook_ingest.py --web-workers). Scale with replicas (the HPA), not processes.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
# A gthread worker accepts up to `worker_connections` connections (gunicorn's default: 1000)
# but serves them with `threads` threads: with keep-alive clients, one worker can take most of
# the connections and queue their requests while the other workers idle. Capping it at the
# thread count lets the kernel hand each new connection to a worker with a free thread. Measured
# with benchmarks/webhook_ack.py (4x4, 16 keep-alive connections, 2 cores): p99 of the webhook
# acknowledgement from ~2-3.6 s down to ~0.35 s at the same throughput. Idle keep-alive
# connections hold a slot for at most `keepalive` seconds.
worker_connections = int(os.environ.get("WEB_WORKER_CONNECTIONS", str(threads)))
# Meta expects webhook answers within seconds; nothing here should take long.
timeout = 30
# Graceful shutdown: on SIGTERM (Kubernetes, compose, `make run`'s Ctrl-C) the master stops
# accepting, and each worker finishes the requests in hand for up to this many seconds before it
# is killed; a webhook not answered by then is redelivered by Meta. Kubernetes waits
# terminationGracePeriodSeconds (deploy/k8s/base/web.yaml: longer than this plus its preStop).
graceful_timeout = 20
keepalive = 5
# No runtime control socket (gunicorn >= 25.1 writes one under $HOME): nothing here uses
# `gunicornc`, the image's root filesystem is read-only, and two servers on one machine (make run,
# benchmarks, tests) would take each other's socket.
control_socket_disable = True
# Off by default: the app writes one structured access line per request itself
# (saas_platform.logs.RequestIdMiddleware: request id, tenant, status, duration), and a second,
# plainer line from gunicorn on every webhook POST is work done twice on the hottest path.
# WEB_ACCESS_LOG=1 turns gunicorn's own line back on (e.g. to see requests Django never saw).
accesslog = "-" if os.environ.get("WEB_ACCESS_LOG", "").lower() in {"1", "true", "yes"} else None
# The query string can hold hub.verify_token on webhook verification: log the path only.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


# Prometheus multiprocess mode (saas_platform.metrics): each worker writes its metric values to
# files in this directory and /metrics sums them. Set before the workers are forked (they import
# prometheus_client after), emptied at start, and a dead worker's live gauges are dropped.
_created_multiproc_dir: list[str] = []  # one we made ourselves is removed on exit


def on_starting(server) -> None:
    import shutil
    import tempfile

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, exist_ok=True)
    else:
        path = tempfile.mkdtemp(prefix="saas-prom-")
        _created_multiproc_dir.append(path)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def on_exit(server) -> None:
    import shutil

    for path in _created_multiproc_dir:
        shutil.rmtree(path, ignore_errors=True)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
