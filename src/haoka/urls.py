from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path

from haoka.api import api
from haoka.charging import nchf_api
from haoka.sponsors import camara_api
from haoka.web import staff

admin.site.site_header = "号卡运营后台"
admin.site.site_title = "haoka"
admin.site.index_title = "运营管理"
admin.site.index_template = staff.INDEX_TEMPLATE


def api_not_found(request, rest=""):
    """Unknown API paths answer in the API's error shape, not with an HTML page."""
    return JsonResponse(
        {
            "error": {
                "code": "not_found",
                "message": "接口不存在",
                "details": {"path": request.path},
            }
        },
        status=404,
        json_dumps_params={"ensure_ascii": False},
    )


urlpatterns = [
    path("admin/", staff.index, name="staff_index"),  # the admin's index with staff queues
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path(nchf_api.BASE.lstrip("/"), nchf_api.create_view),
    path(nchf_api.BASE.lstrip("/") + "/<str:ref>/update", nchf_api.update_view),
    path(nchf_api.BASE.lstrip("/") + "/<str:ref>/release", nchf_api.release_view),
    re_path(rf"^{camara_api.BASE}(?P<rest>.*)$", camara_api.view),  # CAMARA Sponsored Data
    re_path(r"^api/(?P<rest>.*)$", api_not_found),
    path("", include("haoka.web.urls")),
]
