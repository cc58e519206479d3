import datetime
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Sum
from django.utils import timezone

from appointments.models import Appointment
from campaign import demo
from campaign.lib.documents import document_identity
from campaign.lib.idnumber import age_on
from campaign.models import Campaign, Village
from campaign.roles import Role, role_of
from reports.models import COUNTS, DailyProgress, VillageProgress, WeeklyReport
from reports.progress import progress_compute
from residents.models import Resident
from sites.models import AdverseEvent, PreScreening, SiteDay, Vaccination
from sites.services import OBSERVATION

pytestmark = pytest.mark.django_db

SEED_SITES = {
    "梅山社区卫生服务中心疫苗接种点": {
        "青山社区",
        "红村社区",
        "潭湾社区",
        "新河社区",
        "梅山村",
        "洪冲村",
        "南水村",
        "苏畈村",
    },
    "梅山镇卫生院疫苗接种点": {"江店社区", "三湾村", "马店村", "汪冲村", "船冲村", "黄林村", "新楼村", "三合村"},
    "江店体育馆接种点": {"红河社区", "徐冲村", "小南京村", "清水村", "开顺村", "百禄桥村"},
}


@pytest.fixture
def loaded():
    call_command("load_demo", residents=600, stdout=io.StringIO())
    return Campaign.objects.default()


def test_each_site_serves_exactly_the_villages_the_seed_assigns(loaded):
    actual = {site.name: {v.name for v in site.villages.all()} for site in loaded.sites.all()}
    assert actual == SEED_SITES
    assert loaded.villages.count() == 22


def test_quotas_sum_to_72000(loaded):
    assert loaded.villages.aggregate(total=Sum("quota"))["total"] == 72000
    assert all(v.quota <= v.population for v in loaded.villages.all())


def test_the_calendar_has_the_seeds_shape_around_today(loaded):
    today = timezone.localdate()
    assert (loaded.end_date - loaded.start_date).days + 1 == 83
    assert (loaded.end_date - loaded.first_dose_deadline).days == 15
    assert loaded.dose_intervals == [14]
    assert (today - loaded.start_date).days // 7 + 1 == 6  # the sixth week


def test_seed_dates_keep_the_2021_calendar():
    call_command("load_demo", residents=0, seed_dates=True, stdout=io.StringIO())
    campaign = Campaign.objects.default()
    assert (campaign.start_date, campaign.end_date, campaign.first_dose_deadline) == (
        datetime.date(2021, 3, 30),
        datetime.date(2021, 6, 20),
        datetime.date(2021, 6, 5),
    )


def test_running_it_twice_duplicates_nothing(loaded):
    counts = lambda: (  # noqa: E731
        Campaign.objects.count(),
        Village.objects.count(),
        User.objects.count(),
        Resident.objects.count(),
        Appointment.objects.count(),
        Vaccination.objects.count(),
    )
    before = counts()
    call_command("load_demo", residents=600, stdout=io.StringIO())
    assert counts() == before


def test_a_second_load_of_the_same_size_keeps_the_demo_and_says_so(loaded):
    first = set(Resident.objects.values_list("pk", "id_number"))
    out = io.StringIO()
    call_command("load_demo", residents=600, stdout=out)
    assert "Kept the demo already loaded: 600 residents" in out.getvalue()
    assert set(Resident.objects.values_list("pk", "id_number")) == first


@pytest.mark.django_db(transaction=True)  # --reset flushes: PostgreSQL truncates outside a test's transaction
def test_another_size_asks_for_reset_and_reset_loads_afresh(loaded):
    with pytest.raises(CommandError, match="--reset"):
        call_command("load_demo", residents=300, stdout=io.StringIO())
    call_command("load_demo", residents=300, reset=True, stdout=io.StringIO())
    assert Resident.objects.count() == 300
    assert Campaign.objects.count() == 1
    assert User.objects.get(username="cadre_qingshan").check_password(demo.DEMO_PASSWORD)


def test_reset_refuses_a_database_with_another_campaign(loaded):
    Campaign.objects.create(
        name="麻疹疫苗强化免疫",
        vaccine="麻疹风疹联合减毒活疫苗",
        doses=1,
        min_age=8,
        max_age=72,
        start_date=loaded.start_date,
        end_date=loaded.end_date,
        first_dose_deadline=loaded.end_date,
        target_people=1000,
        daily_floor_per_site=100,
    )
    with pytest.raises(CommandError, match="other campaigns"):
        call_command("load_demo", residents=600, reset=True, stdout=io.StringIO())


