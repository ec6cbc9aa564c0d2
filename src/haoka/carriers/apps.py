from django.apps import AppConfig


class CarriersConfig(AppConfig):
    name = "haoka.carriers"
    label = "carriers"
    verbose_name = "运营商对接"
