from django.apps import AppConfig


class LogisticsConfig(AppConfig):
    name = "haoka.logistics"
    label = "logistics"
    verbose_name = "物流"