def test_synthetic_id_numbers_are_valid_unique_and_mostly_jinzhai(loaded):
    documents = list(Resident.objects.values_list("document_type", "id_number", "birth_date", "sex", "nationality"))
    assert len({(t, n) for t, n, *_ in documents}) == 600
    for document_type, number, birth_date, sex, nationality in documents:
        parsed = document_identity(document_type, number, birth_date=birth_date, sex=sex, nationality=nationality)
        assert (parsed.birth_date, parsed.sex) == (birth_date, sex)
    # A few holders of other documents, so that the pages show them.
    assert {t for t, *_ in documents} == {"id_card", "hk_mo_travel_permit", "passport"}
    numbers = [(n, b, s) for t, n, b, s, _ in documents if t == "id_card"]
    jinzhai = sum(n.startswith(("341524", "342426")) for n, _, _ in numbers)
    assert 0.8 * 600 < jinzhai < len(numbers)  # mostly, with some from elsewhere
    assert all(n.startswith("342426") or n[6:10] >= "1999" for n, _, _ in numbers if n[:6] in ("341524", "342426"))


def test_sequence_codes_vary_and_their_last_digit_is_the_sex(loaded):
    people = list(Resident.objects.filter(document_type="id_card").values_list("id_number", "sex"))
    sequences = [number[14:17] for number, _ in people]
    assert len(set(sequences)) > 100  # not 001 and 002 for everyone
    assert "000" not in sequences
    assert all(int(number[16]) % 2 == (1 if sex == "M" else 0) for number, sex in people)


def test_ages_are_those_of_the_target_group_with_a_few_older_and_younger(loaded):
    ages = [age_on(birth, loaded.start_date) for birth in Resident.objects.values_list("birth_date", flat=True)]
    in_range = sum(18 <= age <= 59 for age in ages)
    assert in_range > 0.8 * len(ages)
    assert min(ages) >= 16 and max(ages) <= 77
    assert any(age >= 60 for age in ages)


def test_every_kind_of_progress_is_present(loaded):
    assert Vaccination.objects.filter(dose_number=1).exists()
    assert Vaccination.objects.filter(dose_number=2).exists()
    assert not Vaccination.objects.exclude(appointment__status=Appointment.Status.VACCINATED).exists()
    assert Appointment.objects.filter(status=Appointment.Status.BOOKED, date__gte=timezone.localdate()).exists()
    assert Resident.objects.filter(status=Resident.Status.DEFERRED).exists()
    assert Resident.objects.exclude(appointments__isnull=False).filter(status=Resident.Status.ELIGIBLE).exists()


def test_no_site_day_is_over_capacity_and_doses_keep_the_interval(loaded):
    per_day = (
        Appointment.objects.exclude(status="cancelled")
        .values("site__daily_capacity", "site", "date")
        .annotate(n=Count("id"))
    )
    assert all(row["n"] <= row["site__daily_capacity"] for row in per_day)
    for second in Vaccination.objects.filter(dose_number=2).select_related("resident"):
        first = Vaccination.objects.get(resident=second.resident, dose_number=1)
        assert (second.vaccinated_at.date() - first.vaccinated_at.date()).days >= 14
        assert second.site_id == first.site_id


def test_there_is_a_demo_user_for_every_role(loaded):
    roles = {role_of(user) for user in User.objects.all()}
    assert roles == set(Role.values)
    cadre = User.objects.get(username="cadre_qingshan")
    assert cadre.profile.village.name == "青山社区"
    assert cadre.check_password(demo.DEMO_PASSWORD)


def test_each_site_has_a_doctor_who_may_override_and_the_lot_it_used_last(loaded):
    for site in loaded.sites.all():
        last = Vaccination.objects.filter(site=site).order_by("-vaccinated_at").first()
        assert site.current_lot == (last.lot_number if last else f"{loaded.start_date:%Y%m}A01")
    for username in ["doctor_centre", "doctor_hospital", "doctor_jiangdian"]:
        doctor = User.objects.get(username=username)
        assert role_of(doctor) == Role.SITE_TEAM and doctor.profile.site is not None
        assert doctor.has_perm("sites.override_screening")
    assert not User.objects.get(username="site_centre").has_perm("sites.override_screening")


