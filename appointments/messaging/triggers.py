"""When each kind of message is queued: the events of the campaign that call these, and what they queue.

Each trigger builds its messages (kinds.render's parameters, the right phone) and queues them through
services.message_queue or messages_queue_many, inside the caller's transaction: a booking rolled back
queues nothing, and the sending starts after the commit (services). A kind the office switched off
for the campaign (kinds.kind_enabled) queues nothing. Whether a message still holds is checked again
just before it is sent (kinds.skip_reasons); a trigger only leaves out what can never be sent (no phone).

Who calls what:
- appointments.services.appointment_book_pair (and so appointments_book_bulk): confirmation_queue, for
  dose 1 (the held later dose gets its day by the dose_due message when dose 1 is given);
  appointment_reschedule: confirmation_queue for the appointment moved (a dose dragged along is not
  confirmed on its own: the dose_due message tells its day); mark_no_shows: missed_queue.
  A walk-in (sites.services.site_checkin) is at the site already: no confirmation.
- appointments.tasks.queue_reminders (beat, SMS_REMINDER_HOUR): reminders_queue for tomorrow, once per open
  campaign (campaign.periodic).
- appointments.planning.services.plan_publish: plan_published_queue.
- sites.services: the shot of a dose before the campaign's last, dose_due_queue (which checks it
  again); adverse_event_report, for a serious (severe) event, adverse_event_queue.
"""

import datetime

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone

from appointments.messaging import kinds
from appointments.messaging.models import Kind, Message
from appointments.messaging.services import message_queue, messages_queue_many
from campaign.lib import sms


class _Switches:
    """kinds.kind_enabled, read once per campaign and kind within one trigger."""

    def __init__(self, kind: str):
        self.kind = kind
        self.known: dict = {}

    def __call__(self, campaign_id) -> bool:
        if campaign_id not in self.known:
            self.known[campaign_id] = kinds.kind_enabled(campaign=campaign_id, kind=self.kind)
        return self.known[campaign_id]


def _appointment_params(appointment, site, campaign=None) -> dict:
    """`campaign`: the site's, when the caller has it loaded already (saves a read)."""
    return {
        "date": kinds.day_text(appointment.date),
        "place": kinds.site_text(site),
        "dose": kinds.dose_text(appointment.dose_number, (campaign or site.campaign).doses),
        "address": kinds.address_text(site),
    }


def confirmation_queue(*, appointments) -> int:
    """Queue a booking confirmation (day, site, address) to each appointment's resident; returns how many.

    Walk-ins (at the site already) and residents without a mobile phone get none. Pass appointments
    with their site and resident loaded to save reads.
    """
    enabled = _Switches(Kind.CONFIRMATION)
    queued = 0
    for appointment in appointments:
        if appointment.walk_in:
            continue
        resident = appointment.resident
        phone = kinds.mobile(resident.phone)
        site = appointment.site
        if not phone or not enabled(site.campaign_id):
            continue
        campaign = resident.campaign if resident.campaign_id == site.campaign_id else site.campaign
        queued += (
            message_queue(
                kind=Kind.CONFIRMATION,
                phone=phone,
                params=_appointment_params(appointment, site, campaign),
                campaign=campaign,
                resident=resident,
                appointment=appointment,
            )
            is not None
        )
    return queued


