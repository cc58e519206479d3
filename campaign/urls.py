from captcha import views as captcha_views
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from campaign import views
from campaign.accounts import views as account_views
from campaign.setup import urls as setup_urls

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/users/", include("campaign.accounts.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    # One namespace: the top bar's choice of campaign and the office's campaign set-up (campaign.setup).
    path(
        "campaign/",
        include(
            (
                [
                    path("choose/", views.choose_campaign, name="choose"),
                    path("setup/", include(setup_urls.urlpatterns)),
                ],
                "campaign",
            )
        ),
    ),
    path("residents/", include("residents.urls")),
    # The site team's pages kept the address they had under appointments.
    path("appointments/site/", include("sites.urls")),
    path("appointments/", include("appointments.urls")),
    path("plan/", include("appointments.planning.urls")),
    path("daily/", include("appointments.daily.urls")),
    path("posters/", include("appointments.posters.urls")),
    path("reports/", include("reports.urls")),
    path("messages/", include("appointments.messaging.urls")),
    path("admin/", admin.site.urls),
    # The residents' own booking pages (public, no staff login).
    path("book/", include("appointments.public.urls")),
    # django-simple-captcha's picture and refresh (its URL names, unnamespaced), open to the public pages.
    path(
        "captcha/image/<slug:key>/", login_not_required(captcha_views.captcha_image), {"scale": 1}, name="captcha-image"
    ),
    path(
        "captcha/image/<slug:key>@2/",
        login_not_required(captcha_views.captcha_image),
        {"scale": 2},
        name="captcha-image-2x",
    ),
    path("captcha/refresh/", login_not_required(captcha_views.captcha_refresh), name="captcha-refresh"),
]
