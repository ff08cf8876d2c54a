from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ExpansionConfig(AppConfig):
    name = "expansion"
    verbose_name = "Accounts, usage and EQLs"

    def ready(self) -> None:
        from expansion.roles import ensure_role_groups

        post_migrate.connect(ensure_role_groups, dispatch_uid="expansion.ensure_role_groups")
