"""The console's health page lists the webhook workers that beat (real Redis, the test run's key
prefix; Django's test client signed in as staff with the second factor)."""

from __future__ import annotations

from whatsapp.webhooks import heartbeat


def test_the_console_lists_beating_workers(console):
    beat = heartbeat.Heartbeat(name="worker-host-7:4242")
    page = console.get("/console/health/").content.decode()
    assert "Webhook workers" in page and "worker-host-7:4242" not in page
    beat.beat(claimed=12, force=True)
    try:
        page = console.get("/console/health/").content.decode()
        assert "worker-host-7:4242" in page and "12 events claimed" in page
    finally:
        beat.stop()
    assert "worker-host-7:4242" not in console.get("/console/health/").content.decode()
