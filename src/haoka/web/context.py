from functools import cached_property

from django.conf import settings

from haoka.notices import queries as notices_queries


class Inbox:
    """The signed-in person's unread count for the bottom bar's badge: one COUNT, and only
    when a template shows it (an htmx fragment does not)."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id

    @cached_property
    def unread(self) -> int:
        return notices_queries.unread_count(user_id=self.user_id)

    @property
    def badge(self) -> str:
        """What the badge shows: the count, 99+ past 99."""
        return "99+" if self.unread > 99 else str(self.unread)


def site(request):
    user = getattr(request, "user", None)
    inbox = Inbox(user.pk) if user is not None and user.is_authenticated else None
    return {"site_name": "号卡", "sandbox": settings.SANDBOX, "inbox": inbox}
