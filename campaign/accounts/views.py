"""The office's account pages, and the login and password change every user goes through."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaign.accounts import services
from campaign.accounts.forms import AccountFilterForm, AccountForm, NewPasswordForm
from campaign.accounts.middleware import SESSION_KEY
from campaign.accounts.selectors import account_list as select_accounts
from campaign.accounts.selectors import account_row
from campaign.lib.access import role_required
from campaign.models import Profile
from campaign.roles import Role
from campaign.scope import bound_site, bound_village, working_campaign


@role_required(Role.OFFICE)
def account_list(request):
    """Every account, filtered by role, village, site, state and name."""
    campaign = working_campaign(request)
    filters = AccountFilterForm(request.GET or None, campaign=campaign)
    values = filters.values() if request.GET else {}
    page = Paginator(select_accounts(**values), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "campaign/accounts/list.html",
        {"filters": filters, "page": page, "rows": [account_row(user) for user in page], "query": query.urlencode()},
    )


def _temporary_password_page(request, user, password, *, created):
    # Rendered in answer to the POST, never stored: the office sees it once and hands it over.
    context = {"account": user, "password": password, "created": created}
    return render(request, "campaign/accounts/temporary_password.html", context)


@role_required(Role.OFFICE)
def account_new(request):
    """Make an account; the answer shows its temporary password once."""
    campaign = working_campaign(request)
    form = AccountForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, password = services.account_create(
                by=request.user,
                username=data["username"],
                full_name=data["full_name"],
                kind=data["kind"],
                village=data["village"],
                site=data["site"],
                phone=data["phone"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _temporary_password_page(request, user, password, created=True)
    status = 400 if form.errors else 200
    return render(request, "campaign/accounts/form.html", {"form": form, "account": None}, status=status)


def _account_or_404(pk) -> User:
    return get_object_or_404(User.objects.select_related("profile__village", "profile__site"), pk=pk)


@role_required(Role.OFFICE)
def account_detail(request, pk):
    """One account: its role and binding, its actions, and the record of every change."""
    user = _account_or_404(pk)
    events = user.account_events.select_related("by")[:200]
    return render(
        request,
        "campaign/accounts/detail.html",
        {"row": account_row(user), "account": user, "events": events, "is_self": user.pk == request.user.pk},
    )


@role_required(Role.OFFICE)
def account_edit(request, pk):
    """Change an account's name, phone, role or binding."""
    user = _account_or_404(pk)
    campaign = working_campaign(request)
    profile = getattr(user, "profile", None) or Profile(user=user)
    initial = {
        "full_name": user.first_name,
        "kind": services.kind_of(user),
        # The binding as it reads in this campaign: the village or site of the same name (campaign.scope).
        "village": getattr(bound_village(user, campaign), "pk", None),
        "site": getattr(bound_site(user, campaign), "pk", None),
        "phone": profile.phone,
    }
    form = AccountForm(request.POST or None, initial=initial, campaign=campaign, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            changed = services.account_change(by=request.user, user=user, **data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if changed:
                messages.success(request, _("The account %(username)s is changed.") % {"username": user.username})
            return redirect("accounts:detail", pk=user.pk)
    status = 400 if form.errors else 200
    return render(request, "campaign/accounts/form.html", {"form": form, "account": user}, status=status)


@require_POST
@role_required(Role.OFFICE)
def account_reset(request, pk):
    """A new temporary password, shown once; the user must change it at the next login."""
    user = _account_or_404(pk)
    try:
        password = services.account_reset_password(by=request.user, user=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("accounts:detail", pk=user.pk)
    return _temporary_password_page(request, user, password, created=False)


def _state_change(request, pk, change, done: str):
    user = _account_or_404(pk)
    try:
        change(by=request.user, user=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done % {"username": user.username})
    return redirect("accounts:detail", pk=user.pk)


@require_POST
@role_required(Role.OFFICE)
def account_deactivate(request, pk):
    return _state_change(
        request, pk, services.account_deactivate, _("The account %(username)s is deactivated: it can no longer log in.")
    )


@require_POST
@role_required(Role.OFFICE)
def account_reactivate(request, pk):
    return _state_change(request, pk, services.account_reactivate, _("The account %(username)s can log in again."))


class LoginView(auth_views.LoginView):
    """Django's login; an account with a temporary password goes straight to the password page."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        if services.must_change_password(form.get_user()):
            self.request.session[SESSION_KEY] = True
            return redirect("password_change")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change in the site's layout; the change is recorded and clears the demand."""

    form_class = NewPasswordForm
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)  # saves, and keeps this session logged in
        services.account_password_changed(user=form.user)
        self.request.session.pop(SESSION_KEY, None)
        messages.success(self.request, _("Your password is changed."))
        return response

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs, forced=bool(self.request.session.get(SESSION_KEY)))
