"""Root URLs: the HTML app, the REST API under /api/v1/, TAXII 2.1, the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

api_v1 = [
    path("", include("ingest.api.urls")),
    path("", include("investigations.api.urls")),
    path("", include("investigations.detection.api.urls")),
    path("", include("investigations.enforcement.api.urls")),
    path("", include("investigations.sharing.api.urls")),
]

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("taxii2/", include("investigations.sharing.taxii.urls")),
    path("batches/", include("ingest.urls")),
    path("accounts/", include("accounts.urls")),
    path("enforcement/", include("investigations.enforcement.urls")),
    path("sharing/", include("investigations.sharing.urls")),
    path("audit/", include("investigations.audit.urls")),
    path("", include("investigations.urls")),
]
