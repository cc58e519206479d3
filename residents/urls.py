from django.urls import include, path

from residents import views

app_name = "residents"
urlpatterns = [
    path("", views.village_home, name="village_home"),
    path("new/", views.resident_new, name="new"),
    path("id-preview/", views.id_preview, name="id_preview"),
    path("full-views/", views.full_value_views, name="full_value_views"),
    path("reviews/", views.review_list, name="reviews"),
    path("<int:pk>/review/confirm/", views.review_confirm, name="review_confirm"),
    path("<int:pk>/review/refuse/", views.review_refuse, name="review_refuse"),
    path("<int:pk>/", views.resident_detail, name="detail"),
    path("<int:pk>/edit/", views.resident_edit, name="edit"),
    path("<int:pk>/refuse/", views.resident_refuse, name="refuse"),
    path("<int:pk>/delete/", views.resident_remove, name="delete"),
    path("import/", include("residents.importing.urls")),
]
