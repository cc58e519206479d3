"""The probe, replayed: a supervisor (and a site team) trying to rebuild full ID numbers and phones.

On the demo's own data (campaign.demo, a few hundred residents) and its own users: a masked
export and the resident pages show nothing that rebuilds a number, and searches by digits
cannot read a number back one digit at a time.
"""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from campaign.demo import load_campaign, load_residents, load_users
from campaign.lib.idnumber import age_on
from campaign.lib.masking import mask_document_number, mask_id_number, mask_phone
from reports.models import Export
from reports.roster import HEADER_ROW
from reports.services import export_request
from residents.models import FullValueView, Resident
from residents.services import SEARCH_MISSES_PER_HOUR

pytestmark = pytest.mark.django_db
User = get_user_model()

DEMO_RESIDENTS = 300


@pytest.fixture
def demo(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    today = timezone.localdate()
    campaign = load_campaign(today=today)
    load_users(campaign=campaign)
    load_residents(campaign=campaign, count=DEMO_RESIDENTS, today=today)
    return campaign


def as_user(client, username):
    client.force_login(User.objects.get(username=username))
    return client


def _check_character(body: str) -> str:
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def rebuild(masked: str, *, age: int | None, today: datetime.date, birth: datetime.date | None = None) -> list[str]:
    """The attacker: every full number that fits a masked one and what is shown beside it."""
    area, tail = masked[:6], masked[-4:]
    if birth is not None:
        days = [birth]
    else:
        start = datetime.date(today.year - age - 1, 1, 1)
        days = [start + datetime.timedelta(n) for n in range(366 * 3)]
        days = [d for d in days if d <= today and age_on(d, today) == age]
    return [
        f"{area}{d:%Y%m%d}{tail[:3]}{tail[3]}"
        for d in days
        if _check_character(f"{area}{d:%Y%m%d}{tail[:3]}") == tail[3]
    ]


def test_the_attacker_rebuilds_a_number_from_a_masked_one_with_its_birth_date(demo):
    # The attack the probe ran on main (a masked number beside 出生日期): this test can fail.
    resident = Resident.objects.filter(document_type="id_card").first()
    today = timezone.localdate()
    assert rebuild(mask_id_number(resident.id_number), age=None, today=today, birth=resident.birth_date) == [
        resident.id_number
    ]


def _supervisor_export(demo, django_capture_on_commit_callbacks, params=None):
    supervisor = User.objects.get(username="supervisor")
    with django_capture_on_commit_callbacks(execute=True):
        export = export_request(user=supervisor, kind=Export.Kind.RESIDENTS, params=params or {})
    export.refresh_from_db()
    assert export.status == Export.Status.DONE, export.error
    with export.file.open("rb") as handle:
        rows = list(load_workbook(io.BytesIO(handle.read())).active.iter_rows(values_only=True))
    return rows[HEADER_ROW - 1], rows[HEADER_ROW:]


def test_no_full_number_is_derivable_from_a_supervisors_export(demo, django_capture_on_commit_callbacks):
    headers, rows = _supervisor_export(demo, django_capture_on_commit_callbacks)
    assert "出生日期" not in headers and len(rows) == DEMO_RESIDENTS
    people = Resident.objects.order_by("-registered_at", "-id")  # the export's order
    today = timezone.localdate()
    id_col, phone_col, age_col = headers.index("证件号码"), headers.index("手机号码"), headers.index("年龄")
    rebuilt = 0
    for row, resident in zip(rows, people, strict=True):
        masked = mask_document_number(resident.document_type, resident.id_number)
        assert (row[headers.index("姓名")], row[id_col]) == (resident.name, masked)
        text = " ".join(str(value) for value in row if value is not None)
        assert resident.id_number not in text
        # The hidden eight digits are the birth date: in no form anywhere in the row.
        for shown in (f"{resident.birth_date:%Y%m%d}", resident.birth_date.isoformat()):
            assert shown not in text
        dates = {value.date() if isinstance(value, datetime.datetime) else value for value in row}
        assert resident.birth_date not in dates
        if resident.phone:
            assert row[phone_col] == mask_phone(resident.phone) and resident.phone not in text
        if resident.document_type != "id_card":
            continue  # a passport or a permit holds no birth date to rebuild it from
        # int(): the writer stores every number as Excel does, as a float (68.0 reads back as 68.0).
        candidates = rebuild(row[id_col], age=int(row[age_col]), today=today)
        assert resident.id_number in candidates  # the attack is the right one ...
        rebuilt += len(candidates) == 1  # ... and never narrows to one number
    assert rebuilt == 0


def test_no_full_number_is_derivable_from_the_resident_pages_a_supervisor_opens(client, demo):
    as_user(client, "supervisor")
    today = timezone.localdate()
    for resident in Resident.objects.order_by("?")[:60]:
        response = client.get(reverse("residents:detail", args=[resident.pk]))
        assert response.status_code == 200
        page = response.content.decode()
        assert resident.id_number not in page
        assert f"{resident.birth_date:%Y%m%d}" not in page and resident.birth_date.isoformat() not in page
        if resident.phone:
            assert resident.phone not in page and mask_phone(resident.phone) in page
        masked = mask_document_number(resident.document_type, resident.id_number)
        assert masked in page
        age = age_on(resident.birth_date, today)
        if resident.document_type == "id_card":
            assert len(rebuild(masked, age=age, today=today)) > 1
    assert not FullValueView.objects.exists()  # nothing full was seen


def test_the_change_history_masks_numbers_for_a_supervisor_and_shows_them_to_the_cadre(client, demo):
    from residents.services import resident_update

    cadre = User.objects.get(username="cadre_qingshan")
    resident = Resident.objects.filter(village__name="青山社区").exclude(phone="").first()
    old_phone = resident.phone
    resident_update(resident=resident, changed_by=cadre, name=resident.name)  # the demo's rows have no history yet
    resident_update(resident=resident, changed_by=cadre, phone="13295789171")
    history = as_user(client, "supervisor").get(reverse("residents:detail", args=[resident.pk]))
    text = " ".join(
        change["old"] + change["new"] for entry in history.context["history"] for change in entry["changes"]
    )
    assert "联系电话" in history.content.decode() or "电话" in history.content.decode()
    assert old_phone not in history.content.decode() and "13295789171" not in history.content.decode()
    assert mask_phone(old_phone) in text and "132****9171" in text
    page = as_user(client, "cadre_qingshan").get(reverse("residents:detail", args=[resident.pk])).content.decode()
    assert old_phone in page and "13295789171" in page


def test_a_supervisor_cannot_read_a_phone_or_id_back_by_searching_digits(
    client, demo, django_capture_on_commit_callbacks
):
    as_user(client, "supervisor")
    url = reverse("residents:village_home")
    target = Resident.objects.exclude(phone="").first()

    def hits(q):
        return [row["resident"].pk for row in client.get(url, {"q": q}).context["rows"]]

    # The last four digits, which the list shows anyway, still find people.
    assert target.pk in hits(target.phone[-4:]) and target.pk in hits(target.id_number[-4:])
    # One digit more, right or wrong, answers the same: nothing, and why.
    for known in (target.phone[-4:], target.id_number[-4:]):
        answers = {digit: hits(digit + known) for digit in "0123456789"}
        assert all(found == [] for found in answers.values())
    response = client.get(url, {"q": target.phone})
    assert response.context["rows"] == [] and "后4位" in response.content.decode()
    assert client.get(url, {"q": target.id_number}).context["rows"] == []
    # An export filtered by digits goes no further than the list.
    _headers, rows = _supervisor_export(demo, django_capture_on_commit_callbacks, {"q": target.phone[-5:]})
    assert rows == []


def test_a_cadre_finds_a_person_by_the_last_six_digits_but_never_by_a_whole_id_number(client, demo):
    resident = Resident.objects.filter(village__name="青山社区").first()
    as_user(client, "cadre_qingshan")
    url = reverse("residents:village_home")
    assert [row["resident"] for row in client.get(url, {"q": resident.id_number[-6:]}).context["rows"]] == [resident]
    whole = client.get(url, {"q": resident.id_number})
    assert whole.context["rows"] == [] and "后6位" in whole.content.decode()
    assert 'maxlength="11"' in whole.content.decode()  # the box does not take a whole ID number into the URL


def test_a_site_team_cannot_read_a_birth_day_back_by_guessing_the_last_six_digits(client, demo):
    team = as_user(client, "site_jiangdian")
    target = Resident.objects.filter(village__site__name="江店体育馆接种点").first()
    right = target.id_number[-6:]
    guesses = [f"{day:02d}{right[2:]}" for day in range(1, 32) if f"{day:02d}" != right[:2]]
    url = reverse("sites:scan")
    for guess in guesses[:SEARCH_MISSES_PER_HOUR]:
        page = team.post(url, {"q": f"{guess}{target.name}"}).content.decode()
        assert target.id_number not in page
    # The limit is reached: the right guess now finds nobody either, and says why.
    page = team.post(url, {"q": f"{right}{target.name}"}).content.decode()
    assert "次数过多" in page and mask_id_number(target.id_number) not in page
    views = FullValueView.objects.filter(kind=FullValueView.Kind.SEARCH, user__username="site_jiangdian")
    assert views.count() == SEARCH_MISSES_PER_HOUR and not views.exclude(people=0).exists()
    # The last four digits with the name (what the card shows) are not a way in either.
    assert "次数过多" not in team.post(url, {"q": f"{right[2:]}{target.name}"}).content.decode()
    assert views.count() == SEARCH_MISSES_PER_HOUR  # not a number search: not counted


def test_each_view_of_full_values_is_recorded_and_the_office_lists_them(
    client, demo, django_capture_on_commit_callbacks
):
    resident = Resident.objects.filter(village__name="青山社区").first()
    page = as_user(client, "cadre_qingshan").get(reverse("residents:detail", args=[resident.pk])).content.decode()
    assert resident.id_number in page and "本次查看已记录" in page
    office = User.objects.get(username="office")
    with django_capture_on_commit_callbacks(execute=True):
        export = export_request(user=office, kind=Export.Kind.RESIDENTS, params={}, full_values=True)
    as_user(client, "office").get(reverse("reports:export_download", args=[export.pk]))
    kinds = list(FullValueView.objects.order_by("viewed_at", "id").values_list("user__username", "kind", "people"))
    assert kinds == [("cadre_qingshan", "page", 1), ("office", "export", DEMO_RESIDENTS)]
    listing = client.get(reverse("residents:full_value_views"))
    text = listing.content.decode()
    assert listing.status_code == 200 and "完整信息查看记录" in text and "查看记录" in text
    assert resident.name in text and "cadre_qingshan" in text and "下载花名册（完整信息）" in text
    assert reverse("residents:full_value_views") in text  # linked from the office's menu
    for other in ("supervisor", "leader", "cadre_qingshan", "site_jiangdian"):
        assert as_user(client, other).get(reverse("residents:full_value_views")).status_code in (302, 403)
