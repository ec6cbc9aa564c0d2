from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate

from haoka.core import clientip


class CoreConfig(AppConfig):
    name = "haoka.core"
    label = "core"
    verbose_name = "基础"

    def ready(self) -> None:
        # System ledger accounts exist from the first migration on, and again after a flush
        # (which tests run between transactional tests): no use case opens them on its way.
        from haoka.core import ledger  # noqa: PLC0415  (its models load once the apps are ready)

        post_migrate.connect(ledger.open_system_accounts, sender=self)
        clientip.trusted_networks()  # a malformed HAOKA_TRUSTED_PROXIES stops the start
        # django-tasks-db names its app in plain English (not translatable): the staff
        # console's heading for it (its models and fields: locale/zh_Hans).
        if apps.is_installed("django_tasks_db"):
            apps.get_app_config("django_tasks_database").verbose_name = "后台任务"
