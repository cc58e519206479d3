"""The Meishan Town demo: the campaign of the seed document, placed around today.

load_campaign and load_users are idempotent (rows keyed by natural keys: names, usernames).
load_residents plays the campaign day by day up to today with a seeded random stream (the same
seed and clock give the same demo) and writes the result in bulk into a campaign that has no
residents yet; load_demo keeps a demo already loaded and --reset replaces it.
"""

import collections
import datetime
import decimal
import random
from dataclasses import dataclass, field
from typing import NamedTuple

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import connection, models, transaction
from django.db.models.fields import NOT_PROVIDED
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Appointment
from appointments.services import site_days_recount
from campaign import demo_supply
from campaign.lib.documents import DocumentType
from campaign.lib.idnumber import age_on, make_id_number
from campaign.lib.pinyin import name_initials
from campaign.models import Campaign, Village
from campaign.roles import SITE_DOCTOR_GROUP, Role, ensure_role_groups
from campaign.services import user_assign_role
from reports.progress import progress_compute
from reports.supervision.services import weekly_report_make
from residents.models import CONTRAINDICATIONS, Resident
from residents.services import eligibility_decide
from sites.models import AdverseEvent, Delivery, Lot, PreScreening, Site, SiteDay, Vaccination, Vaccinator
from sites.services import OBSERVATION

DEMO_PASSWORD = "meishan-demo"
CAMPAIGN_NAME = "梅山镇新冠病毒疫苗接种"
TARGET_PEOPLE = 72000  # the seed: 40% of the population, 7.2万人

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

# The demo staff's phones: 13905560001, 13905560002, ... in the order load_users makes them.
STAFF_PHONE_PREFIX = "1390556"
OTHER_AREAS = ["340104", "340302", "341502", "341503", "341522", "420117", "320106", "440305", "330106", "110105"]
# Two nurses who give the shots at each site (sites.Vaccinator).
VACCINATOR_NAMES = [("汪美玲", "吴晓红"), ("查丽娟", "余小芳"), ("程秀英", "鲍婷婷"), ("叶红梅", "郑晓燕")]

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


def demo_calendar(today: datetime.date, seed_dates: bool = False) -> tuple[datetime.date, datetime.date, datetime.date]:
    """Start, end and first-dose deadline: the seed's 2021 dates, or the same shape around today."""
    start = SEED_START if seed_dates else today - datetime.timedelta(days=TODAY_DAY_INDEX)
    end = start + datetime.timedelta(days=WINDOW_DAYS - 1)
    return start, end, end - datetime.timedelta(days=DEADLINE_BEFORE_END)


