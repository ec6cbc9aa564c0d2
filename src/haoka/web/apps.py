from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "haoka.web"
    label = "web"
    verbose_name = "页面"
