"""The shared WhatsApp webhook gateway: receive, route, process, replay, retention."""
