from django.apps import AppConfig


class NumbersConfig(AppConfig):
    name = "haoka.numbers"
    label = "numbers"
    verbose_name = "号码池"