@transaction.atomic
def load_campaign(*, today: datetime.date, seed_dates: bool = False) -> Campaign:
    """The campaign, its 3 sites and 22 villages, and one user per role and binding."""
    start, end, deadline = demo_calendar(today, seed_dates)
    # Several campaigns run at once: the measles demo beside it stays open.
    Campaign.objects.exclude(name__in=[CAMPAIGN_NAME, MEASLES_CAMPAIGN_NAME]).filter(is_open=True).update(is_open=False)
    campaign, _created = Campaign.objects.update_or_create(
        name=CAMPAIGN_NAME,
        defaults={
            "vaccine": "新冠病毒灭活疫苗（Vero细胞）",
            "age_unit": Campaign.AgeUnit.YEARS,
            "min_age": 18,
            "max_age": 59,
            "admit_healthy_over_max_age": True,
            "doses": 2,
            "dose_intervals": [14],
            "start_date": start,
            "end_date": end,
            "first_dose_deadline": deadline,
            "target_people": TARGET_PEOPLE,
            "daily_floor_per_site": 600,
            "is_open": True,
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
        profile = user_assign_role(user=account, role=role, village=village, site=site)
        # A phone each, so that the messages to staff (a plan's places, a serious adverse event, the
        # cadre's number in a missed-appointment message) have somewhere to go on the demo.
        profile.phone = STAFF_PHONE_PREFIX + f"{len(rows) + 1:04d}"
        profile.save(update_fields=["phone"])
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
        # The site's vaccinators: the nurse picks her name once per shift at the shot step.
        for name in VACCINATOR_NAMES[index % len(VACCINATOR_NAMES)]:
            Vaccinator.objects.get_or_create(site=site, name=name)
    for index, village in enumerate(campaign.villages.order_by("id")):
        username = f"cadre_{VILLAGE_USERNAMES[village.name]}"
        user(username, f"{STAFF_NAMES[index % len(STAFF_NAMES)]}（{village.name}）", Role.CADRE, village=village)
    return rows


# The campaign's pace -------------------------------------------------------------------------------
#
# The demo plays the campaign day by day up to today, at the pace of a real one: in the first
# fortnight only first doses (the sites well short of their floor at first, then near it), from
# the third week second doses on top (the sites at or somewhat above the floor), with rainy days
# below it. Dose 1 a day is a share of the site's quota; each village moves at its own pace, so
# some are ahead of the straight line to the first-dose deadline and some behind it, and the weekly
# reports propose a mix of 通报 / 约谈 / 扣分. All of it scales with the number of residents asked
# for (72,000, the target, by default), so a small demo for the tests has the same shape.

# Dose-1 people a day as a % of the site's quotas, by day of the campaign (then flat).
DOSE1_PERCENT = [1.0, 1.4, 1.7] + [1.9] * 11 + [1.3] * 14 + [1.4]
# The villages' own pace (a village's share of its site's first doses is quota x pace):
# shuffled over the villages with the seed; the slowest end up 通报, 约谈 or 扣分.
VILLAGE_PACES = [
    1.30, 1.24, 1.2, 1.16, 1.12, 1.1, 1.08, 1.05, 1.03, 1.0, 1.0,
    0.98, 0.95, 0.92, 0.9, 0.87, 0.82, 0.78, 0.72, 0.66, 0.58, 0.48,
]  # fmt: skip
NO_SHOW_DOSE1 = 0.035  # booked, did not come (half of them are booked again later)
NO_SHOW_DOSE2 = 0.05
DEFERRED_AT_SITE = 0.008  # the pre-screening at the site found a fever or an acute illness
# Residents 23, 173, ... hold a Hong Kong and Macao travel permit, 29, 179, ... a Korean passport
# (type, number prefix, nationality, name or None for the Chinese name drawn).
OTHER_DOCUMENTS = {
    23: (DocumentType.HK_MO_TRAVEL_PERMIT, "H", "", None),
    29: (DocumentType.PASSPORT, "M", "KOR", "朴敏俊"),
}
KINDS_EVERY = 150  # residents 7, 157, ... are 17, 11, 161, ... have a fever, 13, ... an allergy, 17, ... refuse
ADVERSE_EVERY = 1500  # about one mild reaction reported in 1,500 doses
BOOKED_AHEAD_DAYS = 9  # cadres book a few days ahead, fewer the further ahead

# Surnames of the county, most frequent first (the first twenty weigh three times as much).
SURNAMES = (
    "王张陈汪余胡方程储詹吴何李刘杨黄周徐朱高郑孙马林罗梁宋谢唐韩冯邓曹彭曾肖田董袁潘蒋蔡杜叶苏魏吕丁任沈"
    "姚卢姜钟谭陆范金石廖夏付白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴孔向汤"
)
# Given names by sex and by the decade people were born in.
GIVEN_NAMES = {
    ("M", "old"): "建国 建华 国庆 国强 志强 志刚 德明 德胜 长青 永红 卫东 明华 光荣 世明 家宝 金山 春生 "
    "守仁 振华 玉山 立新 传斌 宏伟 海峰 友国 道宽 裕民 善扩 大丰 贻胜 学琦 泽善",
    ("M", "mid"): "伟 强 磊 军 勇 杰 涛 斌 超 鹏 刚 辉 亮 飞 宇 浩 海涛 晓东 俊杰 文斌 建军 志勇 小龙 振宇 "
    "国栋 金龙 爱民 红军 少华 永刚 晓峰 俊",
    ("M", "young"): "浩然 子轩 宇航 浩宇 博文 天宇 家豪 一鸣 子豪 皓轩 文博 明轩 俊熙 宇轩 晨阳 思远 梓豪 "
    "俊宇 嘉懿 睿 航 鑫",
    ("F", "old"): "秀英 桂英 桂兰 玉兰 玉梅 春花 秋菊 冬梅 凤英 金凤 翠兰 素珍 美华 淑珍 桂芳 玉珍 红梅 "
    "爱华 秀兰 月娥 桂香 兰英",
    ("F", "mid"): "丽 静 敏 燕 芳 娟 艳 霞 婷 莉 慧 玲 海燕 晓燕 丽娟 小红 春燕 雪梅 晓丽 丽华 红霞 小芳 婷婷 晓敏",
    ("F", "young"): "子涵 欣怡 梓涵 雨涵 诗涵 思雨 佳怡 可馨 雨欣 婉婷 梦瑶 嘉怡 紫萱 欣妍 一诺 雅琪 佳琪 文静 悦",
}
GIVEN_NAMES = {key: names.split() for key, names in GIVEN_NAMES.items()}
# Ages today: (from, to, weight): the working ages, more of them older (the young
# work away), some healthy people over 59, and a few 17-year-olds registered ahead.
AGE_BANDS = [(17, 17, 0.4), (18, 29, 13), (30, 44, 19), (45, 59, 26), (60, 69, 6), (70, 76, 1.5)]
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                   "155", "156", "157", "158", "159", "166", "173", "177", "180", "181", "182", "183",
                   "185", "186", "187", "188", "189", "191", "199"]  # fmt: skip
SYMPTOMS = [
    ("接种部位红肿、疼痛", "mild", "冷敷，留观延长至60分钟，症状缓解后离开"),
    ("低热（37.6℃）、乏力", "mild", "多饮水休息，留观延长至60分钟后离开，嘱次日电话随访"),
    ("头晕、恶心", "mild", "平卧休息，测血压正常，30分钟后缓解离开"),
    ("皮疹、瘙痒", "moderate", "口服氯雷他定，留观90分钟后好转离开"),
    ("心慌、面色苍白", "mild", "平卧、口服糖水，15分钟后缓解"),
]


@dataclass
class DemoResult:
    residents_created: int = 0
    appointments_created: int = 0
    vaccinations_created: int = 0
    kept: bool = False
    users: list = field(default_factory=list)


def demo_residents(campaign: Campaign) -> int:
    """How many residents the demo campaign holds (0 when it has none yet)."""
    return Resident.objects.filter(campaign=campaign).count()


def _person(
    rng: random.Random, on: datetime.date, taken: set, age: int | None = None
) -> tuple[str, datetime.date, str, str]:
    """A name, birth date, sex and ID number (realistic, unique in the demo) of someone `age` years old on `on`."""
    low, high, _weight = rng.choices(AGE_BANDS, weights=[band[2] for band in AGE_BANDS])[0]
    age = rng.randint(low, high) if age is None else age
    birthday = (on.replace(day=28) if (on.month, on.day) == (2, 29) else on).replace(year=on.year - age)
    birth = birthday - datetime.timedelta(days=rng.randrange(365))  # up to a year before that birthday
    male = rng.random() < 0.51
    sex = "M" if male else "F"
    if birth.year < 1999:
        area = "342426" if rng.random() < 0.88 else rng.choice(OTHER_AREAS)
    else:
        area = "341524" if rng.random() < 0.88 else rng.choice(OTHER_AREAS)
    while True:
        # GB 11643's sequence code: three digits given in order by the local police station, the last
        # one odd for men and even for women; small numbers are the most common in a rural county.
        order = min(int(rng.expovariate(1 / 60)), 498)
        sequence = 2 * order + (1 if male else 2)
        number = make_id_number(area, birth, sequence)
        if number not in taken:
            taken.add(number)
            break
    era = "old" if birth.year < 1972 else ("mid" if birth.year < 1995 else "young")
    surname = rng.choice(SURNAMES[:20]) if rng.random() < 0.6 else rng.choice(SURNAMES)
    return surname + rng.choice(GIVEN_NAMES[(sex, era)]), birth, sex, number


def _at(day: datetime.date, minutes: int, zone=None) -> datetime.datetime:
    # (make_aware looks the zone up in a context variable on every call: 170,000 calls cost seconds)
    zone = zone or timezone.get_current_timezone()
    return datetime.datetime.combine(day, datetime.time(minutes // 60, minutes % 60), tzinfo=zone)


class _Person(NamedTuple):
    id: int
    village_id: int
    cadre_id: int | None
    registered_at: datetime.datetime


class _Plan:
    """What the demo wrote of its residents, and its other rows, decided in memory before they are written."""

    def __init__(self):
        self.residents: list[_Person] = []  # what the rest needs of each resident written
        self.deferred: list[int] = []  # residents (ids) deferred by the site's pre-screening
        # Rows as dicts of field attnames (see insert_rows), linked by their index in these lists.
        self.appointments: list[dict] = []
        self.owner: list[int] = []  # the resident (index) of each appointment
        self.vaccinations: list[tuple[int, dict]] = []  # (appointment index, row)
        self.screenings: list[tuple[int, dict]] = []  # (appointment index, row)
        self.events: list[tuple[int, dict]] = []  # (vaccination index, row)
        # Today's arrivals still waiting: (appointment index, checked in at, by whom), for their check-in record.
        self.arrivals: list[tuple[int, datetime.datetime, int | None]] = []
        self.lots: dict[int, str] = {}  # each site's lot used last


def plan_demo(
    *,
    campaign: Campaign,
    count: int,
    today: datetime.date,
    now: datetime.datetime,
    seed: int,
    write_residents,
    batch_size: int = 5000,
) -> _Plan:
    """Decide the demo's residents, appointments, screenings, doses and reactions.

    The residents are handed to `write_residents` (a list of dicts, which it gives their ids) in
    batches as they are made, so that a million never sit in memory; the rest is returned.
    """
    rng = random.Random(seed)
    plan = _Plan()
    zone = timezone.get_current_timezone()

    def stamp(day: datetime.date, minutes: int) -> datetime.datetime:
        return _at(day, minutes, zone)

    start = campaign.start_date
    days = (campaign.end_date - start).days + 1
    deadline = (campaign.first_dose_deadline - start).days
    today_index = (today - start).days  # may be past the end (the seed's own 2021 calendar)
    interval = campaign.interval_before(2)
    villages = list(campaign.villages.select_related("site").order_by("id"))
    sites = list(campaign.sites.order_by("id"))
    scale = count / campaign.target_people if campaign.target_people else 0
    users = dict(User.objects.filter(profile__village__in=villages).values_list("profile__village_id", "id"))
    team = {site.id: [] for site in sites}
    for user_id, site_id in (
        User.objects.filter(profile__site__in=sites).order_by("id").values_list("id", "profile__site_id")
    ):
        team[site_id].append(user_id)
    office = User.objects.filter(username="office").values_list("id", flat=True).first()
    paces = VILLAGE_PACES[:]
    rng.shuffle(paces)
    pace = {village.id: paces[i % len(paces)] for i, village in enumerate(villages)}

    # Residents: registered mostly in the survey before the first day, the rest since, up to now.
    weights = [village.quota * (0.85 + 0.25 * pace[village.id]) for village in villages]
    taken_numbers: set = set()
    batch = []
    registered_day = []
    pools = {village.id: [] for village in villages}
    now_minutes = timezone.localtime(now).hour * 60 + timezone.localtime(now).minute
    for index in range(count):
        village = rng.choices(villages, weights=weights)[0]
        # One in every KINDS_EVERY of each kind that is otherwise rare, so that even a small demo has them all.
        kind = index % KINDS_EVERY
        name, birth, sex, number = _person(rng, today, taken_numbers, age=17 if kind == 7 else None)
        document_type, nationality = DocumentType.ID_CARD, ""
        if kind in OTHER_DOCUMENTS:
            # A few holders of other documents, so that every page shows one (docs/DOCUMENTS.md).
            document_type, prefix, nationality, foreign_name = OTHER_DOCUMENTS[kind]
            number = f"{prefix}{index:08d}"
            name = foreign_name or name
        screening = dict.fromkeys(CONTRAINDICATIONS, False)
        roll = {11: 0.0, 13: 0.029}.get(kind, rng.random())  # a fever (deferred), a severe allergy (excluded)
        for field_name, share in (
            ("fever", 0.01),
            ("acute_illness", 0.02),
            ("severe_chronic", 0.028),
            ("severe_allergy", 0.032),
            ("neuro_history", 0.035),
        ):
            if roll < share:
                screening[field_name] = True
                break
        else:
            if roll < 0.045 and sex == "F" and 20 <= age_on(birth, today) <= 40:
                screening["pregnant"] = True
        decision = eligibility_decide(campaign=campaign, birth_date=birth, answers=screening, on=today)
        status, reasons, note = decision.status, decision.reasons, ""
        if status == Resident.Status.ELIGIBLE and (rng.random() < 0.025 or kind == 17):
            status, reasons, note = Resident.Status.REFUSED, ["refused"], "本人暂不愿意接种"
        basis_roll = rng.random()
        basis = "household" if basis_roll < 0.86 else ("residence" if basis_roll < 0.96 else "workplace")
        age = age_on(birth, today)
        day = -rng.randint(1, 10) if rng.random() < 0.7 or today_index <= 0 else rng.randint(0, min(today_index, days))
        minutes = rng.randrange(8 * 60, 18 * 60)
        if start + datetime.timedelta(days=day) >= today:
            day, minutes = (today - start).days, rng.randrange(0, max(now_minutes, 1))
        registered_day.append(day)
        cadre = users.get(village.id)
        phone = "" if rng.random() < 0.03 else rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        batch.append(
            dict(
                campaign_id=campaign.pk,
                village_id=village.id,
                name=name,
                name_initials=name_initials(name),
                document_type=document_type,
                id_number=number,
                id_number_reversed=number[::-1],
                nationality=nationality,
                birth_date=birth,
                sex=sex,
                phone=phone,
                basis=basis,
                priority_group="elderly" if age >= 60 else ("migrant_worker" if basis == "workplace" else "general"),
                status=status,
                status_reasons=reasons,
                status_note=note,
                responsible_cadre_id=cadre,
                registered_by_id=cadre,
                registered_at=stamp(start + datetime.timedelta(days=day), minutes),
                **screening,
            )
        )
        if status == Resident.Status.ELIGIBLE:
            pools[village.id].append(index)
        if len(batch) >= batch_size or index == count - 1:
            write_residents(batch)
            plan.residents += [
                _Person(r["id"], r["village_id"], r["responsible_cadre_id"], r["registered_at"]) for r in batch
            ]
            batch = []
    # Each village books its people in the order they registered.
    for village_id, people in pools.items():
        people.sort(key=lambda i: registered_day[i])
        pools[village_id] = collections.deque((registered_day[i] + 1, i) for i in people)

    capacity = {site.id: site.daily_capacity for site in sites}
    places = collections.Counter()  # (site id, day) -> places taken
    held = collections.defaultdict(list)  # (site id, day) -> appointment indexes of dose 2 held that day
    lots = plan.lots

    def lot(site_index: int, day: int) -> str:
        return demo_supply.lot_for(start, site_index, day, (today - start).days)

    def book(person: int, dose: int, site_id: int, day: int, booked_at: datetime.datetime) -> int:
        places[(site_id, day)] += 1
        resident = plan.residents[person]
        plan.appointments.append(
            {  # the resident's id is set once the residents are written
                "dose_number": dose,
                "site_id": site_id,
                "date": start + datetime.timedelta(days=day),
                "status": Appointment.Status.BOOKED,
                "booked_by_id": resident.cadre_id,
                "booked_at": booked_at,
            }
        )
        plan.owner.append(person)
        return len(plan.appointments) - 1

    def first_day(site_id: int, lo: int, hi: int) -> int | None:
        for day in range(lo, hi + 1):
            if places[(site_id, day)] < capacity[site_id]:
                return day
        return None

    def screen(index: int, when: datetime.datetime, outcome: str, screened_by: int, fever: bool = False):
        answers = dict.fromkeys(CONTRAINDICATIONS, False)
        if fever:
            answers["fever"] = True
        temperature = decimal.Decimal(f"{rng.uniform(37.4, 38.3) if fever else rng.uniform(36.1, 37.1):.1f}")
        plan.screenings.append(
            (
                index,
                dict(
                    temperature=temperature,
                    consent=not fever,
                    outcome=outcome,
                    reasons=["fever"] if fever else [],
                    screened_by_id=screened_by,
                    screened_at=when,
                    **answers,
                ),
            )
        )

    def attend(index: int, day: int, minutes: int, site_index: int, released: bool = True) -> None:
        """Appointment `index` came on `day`: screened, then deferred at the site or vaccinated."""
        item = plan.appointments[index]
        person = plan.owner[index]
        site_id = item["site_id"]
        nurse = rng.choice(team[site_id]) if team[site_id] else office
        shot_at = stamp(start + datetime.timedelta(days=day), minutes)
        if rng.random() < DEFERRED_AT_SITE:
            # As site_prescreen does: the resident deferred, the appointment cancelled, its place given back.
            screen(index, shot_at, PreScreening.Outcome.DEFERRED, nurse, fever=True)
            item["status"] = Appointment.Status.CANCELLED
            item["cancel_reason"] = str(_("pre-screening: %(outcome)s")) % {
                "outcome": PreScreening.Outcome.DEFERRED.label
            }
            places[(site_id, day)] -= 1
            plan.deferred.append(plan.residents[person].id)
            return
        screen(index, shot_at - datetime.timedelta(minutes=rng.randint(2, 9)), PreScreening.Outcome.CLEARED, nurse)
        item["status"] = Appointment.Status.VACCINATED
        lots[site_id] = lot(site_index, day)
        plan.vaccinations.append(
            (
                index,
                {
                    "dose_number": item["dose_number"],
                    "site_id": site_id,
                    "vaccinated_at": shot_at,
                    "lot_number": lots[site_id],
                    "vaccinator_id": nurse,
                    "consent_recorded": True,
                    "observation_until": shot_at + OBSERVATION,
                    # (released a few minutes after the half hour, and not later than now)
                    "released_at": min(shot_at + OBSERVATION + datetime.timedelta(minutes=rng.randint(0, 6)), now)
                    if released
                    else None,
                },
            )
        )
        if item["dose_number"] < campaign.doses:
            # As dose2_follow_dose1 does: dose 2 held on the first day with room, the interval later.
            second = first_day(site_id, day + interval, days - 1)
            if second is not None:
                held[(site_id, second)].append(book(person, item["dose_number"] + 1, site_id, second, shot_at))

    def clock(n: int) -> list[int]:
        """The minutes of the day of `n` arrivals, 8:00 to 17:00, busier in the morning."""
        return sorted(int(8 * 60 + 9 * 60 * rng.betavariate(1.3, 1.8)) for _ in range(n))

    def first_doses(site: Site, day: int, count: int) -> list[int]:
        """Pick `count` people of the site's villages free to be booked on `day`, each village at its pace."""
        own = [v for v in villages if v.site_id == site.id]
        chosen = []
        for _round in range(3):
            ready = [v for v in own if pools[v.id] and pools[v.id][0][0] <= day]
            if not ready or count <= 0:
                break
            picks = rng.choices(ready, weights=[v.quota * pace[v.id] for v in ready], k=count)
            for village in picks:
                pool = pools[village.id]
                if pool and pool[0][0] <= day:
                    chosen.append(pool.popleft()[1])
                    count -= 1
        return chosen

    # The past, day by day, then today.
    last = min(today_index, days - 1)
    for day in range(last + 1):
        is_today = day == today_index
        for site_index, site in enumerate(sites):
            quota = sum(v.quota for v in villages if v.site_id == site.id)
            percent = DOSE1_PERCENT[min(day, len(DOSE1_PERCENT) - 1)]
            weather = 0.72 if rng.random() < 0.1 else rng.uniform(0.88, 1.12)
            wanted = quota * scale * percent / 100 * weather
            new = 0
            if day <= deadline:
                new = int(wanted) + (rng.random() < wanted % 1)
                new = min(new, capacity[site.id] - places[(site.id, day)])
            booked_now = []
            for person in first_doses(site, day, new):
                # Booked one to five days ahead, never before the person was registered.
                booked_at = stamp(start + datetime.timedelta(days=day - rng.randint(1, 5)), rng.randrange(480, 1080))
                registered = plan.residents[person].registered_at + datetime.timedelta(minutes=10)
                booked_now.append(book(person, 1, site.id, day, max(booked_at, registered)))
            due = held.pop((site.id, day), []) + booked_now
            rng.shuffle(due)
            if not is_today:
                minutes = clock(len(due))
                for index, minute in zip(due, minutes, strict=True):
                    item = plan.appointments[index]
                    if rng.random() < (NO_SHOW_DOSE1 if item["dose_number"] == 1 else NO_SHOW_DOSE2):
                        item["status"] = Appointment.Status.NO_SHOW  # as mark_no_shows does at night
                        if item["dose_number"] == 1 and rng.random() < 0.5:
                            village_id = plan.residents[plan.owner[index]].village_id
                            pools[village_id].append((day + rng.randint(2, 6), plan.owner[index]))
                        continue
                    attend(index, day, minute, site_index)
            else:
                # Today, as the site sees it now: part of the day done, a few waiting, the rest to come.
                local = timezone.localtime(now)
                done_until = local.hour * 60 + local.minute
                minutes = clock(len(due))
                timed = list(zip(due, minutes, strict=True))
                came = [(index, minute) for index, minute in timed if minute < done_until - 6]
                waiting = [(index, minute) for index, minute in timed if done_until - 6 <= minute < done_until]
                if came and not waiting:
                    waiting = [came.pop()]  # the last one in is still waiting: the site's list is never empty
                for index, minute in came:
                    attend(index, day, minute, site_index, released=minute < done_until - 30)
                for index, minute in waiting:
                    plan.appointments[index]["status"] = Appointment.Status.ARRIVED
                    site_id = plan.appointments[index]["site_id"]
                    nurse = rng.choice(team[site_id]) if team[site_id] else office
                    plan.arrivals.append((index, min(stamp(today, minute), now), nurse))
    # Booked ahead: pairs from tomorrow on, fewer the further ahead.
    if 0 <= today_index < deadline:
        for site in sites:
            quota = sum(v.quota for v in villages if v.site_id == site.id)
            for ahead in range(1, BOOKED_AHEAD_DAYS + 1):
                day = today_index + ahead
                if day > deadline:
                    break
                wanted = quota * scale * DOSE1_PERCENT[-1] / 100 * (1 - ahead / (BOOKED_AHEAD_DAYS + 1))
                count_ahead = int(wanted) + (rng.random() < wanted % 1)
                for person in first_doses(site, today_index, count_ahead):
                    second = first_day(site.id, day + interval, days - 1)
                    if second is None or places[(site.id, day)] >= capacity[site.id]:
                        continue
                    at = stamp(today - datetime.timedelta(days=rng.randint(0, 2)), rng.randrange(480, 1080))
                    at = min(at, now)
                    book(person, 1, site.id, day, at)
                    book(person, 2, site.id, second, at)

    # A few reactions: about one in ADVERSE_EVERY doses, the newest dose's among them when there is one today.
    # (only doses given more than half an hour ago: a reaction is reported during the observation)
    settled = [i for i, (_a, v) in enumerate(plan.vaccinations) if v["vaccinated_at"] < now - OBSERVATION]
    picks = {settled[i] for i in range(rng.randrange(ADVERSE_EVERY), len(settled), ADVERSE_EVERY)}
    if settled:
        picks.add(max(settled, key=lambda i: plan.vaccinations[i][1]["vaccinated_at"]))
    for index in sorted(picks):
        vaccination = plan.vaccinations[index][1]
        symptoms, severity, action = rng.choice(SYMPTOMS)
        onset = vaccination["vaccinated_at"] + datetime.timedelta(minutes=rng.randint(5, 25))
        plan.events.append(
            (
                index,
                {
                    "onset": onset,
                    "symptoms": symptoms,
                    "severity": severity,
                    "action_taken": action,
                    "reported_by_id": vaccination["vaccinator_id"],
                    "reported_at": onset + datetime.timedelta(minutes=3),
                    # Earlier days' reactions were opened by the office that day; today's still wait (the badge).
                    **(
                        {"seen_at": onset + datetime.timedelta(minutes=40), "seen_by_id": office}
                        if timezone.localtime(onset).date() < today and office
                        else {}
                    ),
                },
            )
        )
    return plan


def insert_rows(model, rows: list[dict], *, batch_size: int = 5000):
    """Insert `rows` (dicts of field attnames) as bulk_create would, only without a model instance per row.

    Fields a row leaves out get the model's default, called per row as Model() would (so a
    field added later with a default is filled), auto_now fields the time. Each row gets its
    primary key in row["id"], taken above the table's highest under the transaction's lock
    (the sequence is moved past them on PostgreSQL). SQLite inserts with executemany,
    PostgreSQL with multi-row VALUES (psycopg2's execute_values). Yields the rows written per batch.
    """
    if not rows:
        return
    meta = model._meta
    # (a field with only a database default is left to the database, as bulk_create does)
    fields = [
        f
        for f in meta.concrete_fields
        if not f.primary_key and (f.has_default() or f.db_default is NOT_PROVIDED or f.attname in rows[0])
    ]
    now = timezone.now()
    convert = []
    for f in fields:
        if isinstance(f, models.JSONField | models.DecimalField):
            convert.append(lambda value, f=f: f.get_db_prep_save(value, connection))
        elif isinstance(f, models.DateTimeField):
            convert.append(connection.ops.adapt_datetimefield_value)
        elif isinstance(f, models.DateField):
            convert.append(connection.ops.adapt_datefield_value)
        elif isinstance(f, models.CharField | models.TextField):
            convert.append(str)  # choices (enums) as their plain values
        else:
            convert.append(None)
    filled = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            filled.append(lambda f=f: now)
        else:
            filled.append(f.get_default)
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in [meta.pk.column, *(f.column for f in fields)])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Serialised with other loaders by the table lock; the ids come from the table's sequence.
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")  # noqa: S608 - names from the model
        cursor.execute(f"SELECT MAX({connection.ops.quote_name(meta.pk.column)}) FROM {table}")  # noqa: S608
        next_id = (cursor.fetchone()[0] or 0) + 1
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s)", [sequence])
            next_id = max(next_id, cursor.fetchone()[0])
        for offset in range(0, len(rows), batch_size):
            values = []
            for row in rows[offset : offset + batch_size]:
                row["id"] = next_id
                next_id += 1
                line = [row["id"]]
                for f, conv, default in zip(fields, convert, filled, strict=True):
                    value = row[f.attname] if f.attname in row else default()
                    line.append(conv(value) if conv is not None and value is not None else value)
                values.append(line)
            if connection.vendor == "postgresql":
                from psycopg2.extras import execute_values

                execute_values(cursor.cursor, f"INSERT INTO {table} ({columns}) VALUES %s", values, page_size=1000)  # noqa: S608
            else:
                marks = ", ".join(["%s"] * (len(fields) + 1))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)  # noqa: S608
            yield len(values)
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval(%s, %s)", [sequence, next_id - 1])


