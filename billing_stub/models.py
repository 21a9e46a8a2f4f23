"""Plans, quotas and usage arrive with the billing issue; the app is registered now."""