def test_the_demos_counters_match_a_recount_of_its_records(loaded):
    """The loader writes in bulk: the site-day places and progress rows must be those the services give."""
    taken = {
        (row["site"], row["date"]): row["n"]
        for row in Appointment.objects.exclude(status="cancelled").values("site", "date").annotate(n=Count("id"))
    }
    for day in SiteDay.objects.filter(site__campaign=loaded):
        assert day.booked == taken.get((day.site_id, day.date), 0), day
        assert day.booked <= day.capacity

    def rows():
        fields = ["date", "site_id", "village_id", *COUNTS]
        return sorted(DailyProgress.objects.filter(campaign=loaded).values_list(*fields))

    def standings():
        return sorted(VillageProgress.objects.filter(campaign=loaded).values_list("village", "registered", "dose1"))

    before = (rows(), standings())
    progress_compute(campaign=loaded)
    assert (rows(), standings()) == before
    assert sum(r[COUNTS.index("dose1") + 3] for r in before[0]) == Vaccination.objects.filter(dose_number=1).count()


def test_the_demos_records_are_those_the_site_services_write(loaded):
    now = timezone.now()
    for vaccination in Vaccination.objects.select_related("appointment", "resident"):
        booked = vaccination.appointment
        assert (booked.status, booked.resident_id, booked.dose_number, booked.site_id) == (
            "vaccinated",
            vaccination.resident_id,
            vaccination.dose_number,
            vaccination.site_id,
        )
        assert timezone.localdate(vaccination.vaccinated_at) == booked.date
        assert vaccination.vaccinated_at <= now
        cleared = booked.screenings.get()
        assert cleared.outcome == "cleared" and cleared.consent and cleared.screened_at <= vaccination.vaccinated_at
        assert vaccination.resident.status_reasons != ["refused"]
        # Released after the half hour, or still in observation (shot in the last half hour of the load).
        assert vaccination.released_at is None or vaccination.observation_until <= vaccination.released_at <= now
        assert vaccination.released_at or vaccination.vaccinated_at > now - 2 * OBSERVATION
    assert not Appointment.objects.filter(status="vaccinated", vaccination__isnull=True).exists()
    for screening in PreScreening.objects.filter(outcome="deferred").select_related("appointment__resident"):
        assert screening.appointment.status == "cancelled" and screening.appointment.cancel_reason
        assert screening.appointment.resident.status == Resident.Status.DEFERRED
    # Open appointments only for doses not given, and never in the past (no-shows are marked at night).
    given = set(Vaccination.objects.values_list("resident", "dose_number"))
    for booked in Appointment.objects.filter(status__in=["booked", "arrived"]):
        assert (booked.resident_id, booked.dose_number) not in given
        assert booked.date >= timezone.localdate()
    for event in AdverseEvent.objects.select_related("vaccination"):
        assert event.vaccination.vaccinated_at <= event.onset <= event.reported_at <= now
    assert Appointment.objects.filter(status="no_show", dose_number=1).exists()
    assert Appointment.objects.filter(date=timezone.localdate()).exists()  # today has its list
    assert AdverseEvent.objects.exists()


def test_the_past_weeks_have_their_weekly_reports(loaded):
    today = timezone.localdate()
    weeks = list(
        WeeklyReport.objects.filter(campaign=loaded).order_by("week_start").values_list("week_start", flat=True)
    )
    assert weeks[0] <= loaded.start_date < weeks[0] + datetime.timedelta(days=7)
    assert weeks[-1] + datetime.timedelta(days=6) < today <= weeks[-1] + datetime.timedelta(days=13)
    assert len(weeks) in (5, 6)  # day 38 is in the sixth week: 5 weeks over, or 6 with the first one short


def test_the_demo_sites_waiting_lists_show_how_long_each_has_waited():
    # Mid-morning: part of the day is done and someone waits at each site.
    from unittest import mock

    from sites.selectors import site_waiting

    today = timezone.localdate()
    morning = timezone.make_aware(datetime.datetime.combine(today, datetime.time(10, 30)))
    with mock.patch("django.utils.timezone.now", return_value=morning):
        call_command("load_demo", residents=600, stdout=io.StringIO())
    campaign = Campaign.objects.default()
    later = morning + datetime.timedelta(minutes=5)
    waiting = [person for site in campaign.sites.all() for person in site_waiting(site=site, day=today, now=later)]
    arrived = Appointment.objects.filter(date=today, status=Appointment.Status.ARRIVED)
    assert waiting and len(waiting) == arrived.count()
    assert all(person.minutes is not None and person.minutes >= 5 for person in waiting), "a wait the list cannot time"


