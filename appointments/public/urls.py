from django.urls import path

from appointments.public import office, person, registration, views

app_name = "public"
urlpatterns = [
    path("", views.start, name="start"),
    path("v/<int:village_id>/", views.village, name="village"),
    path("code/", views.code, name="code"),
    path("code/again/", views.resend, name="resend"),
    path("me/", views.family, name="family"),
    path("me/add/", views.add, name="add"),
    path("p/<int:member_id>/", person.person, name="person"),
    path("p/<int:member_id>/book/", person.book, name="book"),
    path("p/<int:member_id>/a/<int:appointment_id>/move/", person.move, name="move"),
    path("p/<int:member_id>/a/<int:appointment_id>/cancel/", person.cancel, name="cancel"),
    path("register/", registration.register, name="register"),
    path("office/rules/", office.rules, name="office_rules"),
    path("signout/", views.signout, name="signout"),
]