def reminders_queue(*, day: datetime.date, campaign=None) -> int:
    """Queue the day-before reminder of every appointment still booked on `day`; returns how many are new.

    One read of the booked appointments with a phone and no reminder for that day yet (only the
    columns the message needs), then the rows in bulk: fast for a site's day and for 72,000 at once.
    Safe to run twice: a reminder queued before is left alone (the outbox's unique key). Residents
    no longer eligible are left out; opt-outs are the send machine's (services). `campaign`: that
    campaign's appointments only (the periodic job runs once per open campaign); None: every campaign's.
    """
    from appointments.models import Appointment
    from residents.models import Resident
    from sites.models import Site

    reminded = Message.objects.filter(appointment=OuterRef("pk"), kind=Kind.REMINDER, day=day)
    rows = (
        Appointment.objects.filter(
            date=day, status=Appointment.Status.BOOKED, resident__status=Resident.Status.ELIGIBLE
        )
        .filter(**({"site__campaign": campaign} if campaign is not None else {}))
        .exclude(resident__phone="")
        .filter(~Exists(reminded))
        .order_by()
        .values_list("pk", "resident_id", "dose_number", "site_id", "resident__phone")
    )
    rows = list(rows)
    if not rows:
        return 0
    sites = {site.pk: site for site in Site.objects.filter(pk__in={row[3] for row in rows}).select_related("campaign")}
    enabled = _Switches(Kind.REMINDER)
    date = kinds.day_text(day)
    # Each site's and dose's message is the same for everyone: rendered once.
    rendered = {}
    messages = []
    for pk, resident_id, dose, site_id, phone in rows:
        site = sites[site_id]
        if not enabled(site.campaign_id) or not kinds.MOBILE.match(phone):
            continue
        if (site_id, dose) not in rendered:
            params = {
                "date": date,
                "place": kinds.site_text(site),
                "dose": kinds.dose_text(dose, site.campaign.doses),
                "address": kinds.address_text(site),
            }
            text = kinds.render(Kind.REMINDER, params)
            rendered[(site_id, dose)] = (params, text, sms.segments(text))
        params, text, segments = rendered[(site_id, dose)]
        messages.append(
            Message(
                kind=Kind.REMINDER,
                campaign_id=site.campaign_id,
                resident_id=resident_id,
                appointment_id=pk,
                day=day,
                phone=phone,
                params=params,
                text=text,
                segments=segments,
            )
        )
    return messages_queue_many(messages=messages) if messages else 0


def dose_due_queue(*, vaccination, appointment) -> Message | None:
    """Queue the next dose's day (`appointment`, held after `vaccination`'s shot) to the resident.

    Only for the dose right after the one given, and only when that one was not the campaign's last
    (dose n of a campaign of more than n doses): a one-dose campaign, or the last dose, queues nothing.
    A child's message goes to the guardian's phone (a child's Resident.phone is the guardian's).
    Returns the message, or None (none due, no mobile phone, the kind switched off, queued before).
    """
    resident = vaccination.resident
    phone = kinds.mobile(resident.phone)
    if not phone or appointment is None:
        return None
    site = vaccination.site if appointment.site_id == vaccination.site_id else appointment.site
    doses = site.campaign.doses
    if not (vaccination.dose_number < doses and appointment.dose_number == vaccination.dose_number + 1):
        return None
    if not kinds.kind_enabled(campaign=site.campaign_id, kind=Kind.DOSE_DUE):
        return None
    return message_queue(
        kind=Kind.DOSE_DUE,
        phone=phone,
        params={
            "dose": kinds.dose_text(appointment.dose_number, doses),
            "date": kinds.day_text(appointment.date),
            "place": kinds.site_text(site),
        },
        campaign=site.campaign,
        resident=resident,
        appointment=appointment,
    )


def _cadre_contacts(village_ids, responsible_ids) -> tuple[dict, dict]:
    """({village id: (name, phone)} of each village's first cadre with a phone, {user id: (name, phone)}
    of the residents' responsible cadres with a phone); active accounts only."""
    from campaign.models import Profile

    profiles = (
        Profile.objects.filter(Q(village_id__in=village_ids) | Q(user_id__in=responsible_ids), user__is_active=True)
        .exclude(phone="")
        .select_related("user")
        .order_by("user_id")
    )
    by_village, by_user = {}, {}
    for profile in profiles:
        contact = (kinds.person_text(profile.user), profile.phone.strip())
        by_user[profile.user_id] = contact
        if profile.village_id is not None:
            by_village.setdefault(profile.village_id, contact)
    return by_village, by_user