def load_residents(
    *, campaign: Campaign, count: int, today: datetime.date, seed: int = 2021, batch_size: int = 5000, progress=None
) -> DemoResult:
    """Play the campaign up to today with `count` synthetic residents and write it in bulk.

    The rows are those the services would have written (site_checkin, site_prescreen, site_shot,
    dose2_follow_dose1, mark_no_shows); the counters derived from them (site-day places taken,
    progress rows, past weekly reports) are then made by the services that own them. Refuses a
    campaign that already has residents (see load_demo's --reset). `progress(fraction, step)`
    is told how far it got.
    """
    if Resident.objects.filter(campaign=campaign).exists():
        raise ValueError(f"{campaign} already has residents: the demo loads into an empty campaign")
    report = progress or (lambda fraction, step: None)
    now = timezone.now()
    report(0.0, "residents")
    result = DemoResult()
    # Residents are about a third of the rows (a rough share: the pace decides the rest).
    expected = max(count * 3, 1)
    written = 0

    def insert(model, rows, step):
        nonlocal written
        for chunk in insert_rows(model, rows, batch_size=batch_size):
            written += chunk
            report(min(0.8 * written / expected, 0.8), step)

    with transaction.atomic():
        plan = plan_demo(
            campaign=campaign,
            count=count,
            today=today,
            now=now,
            seed=seed,
            write_residents=lambda rows: insert(Resident, rows, "residents"),
            batch_size=batch_size,
        )
        expected = written + len(plan.appointments) + len(plan.vaccinations) + len(plan.screenings)
        for appointment, owner in zip(plan.appointments, plan.owner, strict=True):
            appointment["resident_id"] = plan.residents[owner].id
        insert(Appointment, plan.appointments, "appointments")
        # As site_checkin does: the check-in's history row, which the waiting list reads its time from.
        historical = Appointment.history.model
        tracked = {f.attname for f in historical._meta.concrete_fields}
        historical.objects.bulk_create(
            historical(
                **{key: value for key, value in plan.appointments[index].items() if key in tracked},
                history_date=at,
                history_type="~",
                history_user_id=nurse,
            )
            for index, at, nurse in plan.arrivals
        )
        vaccinations = []
        for index, vaccination in plan.vaccinations:
            appointment = plan.appointments[index]
            vaccination["appointment_id"], vaccination["resident_id"] = appointment["id"], appointment["resident_id"]
            vaccinations.append(vaccination)
        # The lots, deliveries and vials the doses came from (sites.supply), before the doses name them.
        demo_supply.load_supply(
            campaign=campaign,
            today=today,
            vaccinations=vaccinations,
            insert=lambda model, rows: list(insert_rows(model, rows, batch_size=batch_size)),
        )
        insert(Vaccination, vaccinations, "vaccinations")
        screenings = []
        for index, screening in plan.screenings:
            screening["appointment_id"] = plan.appointments[index]["id"]
            screenings.append(screening)
        insert(PreScreening, screenings, "pre-screenings")
        events = []
        for index, event in plan.events:
            event["vaccination_id"] = vaccinations[index]["id"]
            events.append(event)
        insert(AdverseEvent, events, "adverse events")
        # As site_prescreen does (resident_update): the answer that deferred them, and their status.
        for offset in range(0, len(plan.deferred), 500):
            Resident.objects.filter(pk__in=plan.deferred[offset : offset + 500]).update(
                fever=True, status=Resident.Status.DEFERRED, status_reasons=["fever"], updated_at=now
            )
        # As site_shot does: each site's lot in use is the one it used last.
        for site_id, lot_number in plan.lots.items():
            Site.objects.filter(pk=site_id).update(current_lot=lot_number)
        # The bulk inserts bypassed the booking services: the site-day counters from the appointments.
        report(0.8, "site-day places")
        site_days_recount(campaign=campaign)
    result.residents_created = len(plan.residents)
    result.appointments_created = len(plan.appointments)
    result.vaccinations_created = len(vaccinations)
    if connection.vendor == "postgresql":
        # Rows written in bulk leave PostgreSQL without table statistics until autovacuum comes by:
        # until then its plans are wildly wrong (minutes for the follow-up list). Gather them now.
        report(0.82, "statistics")
        with connection.cursor() as cursor:
            for model in (Resident, Appointment, Vaccination, PreScreening, AdverseEvent, SiteDay):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
    # The dashboard reads precomputed progress: compute it once now rather than wait for beat.
    report(0.85, "progress")
    progress_compute(campaign=campaign)
    # And the weekly supervision reports beat would have made for the weeks already over.
    monday = campaign.start_date - datetime.timedelta(days=campaign.start_date.weekday())
    while monday + datetime.timedelta(days=6) < today and monday <= campaign.end_date:
        report(0.9, f"weekly report {monday}")
        weekly_report_make(campaign=campaign, week_start=monday, today=today)
        monday += datetime.timedelta(days=7)
    report(1.0, "done")
    return result


