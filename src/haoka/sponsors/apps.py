from django.apps import AppConfig


class SponsorsConfig(AppConfig):
    name = "haoka.sponsors"
    label = "sponsors"
    verbose_name = "后向流量"

    def ready(self) -> None:
        from haoka.sponsors import receivers  # noqa: PLC0415  (AppConfig.ready: models loaded first)

        receivers.connect()