def missed_queue(*, appointments) -> int:
    """Queue a "missed, call your cadre to book again" message for each closed appointment; returns how many.

    The cadre is the resident's responsible cadre (包保), or else the first cadre of their village, with
    a phone; a resident with no such cadre, no mobile phone, or no longer eligible gets none.
    """
    from appointments.models import Appointment
    from residents.models import Resident
    from sites.models import Site

    ids = [appointment.pk for appointment in appointments]
    if not ids:
        return 0
    rows = list(
        Appointment.objects.filter(pk__in=ids, resident__status=Resident.Status.ELIGIBLE)
        .exclude(resident__phone="")
        .order_by("pk")
        .values_list(
            "pk",
            "resident_id",
            "dose_number",
            "date",
            "site_id",
            "resident__phone",
            "resident__village_id",
            "resident__responsible_cadre_id",
        )
    )
    if not rows:
        return 0
    sites = {site.pk: site for site in Site.objects.filter(pk__in={row[4] for row in rows}).select_related("campaign")}
    by_village, by_user = _cadre_contacts({row[6] for row in rows}, {row[7] for row in rows if row[7]})
    enabled = _Switches(Kind.MISSED)
    messages = []
    for pk, resident_id, dose, date, site_id, phone, village_id, cadre_id in rows:
        site = sites[site_id]
        contact = by_user.get(cadre_id) or by_village.get(village_id)
        if contact is None or not kinds.MOBILE.match(phone) or not enabled(site.campaign_id):
            continue
        params = {
            "date": kinds.day_text(date),
            "place": kinds.site_text(site),
            "dose": kinds.dose_text(dose, site.campaign.doses),
            "cadre": contact[0],
            "cadre_phone": contact[1],
        }
        text = kinds.render(Kind.MISSED, params)
        messages.append(
            Message(
                kind=Kind.MISSED,
                campaign_id=site.campaign_id,
                resident_id=resident_id,
                appointment_id=pk,
                day=date,
                phone=phone,
                params=params,
                text=text,
                segments=sms.segments(text),
            )
        )
    return messages_queue_many(messages=messages) if messages else 0


def plan_published_queue(*, plan) -> int:
    """Queue to each cadre (with a phone) of a village with places in `plan` their village's first-dose
    places in the plan's week; returns how many. One message per plan and cadre (the outbox key)."""
    from campaign.models import Profile

    campaign = plan.campaign
    if not kinds.kind_enabled(campaign=campaign, kind=Kind.PLAN_PUBLISHED):
        return 0
    places = dict(
        plan.allocations.values("village_id").annotate(places=Sum("places")).values_list("village_id", "places")
    )
    cadres = (
        Profile.objects.filter(village_id__in=[v for v, n in places.items() if n], user__is_active=True)
        .exclude(phone="")
        .select_related("user", "village")
        .order_by("village_id", "user_id")
    )
    queued = 0
    for profile in cadres:
        phone = kinds.mobile(profile.phone)
        if not phone:
            continue
        queued += (
            message_queue(
                kind=Kind.PLAN_PUBLISHED,
                phone=phone,
                params={
                    "week": kinds.day_text(plan.week_start),
                    "village": kinds.shorten(profile.village.name, kinds.SITE_CHARS),
                    "places": str(places[profile.village_id]),
                },
                campaign=campaign,
                recipient=profile.user,
                key=kinds.plan_key(plan.pk, profile.user_id),
            )
            is not None
        )
    return queued


def adverse_event_recipients(site):
    """The users told of a serious adverse event at `site`: the office, and the site's doctors (site team
    members in the doctor group bound to it), active and with a phone in their profile."""
    from campaign.roles import SITE_DOCTOR_GROUP, Role

    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name=Role.OFFICE) | Q(groups__name=SITE_DOCTOR_GROUP, profile__site=site))
        .exclude(profile__phone="")
        .select_related("profile")
        .distinct()
        .order_by("pk")
    )


def adverse_event_queue(*, event) -> int:
    """Queue to the office and the site's doctors that a serious (severe) adverse event was reported at
    the site, when; returns how many. A mild or moderate event queues nothing."""
    from sites.models import AdverseEvent

    if event.severity != AdverseEvent.Severity.SEVERE:
        return 0
    site = event.vaccination.site
    if not kinds.kind_enabled(campaign=site.campaign_id, kind=Kind.ADVERSE_EVENT):
        return 0
    params = {
        "place": kinds.site_text(site),
        "date": kinds.day_text(timezone.localtime(event.reported_at)),
        "time": kinds.time_text(event.reported_at),
    }
    queued = 0
    for user in adverse_event_recipients(site):
        phone = kinds.mobile(user.profile.phone)
        if not phone:
            continue
        queued += (
            message_queue(
                kind=Kind.ADVERSE_EVENT,
                phone=phone,
                params=params,
                campaign=site.campaign,
                recipient=user,
                key=f"{Kind.ADVERSE_EVENT}:{event.pk}:{user.pk}",
            )
            is not None
        )
    return queued
