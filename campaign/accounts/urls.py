from django.urls import path

from campaign.accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.account_list, name="list"),
    path("new/", views.account_new, name="new"),
    path("<int:pk>/", views.account_detail, name="detail"),
    path("<int:pk>/edit/", views.account_edit, name="edit"),
    path("<int:pk>/reset-password/", views.account_reset, name="reset_password"),
    path("<int:pk>/deactivate/", views.account_deactivate, name="deactivate"),
    path("<int:pk>/reactivate/", views.account_reactivate, name="reactivate"),
]
