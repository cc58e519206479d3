from django.urls import path

from appointments import views, views_site

app_name = "appointments"
urlpatterns = [
    path("site/", views.site_home, name="site_home"),
    path("site/scan/", views_site.scan, name="site_scan"),
    path("site/register/", views_site.register, name="site_register"),
    path("site/live/", views_site.live, name="site_live"),
    path("site/observation/", views_site.observation, name="site_observation"),
    path("site/arrival/<int:pk>/screen/", views_site.screen, name="site_screen"),
    path("site/arrival/<int:pk>/vaccinate/", views_site.vaccinate, name="site_vaccinate"),
    path("site/dose/<int:pk>/release/", views_site.release, name="site_release"),
    path("site/dose/<int:pk>/adverse-event/", views_site.adverse, name="site_adverse"),
    path("site/adverse-events/", views_site.adverse_recent, name="adverse_recent"),
    path("site/<int:site_pk>/", views_site.watch, name="site_watch"),
    path("site/<int:site_pk>/live/", views_site.live, name="site_watch_live"),
    path("site/<int:site_pk>/observation/", views_site.observation, name="site_watch_observation"),
    path("booking/", views.booking, name="booking"),
    path("follow-up/", views.follow_up, name="follow_up"),
    path("resident/<int:pk>/book/", views.book_resident, name="book_resident"),
    path("resident/<int:pk>/hold-dose-2/", views.hold_dose2, name="hold_dose2"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/reschedule/", views.reschedule, name="reschedule"),
]