def test_only_todays_demo_reactions_wait_to_be_opened(loaded):
    today = timezone.localdate()
    for event in AdverseEvent.objects.all():
        assert (event.seen_at is None) == (timezone.localtime(event.onset).date() >= today)


def test_the_demo_publishes_this_weeks_and_next_weeks_plans_for_the_cadres(loaded):
    from appointments.models import WeeklyPlan
    from appointments.planning.selectors import village_places

    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    published = WeeklyPlan.objects.filter(campaign=loaded, status=WeeklyPlan.Status.PUBLISHED)
    assert set(published.values_list("week_start", flat=True)) == {monday, monday + datetime.timedelta(days=7)}
    # Every village has places in them from today on: its cadre's 本村名额 page is not empty.
    for village in loaded.villages.all():
        assert sum(row["places"] for row in village_places(village=village, since=today)) > 0, village.name


def test_the_demo_staff_have_phones_and_the_outbox_has_the_last_days(loaded):
    from appointments.messaging import kinds
    from appointments.messaging.models import Kind, Message
    from campaign.models import Profile

    today = timezone.localdate()
    staff = Profile.objects.filter(user__username__in=["office", "doctor_centre", "cadre_qingshan", "site_centre"])
    phones = [profile.phone for profile in staff]
    assert len(phones) == 4 and all(kinds.MOBILE.match(phone) for phone in phones) and len(set(phones)) == 4
    # The published plans told each village's cadre their places.
    assert Message.objects.filter(kind=Kind.PLAN_PUBLISHED).values("recipient").distinct().count() == 22
    reminders = Message.objects.filter(kind=Kind.REMINDER)
    assert reminders.exists() and all(today - datetime.timedelta(days=3) <= m.day <= today for m in reminders)
    assert all(m.text == kinds.render(m.kind, m.params) and m.segments == 1 for m in Message.objects.all())
    # Every missed message names a cadre of the resident's village and their phone.
    for message in Message.objects.filter(kind=Kind.MISSED).select_related("resident"):
        assert Profile.objects.filter(village=message.resident.village_id, phone=message.params["cadre_phone"]).exists()
    assert {m.status for m in reminders} >= {Message.Status.DELIVERED}


# The measles demo (part 三) beside the COVID one -------------------------------------------------


@pytest.fixture
def measles():
    call_command("load_demo", residents=0, stdout=io.StringIO())
    out = io.StringIO()
    call_command("load_demo", campaign="measles", children_scale=0.05, stdout=out)
    assert "梅山镇麻疹疫苗强化免疫" in out.getvalue()
    return Campaign.objects.get(name=demo.MEASLES_CAMPAIGN_NAME)


def test_the_measles_campaign_is_one_dose_for_children_in_a_ten_day_window(measles):
    today = timezone.localdate()
    assert (measles.age_unit, measles.min_age, measles.max_age) == ("months", 8, 72)
    assert (measles.doses, measles.dose_intervals) == (1, [])
    assert measles.start_date == today - datetime.timedelta(days=4)
    assert measles.end_date == measles.first_dose_deadline == today + datetime.timedelta(days=5)
    assert measles.is_open and Campaign.objects.get(name=demo.CAMPAIGN_NAME).is_open  # both run
    assert [q.code for q in measles.screening_questions.all()] == demo.MEASLES_QUESTIONS
    assert "pregnant" not in demo.MEASLES_QUESTIONS


def test_the_measles_villages_and_sites_are_the_covid_ones_by_name_with_child_counts(measles):
    covid = Campaign.objects.get(name=demo.CAMPAIGN_NAME)
    assert {s.name: {v.name for v in s.villages.all()} for s in measles.sites.all()} == SEED_SITES
    people = dict(covid.villages.values_list("name", "population"))
    for village in measles.villages.all():
        assert 0.07 <= village.population / people[village.name] <= 0.08  # its children
        assert village.quota == int(village.population * 0.95)
    assert measles.target_people == measles.villages.aggregate(total=Sum("quota"))["total"]


def test_the_measles_children_are_in_age_with_complete_guardians_and_their_documents(measles):
    children = Resident.objects.filter(campaign=measles)
    expected = sum(round(v.population * 0.92 * 0.05) for v in measles.villages.all())
    assert children.count() == expected > 300
    today = timezone.localdate()
    for child in children:
        assert age_on(child.birth_date, measles.start_date, "months") >= 8
        assert age_on(child.birth_date, measles.end_date, "months") <= 72
        assert child.guardian_name and child.guardian_relation in {"mother", "father", "grandparent"}
        assert child.phone and child.guardian_document_type == "id_card"
        assert document_identity("id_card", child.guardian_id_number).birth_date.year < today.year - 18
        young = age_on(child.birth_date, today, "months") < demo.BIRTH_CERTIFICATE_UNDER_MONTHS
        assert child.document_type == ("birth_certificate" if young else "id_card")
    assert {"mother", "father", "grandparent"} == set(children.values_list("guardian_relation", flat=True))


