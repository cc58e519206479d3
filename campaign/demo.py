"""The Meishan Town demo: the campaign of the seed document, placed around today.

Everything here is deterministic (a seeded random stream) and idempotent: rows
are keyed by natural keys (names, ID numbers), and a rerun inserts only what is
missing. Residents go in with bulk inserts so a million take minutes.
"""

import bisect
import datetime
import random
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from appointments.models import Appointment, new_token
from appointments.services import site_days_recount
from campaign.lib.idnumber import age_on, make_id_number
from campaign.lib.pinyin import name_initials
from campaign.models import Campaign, Village
from campaign.roles import SITE_DOCTOR_GROUP, Role, ensure_role_groups
from campaign.services import user_assign_role
from reports.progress import progress_compute
from reports.supervision.services import weekly_report_make
from residents.models import CONTRAINDICATIONS, Resident
from residents.services import eligibility_decide
from sites.models import AdverseEvent, Site, Vaccination

DEMO_PASSWORD = "meishan-demo"
CAMPAIGN_NAME = "梅山镇新冠病毒疫苗接种"

# The seed's calendar: vaccine from the end of March, doses until 20 June, first doses by 5 June.
SEED_START = datetime.date(2021, 3, 30)
WINDOW_DAYS = 83
DEADLINE_BEFORE_END = 15
TODAY_DAY_INDEX = 37  # today is day 38: inside the sixth week

# (site name, short name, address (demo), daily capacity, username, [(village, population)]).
# Villages per site exactly as the seed assigns them; populations are plausible and sum to
# 180,000, so quotas of 40% sum to the seed's 72,000.
SITES = [
    (
        "梅山社区卫生服务中心疫苗接种点",
        "卫生服务中心",
        "梅山镇青山社区梅山路社区卫生服务中心",
        900,
        "site_centre",
        [
            ("青山社区", 12800),
            ("红村社区", 9650),
            ("潭湾社区", 8900),
            ("新河社区", 10250),
            ("梅山村", 7300),
            ("洪冲村", 6450),
            ("南水村", 5900),
            ("苏畈村", 6100),
        ],
    ),
    (
        "梅山镇卫生院疫苗接种点",
        "镇卫生院",
        "梅山镇卫生院（原施琅中学院内）",
        800,
        "site_hospital",
        [
            ("江店社区", 11600),
            ("三湾村", 6850),
            ("马店村", 7150),
            ("汪冲村", 5650),
            ("船冲村", 6300),
            ("黄林村", 7800),
            ("新楼村", 6050),
            ("三合村", 5500),
        ],
    ),
    (
        "江店体育馆接种点",
        "江店体育馆",
        "梅山镇江店社区体育馆",
        800,
        "site_jiangdian",
        [
            ("红河社区", 13400),
            ("徐冲村", 8100),
            ("小南京村", 9250),
            ("清水村", 7900),
            ("开顺村", 8450),
            ("百禄桥村", 8650),
        ],
    ),
]

# Cadre usernames: pinyin of the village name without 村/社区.
VILLAGE_USERNAMES = {
    "青山社区": "qingshan",
    "红村社区": "hongcun",
    "潭湾社区": "tanwan",
    "新河社区": "xinhe",
    "梅山村": "meishan",
    "洪冲村": "hongchong",
    "南水村": "nanshui",
    "苏畈村": "sufan",
    "江店社区": "jiangdian",
    "三湾村": "sanwan",
    "马店村": "madian",
    "汪冲村": "wangchong",
    "船冲村": "chuanchong",
    "黄林村": "huanglin",
    "新楼村": "xinlou",
    "三合村": "sanhe",
    "红河社区": "honghe",
    "徐冲村": "xuchong",
    "小南京村": "xiaonanjing",
    "清水村": "qingshui",
    "开顺村": "kaishun",
    "百禄桥村": "bailuqiao",
}

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红梅鑫波斌宇浩凯健俊帆帅旭宁龙林欣晨辉鹏飞"
    "国庆建华志强海燕春花秋菊冬梅德明文斌永刚小红金凤宏伟晓东玉兰立新家豪子涵雨涵梓轩浩然思远嘉怡"
)
OTHER_AREAS = ["340104", "340302", "341502", "341503", "341522", "420117", "320106", "440305", "330106", "110105"]
STAFF_NAMES = [
    "方志刚",
    "胡春燕",
    "陈立新",
    "余海峰",
    "汪晓梅",
    "刘德明",
    "王玉萍",
    "李光荣",
    "吴春生",
    "朱桂芳",
    "何家宝",
]


