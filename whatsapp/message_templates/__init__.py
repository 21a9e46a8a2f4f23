"""Message templates (issue 13): the organization's templates per (WABA, name, language), kept in
step with Meta (sync, create, edit, delete; status, quality and category webhooks), the local
review checks (`review`, pure, for the API and the editor) and the template send (`compose`:
parameters checked against the stored template, then Meta's `components` built exactly).

A nested tenant app (AppConfig name "whatsapp.message_templates", label "message_templates");
never `whatsapp/templates/`, which Django reserves for HTML templates.

Meta pages:
- message templates: https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates
- template reference: https://developers.facebook.com/docs/graph-api/reference/whats-app-business-hsm/
- sending templates: https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates
"""
