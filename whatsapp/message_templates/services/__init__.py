"""Services of the templates feature: `sync` (Meta -> stored), `lifecycle` (create, edit,
delete at Meta), `send` (a template send checked and built), `webhooks` (status, quality and
category handlers), `fill` (variables from a contact's fields)."""