@dataclass
class DemoResult:
    residents_created: int = 0
    appointments_created: int = 0
    vaccinations_created: int = 0
    users: list = field(default_factory=list)


def demo_calendar(today: datetime.date, seed_dates: bool = False) -> tuple[datetime.date, datetime.date, datetime.date]:
    """Start, end and first-dose deadline: the seed's 2021 dates, or the same shape around today."""
    start = SEED_START if seed_dates else today - datetime.timedelta(days=TODAY_DAY_INDEX)
    end = start + datetime.timedelta(days=WINDOW_DAYS - 1)
    return start, end, end - datetime.timedelta(days=DEADLINE_BEFORE_END)


@transaction.atomic
def load_campaign(*, today: datetime.date, seed_dates: bool = False) -> Campaign:
    """The campaign, its 3 sites and 22 villages, and one user per role and binding."""
    start, end, deadline = demo_calendar(today, seed_dates)
    Campaign.objects.exclude(name=CAMPAIGN_NAME).filter(is_current=True).update(is_current=False)
    campaign, _created = Campaign.objects.update_or_create(
        name=CAMPAIGN_NAME,
        defaults={
            "vaccine": "新冠病毒灭活疫苗（Vero细胞）",
            "age_unit": Campaign.AgeUnit.YEARS,
            "min_age": 18,
            "max_age": 59,
            "admit_healthy_over_max_age": True,
            "doses": 2,
            "min_interval_days": 14,
            "start_date": start,
            "end_date": end,
            "first_dose_deadline": deadline,
            "target_people": 72000,
            "daily_floor_per_site": 600,
            "is_current": True,
        },
    )
    for site_name, short, address, capacity, _user, villages in SITES:
        site, _created = Site.objects.update_or_create(
            campaign=campaign,
            name=site_name,
            defaults={"short_name": short, "address": address, "daily_capacity": capacity},
        )
        if not site.current_lot:
            # The lot the site's fridge starts with; the workstation follows the lot last used.
            site.current_lot = f"{start:%Y%m}A01"
            site.save(update_fields=["current_lot"])
        for village_name, population in villages:
            Village.objects.update_or_create(
                campaign=campaign,
                name=village_name,
                defaults={
                    "kind": Village.Kind.COMMUNITY if village_name.endswith("社区") else Village.Kind.VILLAGE,
                    "population": population,
                    "quota": population * 2 // 5,
                    "site": site,
                },
            )
    return campaign


@transaction.atomic
def load_users(*, campaign: Campaign) -> list[tuple[str, str, str]]:
    """Demo users for every role; returns (username, role label, binding) rows for the README and console."""
    ensure_role_groups()
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow on purpose
    rows = []

    def user(username, full_name, role, *, village=None, site=None, staff=False, doctor=False):
        account, created = User.objects.get_or_create(username=username, defaults={"first_name": full_name})
        if created or not account.has_usable_password():
            account.password = password
        account.first_name = full_name
        account.is_staff = staff
        account.save()
        user_assign_role(user=account, role=role, village=village, site=site)
        label = str(Role(role).label)
        if doctor:
            account.groups.add(Group.objects.get(name=SITE_DOCTOR_GROUP))
            label += f" + {SITE_DOCTOR_GROUP}"
        rows.append((username, label, str(village or site or "")))

    user("office", "储国庆", Role.OFFICE, staff=True)
    user("supervisor", "詹秀兰", Role.SUPERVISION)
    user("leader", "程建华", Role.LEADERSHIP)
    for index, site in enumerate(campaign.sites.order_by("id")):
        username = SITES[index][4]
        user(username, f"{site.short_name}现场组", Role.SITE_TEAM, site=site)
        # A doctor per site: may override a positive pre-screening with a reason.
        doctor = username.replace("site_", "doctor_")
        user(doctor, f"{site.short_name}值班医生", Role.SITE_TEAM, site=site, doctor=True)
    for index, village in enumerate(campaign.villages.order_by("id")):
        username = f"cadre_{VILLAGE_USERNAMES[village.name]}"
        user(username, f"{STAFF_NAMES[index % len(STAFF_NAMES)]}（{village.name}）", Role.CADRE, village=village)
    return rows


