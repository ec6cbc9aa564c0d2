from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "haoka.payments"
    label = "payments"
    verbose_name = "支付"
