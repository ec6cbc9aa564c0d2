from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "haoka.core"
    label = "core"
    verbose_name = "基础"
