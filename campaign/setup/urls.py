from django.urls import path

from campaign.setup import views

app_name = "campaign"
urlpatterns = [
    path("", views.setup_list, name="setup"),
    path("new/", views.setup_create, name="setup_create"),
    path("<int:pk>/", views.setup_edit, name="setup_edit"),
    path("<int:pk>/copy/", views.setup_copy, name="setup_copy"),
    # Close and reopen side by side: a walk over every page that closes a campaign opens it again next.
    path("<int:pk>/close/", views.setup_close, name="setup_close"),
    path("<int:pk>/reopen/", views.setup_reopen, name="setup_reopen"),
]
