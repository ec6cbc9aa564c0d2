from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "haoka.orders"
    label = "orders"
    verbose_name = "订单"

    def ready(self) -> None:
        from haoka.orders import receivers  # noqa: PLC0415  (AppConfig.ready: models loaded first)

        receivers.connect()
