"""Until a temporary password is replaced, every page leads to the password change page."""

from django.shortcuts import redirect
from django.urls import reverse

# Set in the session at login when the account holds a temporary password (campaign.accounts.views.LoginView),
# so that no request reads the profile to know it.
SESSION_KEY = "campaign:must_change_password"
ALLOWED = ("password_change", "logout", "set_language", "health")


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.allowed = None

    def __call__(self, request):
        if request.session.get(SESSION_KEY):
            if self.allowed is None:
                self.allowed = {reverse(name) for name in ALLOWED}
            if request.path_info not in self.allowed:
                return redirect("password_change")
        return self.get_response(request)