class DayBook:
    """Places taken per site and day, never above the site's daily capacity."""

    def __init__(self, campaign: Campaign, sites: list[Site]):
        self.days = (campaign.end_date - campaign.start_date).days + 1
        self.start = campaign.start_date
        self.capacity = {site.id: site.daily_capacity for site in sites}
        self.taken = {(site.id, d): 0 for site in sites for d in range(self.days)}
        existing = (
            Appointment.objects.filter(site__in=sites)
            .exclude(status=Appointment.Status.CANCELLED)
            .values("site_id", "date")
            .annotate(n=Count("id"))
        )
        for row in existing:
            key = (row["site_id"], (row["date"] - self.start).days)
            if key in self.taken:
                self.taken[key] += row["n"]
        self.open_days = {
            site.id: [d for d in range(self.days) if self.taken[(site.id, d)] < self.capacity[site.id]]
            for site in sites
        }

    def take(self, rng: random.Random, site_id: int, lo: int, hi: int) -> int | None:
        """A random day in [lo, hi] with room at the site, now taken; None when all are full."""
        days = self.open_days[site_id]
        left, right = bisect.bisect_left(days, lo), bisect.bisect_right(days, hi)
        if left >= right:
            return None
        day = days[rng.randrange(left, right)]
        self.taken[(site_id, day)] += 1
        if self.taken[(site_id, day)] >= self.capacity[site_id]:
            days.remove(day)
        return day

    def release(self, site_id: int, day: int) -> None:
        """Give back a place taken by take() or take_first()."""
        self.taken[(site_id, day)] -= 1
        days = self.open_days[site_id]
        index = bisect.bisect_left(days, day)
        if index == len(days) or days[index] != day:
            days.insert(index, day)

    def take_first(self, site_id: int, lo: int, hi: int) -> int | None:
        """The first day in [lo, hi] with room at the site, now taken."""
        days = self.open_days[site_id]
        index = bisect.bisect_left(days, lo)
        if index >= len(days) or days[index] > hi:
            return None
        day = days[index]
        self.taken[(site_id, day)] += 1
        if self.taken[(site_id, day)] >= self.capacity[site_id]:
            days.remove(day)
        return day


def _resident_stream(campaign: Campaign, villages: list[Village], today: datetime.date, count: int, seed: int):
    """Yield `count` synthetic residents; the i-th is always the same person for a seed."""
    rng = random.Random(seed)
    # Birth dates for ages 16 to 72 today, so a few are too young and some are over 59.
    youngest = today.replace(year=today.year - 16)
    oldest = today.replace(year=today.year - 72)
    span = (youngest - oldest).days
    assert span % 7919, "span must be coprime with the multiplier"
    weights = [village.quota for village in villages]
    cumulative = []
    total = 0
    for weight in weights:
        total += weight
        cumulative.append(total)
    for i in range(count):
        block, within = divmod(i, span)
        # (birth date, block) is unique per i: the multiplier permutes the span within a block.
        birth = oldest + datetime.timedelta(days=(within * 7919 + block * 3571) % span)
        male = rng.random() < 0.5
        sequence = 2 * block + (1 if male else 2)  # odd for men, even for women, always 1..999
        roll = rng.random()
        if birth.year < 1999:
            area = "342426" if roll < 0.88 else OTHER_AREAS[int(roll * 1000) % len(OTHER_AREAS)]
        else:
            area = "341524" if roll < 0.88 else OTHER_AREAS[int(roll * 1000) % len(OTHER_AREAS)]
        village = villages[bisect.bisect_right(cumulative, rng.randrange(total))]
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        phone = "" if rng.random() < 0.04 else f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        screening = dict.fromkeys(CONTRAINDICATIONS, False)
        roll = rng.random()
        if roll < 0.015:
            screening["fever"] = True
        elif roll < 0.025:
            screening["acute_illness"] = True
        elif roll < 0.03 and not male and 20 <= age_on(birth, today) <= 40:
            screening["pregnant"] = True
        elif roll < 0.038:
            screening["severe_chronic"] = True
        elif roll < 0.042:
            screening["severe_allergy"] = True
        elif roll < 0.045:
            screening["neuro_history"] = True
        basis_roll = rng.random()
        basis = "household" if basis_roll < 0.86 else ("residence" if basis_roll < 0.96 else "workplace")
        refuses = rng.random() < 0.02
        yield {
            "index": i,
            "village": village,
            "name": name,
            "id_number": make_id_number(area, birth, sequence),
            "birth_date": birth,
            "sex": "M" if male else "F",
            "phone": phone,
            "basis": basis,
            "screening": screening,
            "refuses": refuses,
            "plan": rng.random(),
            "rng_seed": rng.randrange(2**32),
        }


