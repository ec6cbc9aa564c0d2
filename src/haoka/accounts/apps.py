from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "haoka.accounts"
    label = "accounts"
    verbose_name = "账户"
