from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Organizations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from tenants.middleware import session_bind_to_host

        user_logged_in.connect(session_bind_to_host, dispatch_uid="tenants_session_bind_to_host")