def load_plans(*, campaign: Campaign, today: datetime.date) -> list:
    """The office's weekly plans for this week and the next, proposed and published through the planning
    services as the office would, so that cadres' 本村名额 and the booking page show plan places.

    A week that can no longer be planned (past the first-dose deadline, or no room left) is skipped.
    """
    from django.core.exceptions import ValidationError

    from appointments.planning.selectors import plan_version
    from appointments.planning.services import plan_propose, plan_publish

    office = User.objects.filter(username="office").first()
    monday = today - datetime.timedelta(days=today.weekday())
    published = []
    for week_start in (monday, monday + datetime.timedelta(days=7)):
        try:
            draft = plan_propose(campaign=campaign, week_start=week_start, created_by=office, today=today)
            plan = plan_publish(plan=draft, published_by=office, version=plan_version(plan=draft))
        except ValidationError:
            continue
        published.append(plan)
    return published


# Failures a provider reports, as the outbox shows them (Alibaba Cloud's codes).
MESSAGE_FAILURES = [
    ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"),
    ("isv.BUSINESS_LIMIT_CONTROL", "业务限流"),
    ("UNDELIV", "用户停机或空号"),
]


def load_messages(*, campaign: Campaign, today: datetime.date, days: int = 3, seed: int = 2021) -> int:
    """The outbox of the last `days` days, as the messaging would have left it: each appointment of those
    days and today still open the evening before had its day-before reminder (delivered; a few failed with
    the provider's code, a few only sent; a few cancelled meanwhile skipped with the reason), and each
    no-show of those days a missed message with the cadre's number. Written in bulk; returns how many
    rows. Tomorrow's reminders are the nightly job's (appointments.tasks.queue_reminders).
    """
    from appointments.messaging import kinds
    from appointments.messaging.models import Kind, Message
    from campaign.lib import sms
    from campaign.models import Profile

    rng = random.Random(seed)
    sites = {site.pk: site for site in campaign.sites.all()}
    cadres = {}
    for profile in Profile.objects.filter(village__campaign=campaign).exclude(phone="").select_related("user"):
        cadres.setdefault(profile.village_id, (kinds.person_text(profile.user), profile.phone))
    first = today - datetime.timedelta(days=days)
    rows = (
        Appointment.objects.filter(site__campaign=campaign, date__gte=first, date__lte=today, walk_in=False)
        .exclude(resident__phone="")
        .order_by("pk")
        .values_list(
            "pk", "resident_id", "dose_number", "date", "site_id", "status", "resident__phone", "resident__village_id"
        )
    )
    reasons = kinds.skip_reason_texts()
    messages = []

    rendered = {}

    def message(kind, params, at, **fields):
        # Many messages read the same (a site's day and dose): rendered once each.
        key = (kind, *params.values())
        if key not in rendered:
            rendered[key] = kinds.render(kind, params)
        text = rendered[key]
        roll = rng.random()
        outcome = {
            "status": Message.Status.DELIVERED,
            "sent_at": at,
            "delivered_at": at + datetime.timedelta(seconds=rng.randint(2, 40)),
        }
        if fields.pop("cancelled", False):
            outcome = {"status": Message.Status.SKIPPED, "skip_reason": reasons["cancelled"]}
        elif roll < 0.015:
            code, error = rng.choice(MESSAGE_FAILURES)
            outcome = {"status": Message.Status.FAILED, "sent_at": at, "error_code": code, "error_message": error}
        elif roll < 0.03:
            outcome = {"status": Message.Status.SENT, "sent_at": at}
        if outcome["status"] != Message.Status.SKIPPED:
            outcome |= {"provider": "alibaba", "provider_id": f"demo{len(messages) + 1:07d}", "attempts": 1}
        messages.append(
            {
                "kind": str(kind),
                "campaign_id": campaign.pk,
                "params": params,
                "text": text,
                "segments": sms.segments(text),
                "created_at": at,
                **fields,
                **outcome,
            }
        )

    for pk, resident_id, dose, day, site_id, status, phone, village_id in rows:
        site = sites[site_id]
        evening = _at(day - datetime.timedelta(days=1), 16 * 60 + rng.randint(0, 20))
        params = {
            "date": kinds.day_text(day),
            "place": kinds.site_text(site),
            "dose": str(dose),
            "address": kinds.address_text(site),
        }
        common = {"resident_id": resident_id, "appointment_id": pk, "day": day, "phone": phone}
        if status != Appointment.Status.CANCELLED:
            message(Kind.REMINDER, params, evening, **common)
        elif rng.random() < 0.1:  # cancelled after the reminder was queued, before it went out
            message(Kind.REMINDER, params, evening, cancelled=True, **common)
        contact = cadres.get(village_id)
        if status == Appointment.Status.NO_SHOW and day < today and contact:
            missed = {
                "date": params["date"],
                "place": params["place"],
                "dose": str(dose),
                "cadre": contact[0],
                "cadre_phone": contact[1],
            }
            message(Kind.MISSED, missed, _at(day + datetime.timedelta(days=1), 8 * 60 + rng.randint(0, 10)), **common)
    # Into a campaign loaded just now (load_residents): nothing of these kinds is there yet.
    with transaction.atomic():
        for _written in insert_rows(Message, messages):
            pass
    return len(messages)


