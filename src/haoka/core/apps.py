import structlog
from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "haoka.core"
    label = "core"
    verbose_name = "基础"

    def ready(self) -> None:
        # structlog's default console output prints every frame's local variables with a
        # traceback; they may hold names and ID numbers, which are never logged.
        processors = structlog.get_config()["processors"]
        renderer = structlog.dev.ConsoleRenderer(
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False)
        )
        structlog.configure(processors=[*processors[:-1], renderer])
