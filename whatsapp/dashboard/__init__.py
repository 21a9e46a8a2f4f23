"""The organization's dashboard (org host `/`): numbers and their health, token state, message
volumes and rates, and what needs attention. HTML over `whatsapp.dashboard.selectors`."""
