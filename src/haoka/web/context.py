from django.conf import settings


def site(request):
    return {"site_name": "号卡", "sandbox": settings.SANDBOX}