# The measles demo (part 三): children beside the COVID campaign ------------------------------------
#
# `load_demo --campaign measles`: a one-dose catch-up campaign for children aged 8 months to 6
# years, in a 10-day window around today, for the same villages and sites (rows of its own with
# the same names: a cadre's or a site team's binding is by name across campaigns). Each village
# has its children (7-8% of its people) as population and 95% of them as quota; the cadres
# registered most of them with a guardian; the first days are done, today is under way and the
# coming days are booked, each site within its daily capacity.

MEASLES_CAMPAIGN_NAME = "梅山镇麻疹疫苗强化免疫"
MEASLES_VACCINE = "麻疹风疹联合减毒活疫苗（MR）"
MEASLES_DAYS = 10
MEASLES_TODAY_INDEX = 4  # start today-4, end today+5
MEASLES_QUESTIONS = [
    # The seed's six but pregnancy, then the catalogue's for a live vaccine (campaign.screening).
    "severe_allergy",
    "neuro_history",
    "fever",
    "acute_illness",
    "severe_chronic",
    "immunodeficiency",
    "recent_blood_products",
    "recent_live_vaccine",
    "previous_measles_reaction",
]
CHILD_SHARE = (0.07, 0.08)  # children 8 months-6 years among a village's people
MEASLES_QUOTA_SHARE = 0.95
MEASLES_REGISTERED_SHARE = 0.92  # of a village's children, on the cadres' lists by today
BIRTH_CERTIFICATE_UNDER_MONTHS = 24  # the youngest registered with their 出生医学证明
# Of the window's days that are done, the share of the site's quota that came each day.
MEASLES_DAY_PERCENT = [8.5, 10.5, 11.0, 10.0, 10.0, 9.5, 9.0, 8.0, 7.0, 6.0]
MEASLES_BOOKED_AHEAD = [0.9, 0.7, 0.5, 0.35, 0.2]  # of the day's share, booked already for the days ahead
GUARDIAN_RELATIONS = [("mother", 0.62), ("father", 0.24), ("grandparent", 0.14)]


