from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "haoka.kyc"
    label = "kyc"
    verbose_name = "实名认证"
