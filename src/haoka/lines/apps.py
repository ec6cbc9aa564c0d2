from django.apps import AppConfig


class LinesConfig(AppConfig):
    name = "haoka.lines"
    label = "lines"
    verbose_name = "线路"
