from django.apps import AppConfig


class DistributionConfig(AppConfig):
    name = "haoka.distribution"
    label = "distribution"
    verbose_name = "分销"

    def ready(self) -> None:
        from haoka.distribution import receivers  # noqa: PLC0415  (AppConfig.ready: models loaded first)

        receivers.connect()
