from django.apps import AppConfig


class EnvironmentsConfig(AppConfig):
    name = "portal.environments"
    label = "environments"
    verbose_name = "Environments and blueprints"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from portal.environments.models import sync_blueprints_after_migrate

        post_migrate.connect(sync_blueprints_after_migrate, sender=self)
