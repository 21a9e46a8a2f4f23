"""The organization's shared inbox and contacts pages (HTML over the services and selectors
of this package; the summary rows they read are whatsapp.models.Conversation)."""
