from django.apps import AppConfig


class ChargingConfig(AppConfig):
    name = "haoka.charging"
    label = "charging"
    verbose_name = "计费"

    def ready(self) -> None:
        from haoka.charging import (  # noqa: PLC0415  (models must be loaded first)
            checks,
            receivers,
        )

        receivers.connect()
        assert checks.final_unit_action  # registered with Django's checks on import