def _measles_capacity(quota: int) -> int:
    """A site's daily places: its children over eight days, in fifties."""
    return max(50, -(-quota // 8 // 50) * 50)


@transaction.atomic
def load_measles_campaign(*, today: datetime.date, seed: int = 2021) -> Campaign:
    """The measles campaign, its sites and villages (named as the COVID demo's), and its questions."""
    from campaign.models import ScreeningQuestion
    from campaign.screening import CATALOGUE_BY_CODE

    rng = random.Random(seed)
    start = today - datetime.timedelta(days=MEASLES_TODAY_INDEX)
    end = start + datetime.timedelta(days=MEASLES_DAYS - 1)
    children = {
        village: round(population * rng.uniform(*CHILD_SHARE))
        for *_site, villages in SITES
        for village, population in villages
    }
    quotas = {village: int(count * MEASLES_QUOTA_SHARE) for village, count in children.items()}
    campaign, _created = Campaign.objects.update_or_create(
        name=MEASLES_CAMPAIGN_NAME,
        defaults={
            "vaccine": MEASLES_VACCINE,
            "age_unit": Campaign.AgeUnit.MONTHS,
            "min_age": 8,
            "max_age": 72,
            "admit_healthy_over_max_age": False,
            "doses": 1,
            "dose_intervals": [],
            "start_date": start,
            "end_date": end,
            "first_dose_deadline": end,
            "target_people": sum(quotas.values()),
            "daily_floor_per_site": 0,
            "guardian_under_age": 18,
            "is_open": True,
        },
    )
    for site_name, short, address, _capacity, _user, villages in SITES:
        site_quota = sum(quotas[name] for name, _population in villages)
        site, _created = Site.objects.update_or_create(
            campaign=campaign,
            name=site_name,
            defaults={"short_name": short, "address": address, "daily_capacity": _measles_capacity(site_quota)},
        )
        if not site.current_lot:
            site.current_lot = f"{start:%Y%m}M01"
            site.save(update_fields=["current_lot"])
        for village_name, _population in villages:
            Village.objects.update_or_create(
                campaign=campaign,
                name=village_name,
                defaults={
                    "kind": Village.Kind.COMMUNITY if village_name.endswith("社区") else Village.Kind.VILLAGE,
                    "population": children[village_name],
                    "quota": quotas[village_name],
                    "site": site,
                },
            )
    if not campaign.screening_questions.exists():
        ScreeningQuestion.objects.bulk_create(
            ScreeningQuestion(
                campaign=campaign,
                code=code,
                text=str(CATALOGUE_BY_CODE[code].text),
                outcome=CATALOGUE_BY_CODE[code].outcome,
                position=position,
            )
            for position, code in enumerate(MEASLES_QUESTIONS, start=1)
        )
    return campaign


def _child(rng: random.Random, today: datetime.date, taken: set, serial: int):
    """A child 9-70 months old today (8-72 all through the window): name, birth, sex, document type and number."""
    months = rng.randint(9, 70)
    birth = _months_before(today, months) - datetime.timedelta(days=rng.randrange(28))
    sex = "M" if rng.random() < 0.52 else "F"
    surname = rng.choice(SURNAMES[:20]) if rng.random() < 0.6 else rng.choice(SURNAMES)
    name = surname + rng.choice(GIVEN_NAMES[(sex, "young")])
    if months < BIRTH_CERTIFICATE_UNDER_MONTHS:
        # 出生医学证明: a letter and nine digits, as printed; birth date and sex entered from it.
        return name, surname, birth, sex, DocumentType.BIRTH_CERTIFICATE, f"Q{340000000 + serial:09d}"
    while True:
        order = min(int(rng.expovariate(1 / 60)), 498)
        number = make_id_number("341524", birth, 2 * order + (1 if sex == "M" else 2))
        if number not in taken:
            taken.add(number)
            return name, surname, birth, sex, DocumentType.ID_CARD, number


def _months_before(day: datetime.date, months: int) -> datetime.date:
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    return datetime.date(year, month + 1, min(day.day, 28))


def _guardian(rng: random.Random, child_surname: str, today: datetime.date, taken: set) -> dict:
    relation = rng.choices([r for r, _w in GUARDIAN_RELATIONS], weights=[w for _r, w in GUARDIAN_RELATIONS])[0]
    if relation == "mother":
        sex, age, surname = "F", rng.randint(22, 40), rng.choice(SURNAMES)
    elif relation == "father":
        sex, age, surname = "M", rng.randint(24, 44), child_surname
    else:
        sex, age, surname = rng.choice("MF"), rng.randint(48, 70), child_surname
    name, birth, _sex, number = _person(rng, today, taken, age=age)
    era = "old" if birth.year < 1972 else ("mid" if birth.year < 1995 else "young")
    if _sex != sex:  # _person drew the other sex: the number's sex is the guardian's
        sex = _sex
    return {
        "guardian_name": surname + rng.choice(GIVEN_NAMES[(sex, era)]),
        "guardian_relation": relation,
        "guardian_document_type": DocumentType.ID_CARD,
        "guardian_id_number": number,
        "phone": rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}",
    }


def _measles_supply(*, campaign, sites, today, appointments) -> dict:
    """Each measles site's lot (single-dose vials of 北京天坛生物, named as the site's lot in use) and its
    delivery the day before the campaign began: the doses its children were and are booked to get, and a
    tenth more. Returns {site id: Lot}; the doses given name their site's lot (sites.supply counts them)."""
    start = campaign.start_date
    office = User.objects.filter(groups__name=Role.OFFICE).order_by("pk").first()
    needed = collections.Counter(
        row["site_id"] for row in appointments if row["status"] in ("booked", "arrived", "vaccinated")
    )
    lots = {}
    for site_index, site in enumerate(sites):
        lot, _created = Lot.objects.get_or_create(
            campaign=campaign,
            manufacturer="北京天坛生物",
            number=f"{start:%Y%m}M{site_index + 1:02d}",
            defaults={"expiry_date": today + datetime.timedelta(days=240), "doses_per_vial": 1},
        )
        vials = needed[site.pk] + needed[site.pk] // 10 + 1
        Delivery.objects.create(
            site=site, lot=lot, date=start - datetime.timedelta(days=1), vials=vials, doses=vials, recorded_by=office
        )
        lots[site.pk] = lot
    return lots


def load_measles_residents(*, campaign: Campaign, today: datetime.date, scale: float = 1.0, seed: int = 2021):
    """The measles campaign's children up to today, written in bulk (as load_residents does for COVID).

    Each village registered MEASLES_REGISTERED_SHARE of its children (times `scale`, for a small
    demo in the tests); each site vaccinated its share of the quota on the days done, today is
    under way, and the next days are booked, never above a site's daily capacity. Returns a DemoResult.
    """
    if Resident.objects.filter(campaign=campaign).exists():
        raise ValueError(f"{campaign} already has residents: the demo loads into an empty campaign")
    rng = random.Random(seed + 3)
    now = timezone.now()
    zone = timezone.get_current_timezone()
    start = campaign.start_date
    today_index = (today - start).days
    villages = list(campaign.villages.select_related("site").order_by("id"))
    sites = list(campaign.sites.order_by("id"))
    # Bindings by name: the cadre of a village with this name, the team of a site with this name.
    cadres = dict(
        User.objects.filter(profile__village__name__in=[v.name for v in villages]).values_list(
            "profile__village__name", "id"
        )
    )
    team = collections.defaultdict(list)
    for user_id, site_name in (
        User.objects.filter(profile__site__name__in=[s.name for s in sites])
        .order_by("id")
        .values_list("id", "profile__site__name")
    ):
        team[site_name].append(user_id)
    office = User.objects.filter(username="office").values_list("id", flat=True).first()
    extra_codes = [code for code in MEASLES_QUESTIONS if code not in CONTRAINDICATIONS]
    taken: set = set()
    residents, pools = [], {village.id: [] for village in villages}
    serial = 0
    for village in villages:
        cadre = cadres.get(village.name)
        for _n in range(round(village.population * MEASLES_REGISTERED_SHARE * scale)):
            serial += 1
            name, surname, birth, sex, document_type, number = _child(rng, today, taken, serial)
            answers = dict.fromkeys(CONTRAINDICATIONS, False)
            extra = dict.fromkeys(extra_codes, False)
            roll = rng.random()
            if roll < 0.008:
                answers["fever"] = True
            elif roll < 0.014:
                extra["recent_live_vaccine"] = True
            elif roll < 0.017:
                extra["immunodeficiency"] = True
            decision = eligibility_decide(campaign=campaign, birth_date=birth, answers={**answers, **extra}, on=today)
            status, reasons, note = decision.status, decision.reasons, ""
            if status == Resident.Status.ELIGIBLE and rng.random() < 0.01:
                status, reasons, note = Resident.Status.REFUSED, ["refused"], "家长暂不同意接种"
            registered = _at(start - datetime.timedelta(days=rng.randint(1, 12)), rng.randrange(8 * 60, 18 * 60), zone)
            residents.append(
                dict(
                    campaign_id=campaign.pk,
                    village_id=village.id,
                    name=name,
                    name_initials=name_initials(name),
                    document_type=document_type,
                    id_number=number,
                    id_number_reversed=number[::-1],
                    nationality="",
                    birth_date=birth,
                    sex=sex,
                    basis="household" if rng.random() < 0.9 else "residence",
                    priority_group="general",
                    status=status,
                    status_reasons=reasons,
                    status_note=note,
                    responsible_cadre_id=cadre,
                    registered_by_id=cadre,
                    registered_at=registered,
                    extra_answers=extra,
                    **answers,
                    **_guardian(rng, surname, today, taken),
                )
            )
            if status == Resident.Status.ELIGIBLE:
                pools[village.id].append(len(residents) - 1)
    for pool in pools.values():
        rng.shuffle(pool)

    capacity = {site.id: site.daily_capacity for site in sites}
    places = collections.Counter()
    appointments, owners, shots, screenings, arrivals = [], [], [], [], []
    local_now = timezone.localtime(now)
    done_until = local_now.hour * 60 + local_now.minute

    def take(site, count):
        own = [v for v in villages if v.site_id == site.id and pools[v.id]]
        chosen = []
        while own and len(chosen) < count:
            village = rng.choices(own, weights=[v.quota for v in own])[0]
            chosen.append(pools[village.id].pop())
            own = [v for v in own if pools[v.id]]
        return chosen

    for site_index, site in enumerate(sites):
        quota = sum(v.quota for v in villages if v.site_id == site.id) * scale
        nurses = team.get(site.name) or ([office] if office else [None])
        for day in range(MEASLES_DAYS):
            share = quota * MEASLES_DAY_PERCENT[day] / 100
            if day > today_index:
                share *= MEASLES_BOOKED_AHEAD[min(day - today_index - 1, len(MEASLES_BOOKED_AHEAD) - 1)]
            wanted = min(int(share * rng.uniform(0.92, 1.08)), capacity[site.id])
            date = start + datetime.timedelta(days=day)
            minutes = sorted(int(8 * 60 + 9 * 60 * rng.betavariate(1.3, 1.8)) for _ in range(wanted))
            for person, minute in zip(take(site, wanted), minutes, strict=False):
                resident = residents[person]
                places[(site.id, day)] += 1
                booked_at = _at(date - datetime.timedelta(days=rng.randint(1, 4)), rng.randrange(480, 1080), zone)
                row = {
                    "dose_number": 1,
                    "site_id": site.id,
                    "date": date,
                    "status": Appointment.Status.BOOKED,
                    "booked_by_id": resident["responsible_cadre_id"],
                    "booked_at": min(max(booked_at, resident["registered_at"]), now),
                }
                appointments.append(row)
                owners.append(person)
                index = len(appointments) - 1
                past = day < today_index or (day == today_index and minute < done_until - 6)
                if day == today_index and done_until - 6 <= minute < done_until:
                    row["status"] = Appointment.Status.ARRIVED
                    arrivals.append((index, _at(date, minute, zone), rng.choice(nurses)))
                    continue
                if not past:
                    continue
                if rng.random() < 0.04:
                    row["status"] = Appointment.Status.NO_SHOW if day < today_index else Appointment.Status.BOOKED
                    continue
                nurse = rng.choice(nurses)
                shot_at = _at(date, minute, zone)
                row["status"] = Appointment.Status.VACCINATED
                screenings.append(
                    (
                        index,
                        dict(
                            temperature=decimal.Decimal(f"{rng.uniform(36.1, 37.1):.1f}"),
                            consent=True,
                            outcome=PreScreening.Outcome.CLEARED,
                            reasons=[],
                            screened_by_id=nurse,
                            screened_at=shot_at - datetime.timedelta(minutes=rng.randint(2, 9)),
                            extra_answers=dict.fromkeys(extra_codes, False),
                            **dict.fromkeys(CONTRAINDICATIONS, False),
                        ),
                    )
                )
                shots.append(
                    (
                        index,
                        {
                            "dose_number": 1,
                            "site_id": site.id,
                            "vaccinated_at": shot_at,
                            "lot_number": f"{start:%Y%m}M{site_index + 1:02d}",
                            "manufacturer": "北京天坛生物",
                            "injection_site": "right_arm" if rng.random() < 0.5 else "left_arm",
                            "vaccinator_id": nurse,
                            "consent_recorded": True,
                            "observation_until": shot_at + OBSERVATION,
                            "released_at": min(
                                shot_at + OBSERVATION + datetime.timedelta(minutes=rng.randint(0, 6)), now
                            )
                            if shot_at + OBSERVATION < now
                            else None,
                        },
                    )
                )
    assert all(places[key] <= capacity[key[0]] for key in places)  # noqa: S101 - the loader's own promise

    result = DemoResult()
    with transaction.atomic():
        for _written in insert_rows(Resident, residents):
            pass
        for row, person in zip(appointments, owners, strict=True):
            row["resident_id"] = residents[person]["id"]
        for _written in insert_rows(Appointment, appointments):
            pass
        historical = Appointment.history.model
        tracked = {f.attname for f in historical._meta.concrete_fields}
        historical.objects.bulk_create(
            historical(
                **{key: value for key, value in appointments[index].items() if key in tracked},
                history_date=at,
                history_type="~",
                history_user_id=nurse,
            )
            for index, at, nurse in arrivals
        )
        vaccinations = []
        lots = _measles_supply(campaign=campaign, sites=sites, today=today, appointments=appointments)
        for index, row in shots:
            row["appointment_id"], row["resident_id"] = appointments[index]["id"], appointments[index]["resident_id"]
            row["lot_id"] = lots[row["site_id"]].pk
            vaccinations.append(row)
        for _written in insert_rows(Vaccination, vaccinations):
            pass
        rows = []
        for index, row in screenings:
            row["appointment_id"] = appointments[index]["id"]
            rows.append(row)
        for _written in insert_rows(PreScreening, rows):
            pass
        for site_index, site in enumerate(sites):
            Site.objects.filter(pk=site.pk).update(current_lot=f"{start:%Y%m}M{site_index + 1:02d}")
        site_days_recount(campaign=campaign)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Resident, Appointment, Vaccination, PreScreening, SiteDay):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
    progress_compute(campaign=campaign)
    monday = start - datetime.timedelta(days=start.weekday())
    while monday + datetime.timedelta(days=6) < today and monday <= campaign.end_date:
        weekly_report_make(campaign=campaign, week_start=monday, today=today)
        monday += datetime.timedelta(days=7)
    result.residents_created = len(residents)
    result.appointments_created = len(appointments)
    result.vaccinations_created = len(vaccinations)
    return result
