"""疫苗库存: the stock per site and lot, deliveries, transfers and today's open vials (sites.supply).

The office records for every site; a site team for its own site (its binding in the campaign
the page works in); supervision and leadership read.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaign.lib.access import role_required
from campaign.roles import Role, role_of
from campaign.scope import bound_site
from sites.models import Delivery, Site, Transfer, Vial
from sites.supply.forms import DeliveryForm, TransferForm
from sites.supply.selectors import stock_by_site_lot, supply_alerts, supply_by_site
from sites.supply.services import (
    SupplyRefused,
    delivery_record,
    transfer_record,
    vial_discard,
    vials_discard_end_of_day,
)

READERS = (Role.OFFICE, Role.SITE_TEAM, Role.SUPERVISION, Role.LEADERSHIP)
RECORDERS = (Role.OFFICE, Role.SITE_TEAM)


def _scope(request):
    """(campaign, the user's own site or None for the office and the watchers)."""
    campaign = request.campaign
    if not campaign:
        raise PermissionDenied
    if role_of(request.user) == Role.SITE_TEAM:
        site = bound_site(request.user, campaign)
        if site is None:
            raise PermissionDenied
        return campaign, site
    return campaign, None


def _sites(campaign, own):
    return [own] if own is not None else list(Site.objects.filter(campaign=campaign))


@role_required(*READERS)
def supply(request):
    """The stock per site and lot, the alerts, today's open vials and the latest deliveries and transfers."""
    campaign, own = _scope(request)
    today = timezone.localdate()
    supplies = supply_by_site(campaign=campaign, site=own, on=today)
    sites = [s.site for s in supplies]
    open_vials = (
        Vial.objects.filter(site__in=sites, discarded_at__isnull=True)
        .select_related("site", "lot", "opened_by")
        .annotate(drawn=Count("vaccinations"))
        .order_by("site_id", "opened_at")
    )
    context = {
        "campaign": campaign,
        "own": own,
        "today": today,
        "supplies": supplies,
        "stocks": stock_by_site_lot(campaign=campaign, site=own, on=today),
        "alerts": supply_alerts(campaign=campaign, site=own, on=today, supplies=supplies),
        "open_vials": open_vials,
        "deliveries": Delivery.objects.filter(site__in=sites).select_related("site", "lot")[:20],
        "transfers": Transfer.objects.filter(Q(from_site__in=sites) | Q(to_site__in=sites))
        .select_related("from_site", "to_site", "lot")
        .distinct()[:20],
        "can_record": role_of(request.user) in RECORDERS,
    }
    return render(request, "sites/supply.html", context)


@role_required(*RECORDERS)
def delivery(request):
    """到货登记."""
    campaign, own = _scope(request)
    sites = Site.objects.filter(campaign=campaign) if own is None else Site.objects.filter(pk=own.pk)
    form = DeliveryForm(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            done = delivery_record(
                site=data["site"],
                manufacturer=data["manufacturer"],
                number=data["number"],
                expiry_date=data["expiry_date"],
                doses_per_vial=data["doses_per_vial"],
                vials=data["vials"],
                date=data["date"],
                recorded_by=request.user,
            )
        except SupplyRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request,
                _("Recorded: %(vials)s vials (%(doses)s doses) of lot %(lot)s at %(site)s.")
                % {"vials": done.vials, "doses": done.doses, "lot": done.lot.number, "site": done.site.name},
            )
            return redirect("sites:supply")
    return render(request, "sites/supply_form.html", {"form": form, "title": _("Record a delivery")})


@role_required(*RECORDERS)
def transfer(request):
    """调拨: the office between any two sites; a site team from its own."""
    campaign, own = _scope(request)
    from_sites = Site.objects.filter(campaign=campaign) if own is None else Site.objects.filter(pk=own.pk)
    form = TransferForm(request.POST or None, campaign=campaign, from_sites=from_sites)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            done = transfer_record(
                lot=data["lot"],
                from_site=data["from_site"],
                to_site=data["to_site"],
                vials=data["vials"],
                date=data["date"],
                recorded_by=request.user,
            )
        except SupplyRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request,
                _("Recorded: %(vials)s vials of lot %(lot)s from %(from)s to %(to)s.")
                % {"vials": done.vials, "lot": done.lot.number, "from": done.from_site.name, "to": done.to_site.name},
            )
            return redirect("sites:supply")
    return render(request, "sites/supply_form.html", {"form": form, "title": _("Record a transfer")})


@require_POST
@role_required(*RECORDERS)
def discard(request, pk):
    """Discard one open vial now: the doses not drawn are wasted."""
    campaign, own = _scope(request)
    vial = get_object_or_404(Vial, pk=pk, site__campaign=campaign, **({"site": own} if own is not None else {}))
    wasted = vial_discard(vial=vial)
    messages.success(request, _("Vial discarded: %(n)s doses wasted.") % {"n": wasted})
    return redirect("sites:supply")


@require_POST
@role_required(Role.SITE_TEAM)
def discard_all(request):
    """The site's end of the day: every vial still open is discarded, the rest of its doses wasted."""
    _campaign, own = _scope(request)
    done = vials_discard_end_of_day(site=own)
    messages.success(
        request, _("%(vials)s vials discarded, %(n)s doses wasted.") % {"vials": done["vials"], "n": done["wasted"]}
    )
    return redirect("sites:supply")