def load_residents(
    *, campaign: Campaign, count: int, today: datetime.date, seed: int = 2021, batch_size: int = 5000, progress=None
) -> DemoResult:
    """Insert the first `count` synthetic residents that are not there yet, with their doses and bookings."""
    result = DemoResult()
    villages = list(campaign.villages.select_related("site").order_by("id"))
    sites = list(campaign.sites.order_by("id"))
    cadres = dict(User.objects.filter(profile__village__in=villages).values_list("profile__village_id", "id"))
    vaccinators = dict(User.objects.filter(profile__site__in=sites).values_list("profile__site_id", "id"))
    office = User.objects.filter(username="office").values_list("id", flat=True).first()
    book = DayBook(campaign, sites)
    batch = []
    for record in _resident_stream(campaign, villages, today, count, seed):
        batch.append(record)
        if len(batch) >= batch_size:
            _insert_batch(campaign, batch, today, book, cadres, vaccinators, office, result)
            batch = []
            if progress:
                progress(record["index"] + 1)
    if batch:
        _insert_batch(campaign, batch, today, book, cadres, vaccinators, office, result)
        if progress:
            progress(count)
    # The bulk inserts bypassed the booking services: bring the site-day counters in line.
    site_days_recount(campaign=campaign)
    # The dashboard reads precomputed progress: compute it once now rather than wait for beat.
    progress_compute(campaign=campaign)
    # And the weekly supervision reports beat would have made for the weeks already over.
    monday = campaign.start_date - datetime.timedelta(days=campaign.start_date.weekday())
    while monday + datetime.timedelta(days=6) < today:
        weekly_report_make(campaign=campaign, week_start=monday, today=today)
        monday += datetime.timedelta(days=7)
    return result


class _DoseWriter:
    """Collects one batch's appointments and vaccinations for the resident it is bound to."""

    def __init__(self, start: datetime.date):
        self.start = start
        self.appointments: list[Appointment] = []
        self.vaccinations: list[Vaccination] = []

    def bind(self, resident, site_id, vaccinator_id, rng):
        self.resident, self.site_id, self.vaccinator_id, self.rng = resident, site_id, vaccinator_id, rng

    def appointment(self, dose: int, day_index: int, status: str) -> Appointment:
        item = Appointment(
            resident=self.resident,
            dose_number=dose,
            site_id=self.site_id,
            date=self.start + datetime.timedelta(days=day_index),
            status=status,
            token=new_token(),
            booked_by_id=self.resident.responsible_cadre_id,
            booked_at=_at(self.start + datetime.timedelta(days=max(day_index - 3, 0)), self.rng),
        )
        self.appointments.append(item)
        return item

    def vaccinate(self, dose: int, day_index: int) -> None:
        booked = self.appointment(dose, day_index, Appointment.Status.VACCINATED)
        when = _at(self.start + datetime.timedelta(days=day_index), self.rng)
        self.vaccinations.append(
            Vaccination(
                resident=self.resident,
                dose_number=dose,
                site_id=self.site_id,
                appointment=booked,
                vaccinated_at=when,
                lot_number=f"{self.start:%Y%m}{'ABC'[dose % 3]}{(day_index // 7) + 1:02d}",
                vaccinator_id=self.vaccinator_id,
                consent_recorded=True,
                observation_until=when + datetime.timedelta(minutes=30),
                released_at=when + datetime.timedelta(minutes=30),
            )
        )


