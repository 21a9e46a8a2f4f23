"""A minimal durable-ingest Django app: the ceiling benchmarks/webhook_ack.py compares the
product's webhook acknowledgement against (HMAC over the raw body, one INSERT, 200)."""
