"""The town's follow-up list: who is to be called back, why, by which cadre, and what the last call gave."""

import datetime

from django.contrib.auth import get_user_model
from django.db.models import BooleanField, Case, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When

from appointments.messaging.models import Message, OptOut
from appointments.models import CallAttempt
from appointments.selectors import open_no_shows, without_next_dose_place
from campaign.models import Village
from campaign.roles import Role
from residents.models import Resident

# SQLite takes 32,766 parameters in a statement; the ids of the list are passed as parameters up to this many.
MAX_LISTED_IDS = 20_000
NEVER_CALLED = "none"  # the "last result" of someone nobody has called yet
# The list's SMS filter: whose last message reached the phone (or the provider took it), and who
# cannot be reached by SMS (no phone, the phone opted out, or the last message failed).
SMS_REACHED = "reached"
SMS_UNREACHABLE = "unreachable"

# Orderings of the list, by name; the first is the default: whom to call now first.
ORDERINGS = {
    "due": ("call_order", F("next_try").asc(nulls_last=True), F("missed_on").desc(nulls_last=True), "name", "pk"),
    "last_called": (F("last_called_at").asc(nulls_first=True), "name", "pk"),
    "-last_called": (F("last_called_at").desc(nulls_last=True), "name", "pk"),
    "-missed": (F("missed_on").desc(nulls_last=True), "name", "pk"),
    "village": ("village_id", "name", "pk"),
}


def follow_up_list(
    *,
    user,
    campaign,
    village=None,
    cadre=None,
    reason: str | None = None,
    last_result: str | None = None,
    due_by: datetime.date | None = None,
    sms: str | None = None,
    ordering: str = "due",
):
    """The residents the user may see who are to be called back, one row per person, as a Resident queryset.

    A person is on the list for a no-show whose dose is neither given nor booked again
    (`missed_on`, `missed_dose`), or for a dose given whose next dose has no place (`missed_on` is None).
    Each row carries its last call: `last_call_id`, `last_result`, `last_called_at`, `next_try`.
    Each row carries its last SMS too: `last_sms_id`, `last_sms_status`, `sms_opted_out` (the phone
    opted out) and `sms_unreachable` (no phone, opted out, or the last message failed).
    Filters: `village`; `cadre` (the people in their charge, and those of their village with
    nobody in charge); `reason` ("no_show" or "no_place"); `last_result` (a CallAttempt.Result
    or NEVER_CALLED); `due_by` (never called, or the next try on or before that day); `sms`
    (SMS_REACHED or SMS_UNREACHABLE).
    """
    people = Resident.objects.for_user(user).filter(campaign=campaign)
    if village is not None:
        people = people.filter(village=village)
    if cadre is not None:
        # Her village in this campaign: the one named as hers (campaign.scope; people are of `campaign`).
        her_villages = Village.objects.filter(cadres__user=cadre).values("name")
        people = people.filter(
            Q(responsible_cadre=cadre) | Q(responsible_cadre__isnull=True, village__name__in=her_villages)
        )
    missed_people = open_no_shows().filter(resident__in=people).values_list("resident_id", flat=True)
    unplaced_people = people.filter(without_next_dose_place()).values_list("pk", flat=True)
    missed_ids, unplaced_ids = set(missed_people), set(unplaced_people)
    if reason == "no_show":
        ids, on_list = missed_ids, Q(pk__in=missed_people)
    elif reason == "no_place":
        ids, on_list = unplaced_ids - missed_ids, Q(pk__in=unplaced_people) & ~Q(pk__in=missed_people)
    else:
        ids, on_list = missed_ids | unplaced_ids, Q(pk__in=missed_people) | Q(pk__in=unplaced_people)
    # Who is on the list, as the ids just read: with the subqueries under one OR the planner misjudged
    # the rows by 20 times and the query took seconds (mostly JIT compiling). The subqueries stay only
    # past the number of parameters SQLite takes in one statement.
    if len(ids) <= MAX_LISTED_IDS:
        on_list = Q(pk__in=sorted(ids))
    missed = open_no_shows().filter(resident=OuterRef("pk")).order_by("-date", "-dose_number")
    calls = CallAttempt.objects.filter(resident=OuterRef("pk")).order_by("-called_at", "-id")
    texts = Message.objects.filter(resident=OuterRef("pk")).order_by("-created_at", "-id")
    rows = (
        people.filter(on_list)
        .annotate(
            missed_on=Subquery(missed.values("date")[:1]),
            missed_dose=Subquery(missed.values("dose_number")[:1]),
            last_call_id=Subquery(calls.values("pk")[:1]),
            last_result=Subquery(calls.values("result")[:1]),
            last_called_at=Subquery(calls.values("called_at")[:1]),
            next_try=Subquery(calls.values("next_try")[:1]),
            last_sms_id=Subquery(texts.values("pk")[:1]),
            last_sms_status=Subquery(texts.values("status")[:1]),
            sms_opted_out=Exists(OptOut.objects.filter(phone=OuterRef("phone"))),
        )
        .annotate(
            sms_unreachable=Case(
                When(Q(phone="") | Q(sms_opted_out=True) | Q(last_sms_status=Message.Status.FAILED), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            # Never called first, then those with a next try (soonest first), then the rest.
            call_order=Case(
                When(last_call_id__isnull=True, then=Value(0)),
                When(next_try__isnull=False, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
        )
        .select_related("village", "responsible_cadre")
    )
    if last_result == NEVER_CALLED:
        rows = rows.filter(last_call_id__isnull=True)
    elif last_result:
        rows = rows.filter(last_result=last_result)
    if due_by is not None:
        rows = rows.filter(Q(last_call_id__isnull=True) | Q(next_try__lte=due_by))
    if sms == SMS_REACHED:
        rows = rows.filter(last_sms_status__in=[Message.Status.SENT, Message.Status.DELIVERED])
    elif sms == SMS_UNREACHABLE:
        rows = rows.filter(sms_unreachable=True)
    return rows.order_by(*ORDERINGS.get(ordering, ORDERINGS["due"]))


def last_calls(rows) -> dict[int, CallAttempt]:
    """The last call of each row that has one, by resident id (one query for a page of rows)."""
    ids = [row.last_call_id for row in rows if row.last_call_id]
    return {call.resident_id: call for call in CallAttempt.objects.filter(pk__in=ids).select_related("called_by")}


def last_messages(rows) -> dict[int, Message]:
    """The last SMS of each row that has one, by resident id (one query for a page of rows)."""
    ids = [row.last_sms_id for row in rows if row.last_sms_id]
    return {message.resident_id: message for message in Message.objects.filter(pk__in=ids)}


def follow_up_cadres(*, campaign, village=None):
    """The cadres of the campaign's villages (or of one village), to filter the list by."""
    # Bound by name: a cadre's village holds in every campaign that has a village of its name (campaign.scope).
    names = [village.name] if village is not None else Village.objects.filter(campaign=campaign).values("name")
    cadres = get_user_model().objects.filter(groups__name=Role.CADRE, profile__village__name__in=names, is_active=True)
    return cadres.select_related("profile__village").order_by("profile__village_id", "first_name", "username")
