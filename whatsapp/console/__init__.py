"""The superadmin console: platform staff run every organization from the public host
(`/console/`). HTML over the services and selectors the rest of the product uses.

It lives under `whatsapp` rather than `tenants/console/` because it calls the number doctor,
the webhook replay and the token lifecycle, and `tenants` must not import `whatsapp` (import
contracts in pyproject.toml); nothing of the product imports the console.
"""
