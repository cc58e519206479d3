from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from appointments.models import OPEN_STATUSES, Appointment
from campaign.lib.documents import nationality_name
from campaign.lib.masking import shown_birth_date, shown_id_number, shown_phone
from residents.models import Resident
from sites.models import Vaccination


def village_summary(*, village) -> dict:
    """A village's numbers against its quota: registered by status, booked, and people with each dose.

    `given` holds (label, people) for each dose of the campaign, none for a dose it does not have;
    `dose1` the people with dose 1 (the quota's measure), `completed` those fully vaccinated (the
    campaign's last dose).
    """
    campaign = village.campaign
    counts = Resident.objects.filter(village=village).aggregate(
        registered=Count("id"),
        **{status: Count("id", filter=Q(status=status)) for status in Resident.Status.values},
    )
    counts["booked"] = (
        Appointment.objects.filter(resident__village=village, dose_number=1, status__in=OPEN_STATUSES)
        .values("resident_id")
        .count()
    )
    doses = Vaccination.objects.filter(resident__village=village).aggregate(
        **{f"dose{n}": Count("id", filter=Q(dose_number=n)) for n in campaign.dose_numbers}
    )
    counts["dose1"] = doses["dose1"]
    counts["completed"] = doses[f"dose{campaign.doses}"]
    counts["given"] = [(dose_given_label(n, campaign.doses), doses[f"dose{n}"]) for n in campaign.dose_numbers]
    counts["quota"] = village.quota
    counts["quota_percent"] = round(100 * doses["dose1"] / village.quota, 1) if village.quota else 0
    return counts


def dose_given_label(n: int, doses: int) -> str:
    """ "dose 2 given" for dose `n` of a campaign of `doses`; a one-dose campaign's only dose is "vaccinated"."""
    if doses == 1:
        return _("vaccinated")
    return _("dose %(n)s given") % {"n": n}


def with_progress(queryset):
    """Annotate residents with where their doses stand: has_dose1, last_dose (the highest dose given,
    None before dose 1), complete (every dose of their campaign given) and booked (an open place)."""
    dose = Vaccination.objects.filter(resident=OuterRef("pk"))
    return queryset.annotate(
        has_dose1=Exists(dose.filter(dose_number=1)),
        last_dose=Subquery(dose.order_by("-dose_number").values("dose_number")[:1]),
        complete=Exists(dose.filter(dose_number=OuterRef("campaign__doses"))),
        booked=Exists(Appointment.objects.filter(resident=OuterRef("pk"), status__in=OPEN_STATUSES)),
    )


def resident_history(resident, *, full: bool) -> list[dict]:
    """The resident's changes, newest first: who, when, and each field's old and new value.

    Without `full`, ID numbers and phones are masked and birth dates left out, as on the rest
    of the page (campaign.lib.masking).
    """
    records = list(resident.history.select_related("history_user").order_by("-history_date", "-history_id"))
    entries = []
    # Each record against the one before it; the oldest against nothing. A resident inserted in
    # bulk (the demo, an import) may have no record at all: an empty history, not an error.
    for newer, older in zip(records, [*records[1:], None][: len(records)], strict=True):
        changes = []
        if older is not None:
            for change in newer.diff_against(older).changes:
                field = Resident._meta.get_field(change.field)
                changes.append(
                    {
                        "field": field.verbose_name,
                        "old": _display(field, _shown(field.name, change.old, full=full, resident=resident)),
                        "new": _display(field, _shown(field.name, change.new, full=full, resident=resident)),
                    }
                )
        entries.append(
            {
                "when": newer.history_date,
                "who": (newer.history_user.get_full_name() or newer.history_user.username)
                if newer.history_user
                else "",
                "type": newer.history_type,
                "reason": newer.history_change_reason,
                "changes": changes,
            }
        )
    return entries


def _shown(name: str, value, *, full: bool, resident):
    if name == "id_number":
        return shown_id_number(value or "", full=full, document_type=resident.document_type)
    if name == "guardian_id_number":
        return shown_id_number(value or "", full=full, document_type=resident.guardian_document_type)
    if name == "nationality":
        return nationality_name(value) if value else value
    if name == "phone":
        return shown_phone(value or "", full=full)
    if name == "birth_date":
        return shown_birth_date(value, full=full)
    return value


def _display(field, value):
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if field.get_internal_type() == "BooleanField":
        return "✓" if value else "—"
    if field.is_relation and value:
        model = field.related_model
        obj = model.objects.filter(pk=value).first()
        if obj is not None and hasattr(obj, "get_full_name"):
            return obj.get_full_name() or str(obj)
        return str(obj) if obj is not None else value
    if field.name == "status_reasons":
        from residents.services import reason_labels

        return "、".join(reason_labels(value or [])) or "—"
    return value if value not in (None, "") else "—"


def self_registration_status(resident) -> tuple[str, str] | None:
    """Where a self-registration stands with the village cadre, for the person's public page:
    (label, reason), e.g. ("待村干部确认", ""), or ("未通过村干部审核", the cadre's reason);
    None for a registration made by staff or an import (nothing to say)."""
    if resident.channel != Resident.Channel.SELF:
        return None
    if resident.review == Resident.Review.REFUSED:
        return _("Not approved by the village cadre"), resident.review_reason
    if resident.review == Resident.Review.CONFIRMED:
        return _("Confirmed by the village cadre"), ""
    return _("To be confirmed by the village cadre"), ""


def reviews_pending(user, *, campaign):
    """The self-registrations waiting for review that `user` may see (a cadre: their village's),
    oldest first: the cadre's list 待确认的自助登记 and the count in the navigation."""
    return (
        Resident.objects.for_user(user)
        .filter(campaign=campaign, review=Resident.Review.PENDING)
        .order_by("registered_at", "id")
    )


def reviews_pending_count(user, *, campaign) -> int:
    """How many self-registrations of `campaign` wait for `user`'s review (the navigation's badge)."""
    if not campaign:
        return 0
    return reviews_pending(user, campaign=campaign).count()
