"""Who keeps a site's dose record: its list of vaccinators (接种人员), the shift's pick, and who may correct.

A site keeps a list of the people who give its shots; the site's doctor or the office adds them
and deactivates those who leave (a name that gave doses stays, inactive). At the shot step the
nurse picks her name once per shift: the pick is kept in the session of that workstation, per
site, until she changes it (换人) or the day ends. Each dose records the account that typed it
(Vaccination.vaccinator) and the person picked (Vaccination.given_by).

Corrections and voids of doses, and the list of vaccinators, are for the site's doctor (a site team
member in the site_doctor group, bound to that site) and the office: `may_keep_dose_record`.
"""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.services import BookingRefused
from campaign.lib.text import clean_text
from campaign.roles import SITE_DOCTOR_GROUP, Role, role_of
from campaign.scope import bound_site
from sites.models import Vaccination, Vaccinator


class DoseRecordRefused(BookingRefused):
    """A correction, a void or a change to the list of vaccinators the rules do not allow."""

    code = "dose_record_refused"


class NotAllowed(DoseRecordRefused):
    """The user is neither the site's doctor nor the office."""

    code = "not_allowed"


NOT_ALLOWED = _("Only the site's doctor or the campaign office can do this.")


def may_keep_dose_record(user, site) -> bool:
    """Whether `user` may correct and void `site`'s doses and keep its list of vaccinators.

    The office, for every site; a site doctor (a site team member in the site_doctor group) for the
    site they are bound to in that site's campaign (campaign.scope.bound_site); nobody else.
    """
    role = role_of(user)
    if role == Role.OFFICE:
        return True
    if role != Role.SITE_TEAM:
        return False
    doctor = get_user_model().groups.through.objects.filter(user_id=user.pk, group__name=SITE_DOCTOR_GROUP)
    if not doctor.exists():
        return False
    bound = bound_site(user, site.campaign)
    return bound is not None and bound.pk == site.pk


def _allowed(by, site) -> None:
    if not may_keep_dose_record(by, site):
        raise NotAllowed(NOT_ALLOWED)


def vaccinator_add(*, site, name: str, by, user=None) -> Vaccinator:
    """Add `name` to the site's vaccinators (a name already there, inactive, comes back active).

    Raises NotAllowed (not the site's doctor or the office) or DoseRecordRefused (no name, a name
    already active on the list).
    """
    _allowed(by, site)
    name = clean_text(name or "").strip()[:50]
    if not name:
        raise DoseRecordRefused(_("Enter the vaccinator's name."))
    with transaction.atomic():
        existing = Vaccinator.objects.select_for_update().filter(site__name=site.name, name=name).first()
        if existing is not None:
            if existing.is_active:
                raise DoseRecordRefused(_("%(name)s is already on the list."), name=name)
            existing.is_active = True
            existing.save(update_fields=["is_active"])
            return existing
        try:
            with transaction.atomic():
                return Vaccinator.objects.create(site=site, name=name, user=user)
        except IntegrityError:
            raise DoseRecordRefused(_("%(name)s is already on the list."), name=name) from None


def vaccinator_set_active(*, vaccinator: Vaccinator, active: bool, by) -> Vaccinator:
    """Deactivate a vaccinator who no longer gives shots here (their doses keep their name), or bring them back."""
    _allowed(by, vaccinator.site)
    Vaccinator.objects.filter(pk=vaccinator.pk).update(is_active=active)
    vaccinator.is_active = active
    return vaccinator


def vaccinator_serves(vaccinator: Vaccinator, site) -> bool:
    """Whether `vaccinator` is one of the nurses of `site` (its namesake in any campaign, see site_vaccinators)."""
    return vaccinator.site_id == site.pk or vaccinator.site.name == site.name


def site_vaccinators(site, *, active_only: bool = True):
    """The nurses of the township's site named as `site`, in whichever campaign's row they were added:
    a nurse gives shots in every campaign at her site (bindings by name, campaign.scope)."""
    vaccinators = Vaccinator.objects.filter(site__name=site.name).select_related("site")
    return vaccinators.filter(is_active=True) if active_only else vaccinators


# The shift's pick -----------------------------------------------------------------------------


def _shift_key(site) -> str:
    return f"sites:shift:{site.pk}"


def shift_vaccinator(session, site) -> dict | None:
    """The vaccinator picked on this workstation for `site` today, as {"id", "name"}; None when nobody
    is picked or the pick is from an earlier day (a shift ends with the day)."""
    picked = session.get(_shift_key(site))
    if not picked or picked.get("day") != timezone.localdate().isoformat():
        return None
    return {"id": picked["id"], "name": picked["name"]}


def shift_pick(session, site, vaccinator: Vaccinator) -> None:
    """The nurse at this workstation is `vaccinator` from now until she changes it or the day ends.

    Raises DoseRecordRefused for someone not on the site's active list.
    """
    if not vaccinator_serves(vaccinator, site) or not vaccinator.is_active:
        raise DoseRecordRefused(_("Pick a name from this site's list of vaccinators."))
    session[_shift_key(site)] = {"id": vaccinator.pk, "name": vaccinator.name, "day": timezone.localdate().isoformat()}


def shift_end(session, site) -> None:
    """换人: the next shot asks for the name again."""
    session.pop(_shift_key(site), None)


# What the dose's page shows -------------------------------------------------------------------

# The fields a correction changes, as the history shows them (the lot shows as its number and
# manufacturer; the end of observation follows the time).
SHOWN_FIELDS = ("vaccinated_at", "lot_number", "manufacturer", "given_by", "injection_site")


def _shown(field, value, names) -> str:
    if value is None or value == "":
        return "—"
    if field.name == "given_by":
        return names.get(value, "?")
    if field.name == "vaccinated_at":
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def dose_history(vaccination_id: int) -> list[dict]:
    """A dose's history, newest first: when, who, what (recorded, corrected, voided), why, and each
    corrected field's old → new value. Also for a voided dose (its row is gone; its history stays)."""
    history = Vaccination.history.model
    records = list(
        history.objects.filter(id=vaccination_id).select_related("history_user", "vaccinator").order_by("-history_id")
    )
    ids = {r.given_by_id for r in records if r.given_by_id}
    names = dict(Vaccinator.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    entries = []
    # Each row against the one before it. A dose inserted in bulk (the demo) has no row until it changes.
    for newer, older in zip(records, [*records[1:], None][: len(records)], strict=True):
        changes = []
        if older is not None and newer.history_type == "~":
            delta = newer.diff_against(older, included_fields=list(SHOWN_FIELDS))
            for change in sorted(delta.changes, key=lambda c: SHOWN_FIELDS.index(c.field)):
                field = Vaccination._meta.get_field(change.field)
                changes.append(
                    {
                        "field": field.verbose_name,
                        "old": _shown(field, change.old, names),
                        "new": _shown(field, change.new, names),
                    }
                )
        # A dose's first row without a user (recorded outside a request): the account that recorded it.
        user = newer.history_user or (newer.vaccinator if newer.history_type == "+" else None)
        entries.append(
            {
                "when": newer.history_date,
                "who": (user.get_full_name() or user.username) if user else "",
                "type": newer.history_type,
                "reason": newer.history_change_reason or "",
                "changes": changes,
            }
        )
    return entries


def shift_picked_id(session) -> int | None:
    """The id of today's pick on this workstation (whichever site: the shot checks it is the dose's)."""
    for key, picked in session.items():
        if key.startswith("sites:shift:") and picked and picked.get("day") == timezone.localdate().isoformat():
            return picked.get("id")
    return None
