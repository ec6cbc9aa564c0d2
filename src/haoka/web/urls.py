from django.urls import path

from haoka.web import number_views, order_views, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/compare/", views.plan_compare, name="plan_compare"),
    path("plans/<str:code>/", views.plan_detail, name="plan_detail"),
    path("numbers/", number_views.number_search, name="numbers"),
    path("numbers/valuation/", number_views.number_valuation, name="number_valuation"),
    path("numbers/suggestions/", number_views.number_suggestions, name="number_suggestions"),
    path("numbers/<str:msisdn>/reserve/", number_views.number_reserve, name="number_reserve"),
    path("numbers/<str:msisdn>/release/", number_views.number_release, name="number_release"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("me/", views.me, name="me"),
    path("checkout/", order_views.checkout, name="checkout"),
    path("orders/", order_views.order_list, name="orders"),
    path("orders/<str:ref>/", order_views.order_detail, name="order_detail"),
    path("orders/<str:ref>/kyc/", order_views.order_kyc, name="order_kyc"),
    path("orders/<str:ref>/contract/", order_views.order_sign, name="order_sign"),
    path(
        "orders/<str:ref>/contract.pdf", order_views.order_contract_pdf, name="order_contract_pdf"
    ),
    path("orders/<str:ref>/pay/", order_views.order_pay, name="order_pay"),
    path("orders/<str:ref>/cancel/", order_views.order_cancel, name="order_cancel"),
    path("orders/<str:ref>/activate/", order_views.order_activate, name="order_activate"),
]
