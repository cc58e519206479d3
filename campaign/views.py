from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from campaign.lib.params import id_param
from campaign.models import Campaign
from campaign.roles import Role, role_of
from campaign.scope import campaign_choose

ROLE_HOMES = {
    Role.CADRE: "residents:village_home",
    Role.SITE_TEAM: "sites:workstation",
    Role.OFFICE: "reports:dashboard",
    Role.SUPERVISION: "reports:dashboard",
    Role.LEADERSHIP: "reports:dashboard",
}


def home(request):
    """Send each user to the page of their role."""
    role = role_of(request.user)
    if role is None:
        return render(request, "campaign/no_role.html", status=403)
    return redirect(ROLE_HOMES[Role(role)])


@login_not_required
@never_cache
def health(request):
    """For a load balancer or monitor: the app answers and reaches its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_not_required
def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the form's token did not check (an expired page, a login in another window)."""
    return render(request, "403_csrf.html", status=403)


@require_POST
def choose_campaign(request):
    """The top bar's choice: work in another open campaign from now on (this session and the next
    login), back on the page the choice was made from."""
    if role_of(request.user) is None:
        return render(request, "campaign/no_role.html", status=403)
    campaign_id = id_param(request.POST, "campaign")
    campaign = Campaign.objects.open().filter(pk=campaign_id).first() if campaign_id else None
    if campaign is not None:
        campaign_choose(request, campaign)
    back = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return HttpResponseRedirect(back) if safe and back.startswith("/") else redirect("home")
