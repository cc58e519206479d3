from django.urls import path

from appointments.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.outbox, name="outbox"),
    path("opt-outs/", views.opt_out_list, name="opt_outs"),
    path("opt-outs/<int:pk>/remove/", views.opt_out_remove, name="opt_out_remove"),
    path("kinds/", views.kind_list, name="kinds"),
    path("kinds/<slug:kind>/", views.kind_switch, name="kind_switch"),
    # The providers' delivery reports and replies: no login, no form token (the backend verifies them).
    path("callback/<slug:provider>/", views.callback, name="callback"),
]
