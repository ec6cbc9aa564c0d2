from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "haoka.notices"
    label = "notices"
    verbose_name = "消息中心"
