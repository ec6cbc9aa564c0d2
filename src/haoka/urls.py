from django.contrib import admin
from django.urls import include, path

from haoka.api import api

admin.site.site_header = "号卡运营后台"
admin.site.site_title = "haoka"
admin.site.index_title = "运营管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("haoka.web.urls")),
]
