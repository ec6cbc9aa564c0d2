from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "haoka.catalog"
    label = "catalog"
    verbose_name = "产品目录"
