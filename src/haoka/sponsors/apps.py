from django.apps import AppConfig


class SponsorsConfig(AppConfig):
    name = "haoka.sponsors"
    label = "sponsors"
    verbose_name = "后向流量"
