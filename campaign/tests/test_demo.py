import datetime
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Count, Sum
from django.utils import timezone

from appointments.models import Appointment
from campaign import demo
from campaign.lib.idnumber import parse_id_number
from campaign.models import Campaign, Village
from campaign.roles import Role, role_of
from residents.models import Resident
from sites.models import Vaccination

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
    return Campaign.objects.current()


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
    assert loaded.min_interval_days == 14
    assert (today - loaded.start_date).days // 7 + 1 == 6  # the sixth week


def test_seed_dates_keep_the_2021_calendar():
    call_command("load_demo", residents=0, seed_dates=True, stdout=io.StringIO())
    campaign = Campaign.objects.current()
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


def test_asking_for_more_residents_adds_only_the_missing_ones(loaded):
    call_command("load_demo", residents=900, stdout=io.StringIO())
    assert Resident.objects.count() == 900


def test_synthetic_id_numbers_are_valid_unique_and_mostly_jinzhai(loaded):
    numbers = list(Resident.objects.values_list("id_number", "birth_date", "sex"))
    assert len({n for n, _, _ in numbers}) == 600
    for number, birth_date, sex in numbers:
        parsed = parse_id_number(number)
        assert (parsed.birth_date, parsed.sex) == (birth_date, sex)
    jinzhai = sum(n.startswith(("341524", "342426")) for n, _, _ in numbers)
    assert 0.8 * 600 < jinzhai < 600  # mostly, with some from elsewhere
    assert all(n.startswith("342426") or n[6:10] >= "1999" for n, _, _ in numbers if n[:6] in ("341524", "342426"))


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


def test_each_site_has_a_doctor_who_may_override_and_a_lot_in_use(loaded):
    for site in loaded.sites.all():
        assert site.current_lot == f"{loaded.start_date:%Y%m}A01"
    for username in ["doctor_centre", "doctor_hospital", "doctor_jiangdian"]:
        doctor = User.objects.get(username=username)
        assert role_of(doctor) == Role.SITE_TEAM and doctor.profile.site is not None
        assert doctor.has_perm("sites.override_screening")
    assert not User.objects.get(username="site_centre").has_perm("sites.override_screening")