def test_the_measles_days_are_done_under_way_and_booked_within_capacity(measles):
    today = timezone.localdate()
    appointments = Appointment.objects.filter(site__campaign=measles)
    assert set(appointments.values_list("dose_number", flat=True)) == {1}
    assert appointments.filter(date__lt=today, status="vaccinated").exists()
    assert appointments.filter(date__gt=today, status="booked").exists()
    assert not appointments.filter(date__lt=today, status="booked").exists()
    per_day = appointments.exclude(status="cancelled").values("site__daily_capacity", "site", "date")
    assert all(row["n"] <= row["site__daily_capacity"] for row in per_day.annotate(n=Count("id")))
    assert all(day.booked <= day.capacity for day in SiteDay.objects.filter(site__campaign=measles))
    vaccinated = Vaccination.objects.filter(site__campaign=measles)
    assert vaccinated.count() == appointments.filter(status="vaccinated").count() > 0
    assert all(v.vaccinated_at.date() <= today for v in vaccinated)
    assert DailyProgress.objects.filter(campaign=measles).exists()


def test_each_measles_site_received_its_lot_and_every_dose_given_is_drawn_from_it(measles):
    from sites.supply.selectors import lots_usable, stock_by_site_lot

    for stock in stock_by_site_lot(campaign=measles):
        assert stock.lot.manufacturer == "北京天坛生物" and stock.given <= stock.received
        assert stock.on_hand >= stock.site.appointments.filter(status="booked").count()  # enough for the bookings
        assert lots_usable(site=stock.site) == [stock.lot]
    assert not Vaccination.objects.filter(site__campaign=measles, lot__isnull=True).exists()


def test_the_covid_demo_stays_the_default_load(measles):
    out = io.StringIO()
    call_command("load_demo", residents=0, stdout=out)
    assert Campaign.objects.get(name=demo.MEASLES_CAMPAIGN_NAME).is_open
    assert Resident.objects.filter(campaign=measles).exists()


def test_the_measles_pages_show_its_data(measles, client):
    # COVID, running longest, stays the default; the top bar's choice moves the pages to measles.
    assert Campaign.objects.default().name == demo.CAMPAIGN_NAME
    client.force_login(User.objects.get(username="office"))
    from django.urls import reverse

    client.post(reverse("campaign:choose"), {"campaign": measles.pk})
    for name in ["reports:dashboard", "reports:weekly_list", "daily:list", "residents:village_home"]:
        assert client.get(reverse(name)).status_code == 200, name
    page = client.get(reverse("residents:village_home")).content.decode()
    newest = Resident.objects.filter(campaign=measles).order_by("-registered_at", "-id").first()
    assert newest.name in page
    # A cadre bound to her COVID village finds her village's children in the measles campaign (by name).
    cadre = User.objects.get(username="cadre_qingshan")
    client.force_login(cadre)
    client.post(reverse("campaign:choose"), {"campaign": measles.pk})
    page = client.get(reverse("residents:village_home")).content.decode()
    child = Resident.objects.filter(campaign=measles, village__name=cadre.profile.village.name).first()
    assert child.name in page and "麻疹" in page


def test_each_demo_site_has_deliveries_stock_and_doses_from_its_lots(loaded):
    from sites.models import Vaccination
    from sites.supply.selectors import stock_by_site_lot, supply_alerts

    campaign = loaded
    stocks = stock_by_site_lot(campaign=campaign)
    for site in campaign.sites.all():
        mine = [s for s in stocks if s.site == site]
        assert 2 <= len(mine) <= 3 and all(s.on_hand >= 0 for s in mine)
        assert {s.lot.manufacturer for s in mine} <= {"北京科兴中维", "国药中生北京"}
    assert not Vaccination.objects.filter(lot__isnull=True).exists()
    assert not Vaccination.objects.filter(vial__isnull=True).exists()
    kinds = {a.kind for a in supply_alerts(campaign=campaign)}
    assert "expiring" in kinds and "not_received" not in kinds