def _at(day: datetime.date, rng: random.Random) -> datetime.datetime:
    minutes = rng.randrange(8 * 60, 17 * 60)
    naive = datetime.datetime.combine(day, datetime.time(minutes // 60, minutes % 60))
    return timezone.make_aware(naive)


@transaction.atomic
def _insert_batch(campaign, batch, today, book: DayBook, cadres, vaccinators, office, result: DemoResult):
    present = set(
        Resident.objects.filter(campaign=campaign, id_number__in=[r["id_number"] for r in batch]).values_list(
            "id_number", flat=True
        )
    )
    fresh = [r for r in batch if r["id_number"] not in present]
    if not fresh:
        return
    residents = []
    start = campaign.start_date
    today_index = min((today - start).days, book.days)
    for record in fresh:
        decision = eligibility_decide(
            campaign=campaign, birth_date=record["birth_date"], answers=record["screening"], on=today
        )
        status, reasons, note = decision.status, decision.reasons, ""
        if record["refuses"] and status == Resident.Status.ELIGIBLE:
            status, reasons, note = Resident.Status.REFUSED, ["refused"], "本人暂不愿意接种"
        age = age_on(record["birth_date"], today)
        registered_day = start + datetime.timedelta(days=int(record["plan"] * max(today_index, 1) * 0.5))
        cadre = cadres.get(record["village"].id)
        residents.append(
            Resident(
                campaign=campaign,
                village=record["village"],
                name=record["name"],
                name_initials=name_initials(record["name"]),
                id_number=record["id_number"],
                id_number_reversed=record["id_number"][::-1],
                birth_date=record["birth_date"],
                sex=record["sex"],
                phone=record["phone"],
                basis=record["basis"],
                priority_group="elderly"
                if age >= 60
                else ("migrant_worker" if record["basis"] == "workplace" else "general"),
                status=status,
                status_reasons=reasons,
                status_note=note,
                responsible_cadre_id=cadre,
                registered_by_id=cadre,
                registered_at=timezone.make_aware(datetime.datetime.combine(registered_day, datetime.time(9, 0))),
                **record["screening"],
            )
        )
    Resident.objects.bulk_create(residents, batch_size=2000)
    result.residents_created += len(residents)

    writer = _DoseWriter(start)
    deadline_index = (campaign.first_dose_deadline - start).days
    last_index = book.days - 1
    interval = campaign.min_interval_days
    for resident, record in zip(residents, fresh, strict=True):
        if resident.status != Resident.Status.ELIGIBLE:
            continue
        rng = random.Random(record["rng_seed"])
        site_id = record["village"].site_id
        plan = record["plan"]
        writer.bind(resident, site_id, vaccinators.get(site_id) or office, rng)
        if plan < 0.60 and today_index > 0:
            # Dose 1 in the past; a few did not come.
            day1 = book.take(rng, site_id, 0, min(today_index - 1, deadline_index))
            if day1 is None:
                continue
            if plan < 0.03:
                writer.appointment(1, day1, Appointment.Status.NO_SHOW)
                continue
            writer.vaccinate(1, day1)
            day2 = book.take_first(site_id, day1 + interval, last_index)
            if day2 is None:
                continue  # needs attention: no room left for dose 2
            if day2 >= today_index:
                writer.appointment(2, day2, Appointment.Status.BOOKED)
            elif rng.random() < 0.06:
                writer.appointment(2, day2, Appointment.Status.NO_SHOW)
            else:
                writer.vaccinate(2, day2)
        elif plan < 0.85 and today_index <= deadline_index:
            # Booked from today on, both doses held.
            day1 = book.take(rng, site_id, today_index, deadline_index)
            if day1 is None:
                continue
            day2 = book.take_first(site_id, day1 + interval, last_index)
            if day2 is None:
                book.release(site_id, day1)  # the pair is booked together or not at all
                continue
            writer.appointment(1, day1, Appointment.Status.BOOKED)
            writer.appointment(2, day2, Appointment.Status.BOOKED)
    appointments, vaccinations = writer.appointments, writer.vaccinations

    Appointment.objects.bulk_create(appointments, batch_size=2000)
    Vaccination.objects.bulk_create(vaccinations, batch_size=2000)
    events = [
        AdverseEvent(
            vaccination=vaccination,
            onset=vaccination.vaccinated_at + datetime.timedelta(minutes=12),
            symptoms="接种部位红肿、低热",
            severity=AdverseEvent.Severity.MILD,
            action_taken="留观延长至60分钟，症状缓解后离开",
            reported_by_id=vaccination.vaccinator_id,
            reported_at=vaccination.vaccinated_at + datetime.timedelta(minutes=15),
        )
        for vaccination in vaccinations
        if vaccination.pk % 500 == 7
    ]
    AdverseEvent.objects.bulk_create(events)
    result.appointments_created += len(appointments)
    result.vaccinations_created += len(vaccinations)
