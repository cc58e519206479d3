"""What the probe tests share: the demo with one object of every kind per scope, every URL pattern
of the project filled with ids, the personas, the odd values, and a detector of database writes.

The walk reads the URL patterns from the resolver, so a page added later is walked without
anyone remembering to list it here; a pattern whose ids cannot be filled fails the walk loudly.
"""

import datetime
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.http import QueryDict
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from appointments.messaging.models import OptOut
from appointments.models import Appointment, WeeklyPlan
from appointments.planning.services import plan_propose
from campaign.lib import sms
from campaign.models import Campaign, Village
from reports.models import Export, WeeklyReport
from reports.services import export_request
from residents.importing import services as importing
from residents.importing.template import template_workbook
from residents.models import ImportBatch, Resident
from sites.models import AdverseEvent, Site, Vaccination, Vial

# Every role of the demo, and nobody logged in. Qingshan is served by the centre site.
PERSONAS = ["office", "supervisor", "leader", "cadre_qingshan", "site_centre", "doctor_centre", None]
OWN_VILLAGE, OTHER_VILLAGE = "青山社区", "红河社区"
OWN_SITE, OTHER_SITE = "梅山社区卫生服务中心疫苗接种点", "江店体育馆接种点"

# Query parameters the pages read (and a few they do not), and values a careless user or an attacker types.
ODD_NAMES = [
    "village",
    "site",
    "date",
    "week",
    "page",
    "ordering",
    "sort",
    "q",
    "status",
    "dose",
    "day",
    "id",
    "a",
    "show",
    "full",
    "id_number",
    "next",
    "o",
    "p",
    "e",
    "_to_field",
]
ODD_VALUES = [
    "abc",
    "-1",
    "0",
    "99999999999999999999",
    "0001-01-01",
    "9999-12-31",
    "2021-02-30",
    "2021-W99",
    "9999-W52",
    "²",  # str.isdigit() says yes, int() says no
    "\x00",
    "9" * 3000,
    "\u202eabc",
    " ",
]
# The sharpest of them, for each parameter a page reads, alone.
SHARP_VALUES = ["abc", "-1", "99999999999999999999", "0001-01-01", "9999-12-31", "²", "\x00"]
HOUR = datetime.timedelta(hours=1)
NONEXISTENT_IDS = ["0", "99999999", "99999999999999999999"]


@dataclass
class Scope:
    """One village's and its site's objects: one of every kind a URL can name."""

    village: Village
    site: Site
    resident: Resident
    appointment: Appointment
    vaccination: Vaccination
    import_batch: ImportBatch
    export: Export
    cadre: User
    site_user: User


@dataclass
class Demo:
    campaign: Campaign
    own: Scope
    other: Scope
    plan: WeeklyPlan
    week: str
    users: dict


def load_demo(residents: int = 200) -> Demo:
    """The demo of campaign.demo (small), plus what it does not make: uploads, exports, a plan, events."""
    call_command("load_demo", residents=residents, stdout=io.StringIO())
    campaign = Campaign.objects.default()
    users = {name: User.objects.get(username=name) for name in PERSONAS if name}
    office = users["office"]
    export_request(user=office, kind=Export.Kind.RESIDENTS, params={})
    # A draft the office still works on: the demo has published this week's and next week's plans.
    in_two_weeks = timezone.localdate() + datetime.timedelta(days=14)
    plan = plan_propose(campaign=campaign, week_start=in_two_weeks, created_by=office)
    report = WeeklyReport.objects.filter(campaign=campaign).order_by("week_start").last()
    return Demo(
        campaign=campaign,
        own=_scope(campaign, OWN_VILLAGE, office),
        other=_scope(campaign, OTHER_VILLAGE, office),
        plan=plan,
        week=str(report),
        users=users,
    )


def _scope(campaign, village_name, office) -> Scope:
    village = Village.objects.get(campaign=campaign, name=village_name)
    cadre = User.objects.get(profile__village=village)
    site_user = User.objects.filter(profile__site=village.site).exclude(groups__name="site_doctor").first()
    vaccination = (
        Vaccination.objects.filter(resident__village=village, vaccinated_at__lt=timezone.now() - HOUR)
        .order_by("pk")
        .first()
    )
    if not vaccination.adverse_events.exists():
        AdverseEvent.objects.create(
            vaccination=vaccination,
            onset=vaccination.vaccinated_at + datetime.timedelta(minutes=5),
            symptoms="头晕",
            severity=AdverseEvent.Severity.MILD,
            reported_by=site_user,
        )
    batch = importing.import_preview(
        data=template_workbook(), file_name="名单.xlsx", campaign=campaign, village=village, user=cadre
    )
    resident = Resident.objects.filter(village=village).order_by("pk").first()
    resident.save()  # a history row for the admin's history pages (the demo's bulk inserts made none)
    return Scope(
        village=village,
        site=village.site,
        resident=resident,
        appointment=Appointment.objects.filter(resident__village=village).order_by("pk").first(),
        vaccination=vaccination,
        import_batch=batch,
        export=export_request(user=cadre, kind=Export.Kind.RESIDENTS, params={}),
        cadre=cadre,
        site_user=site_user,
    )


# The URL patterns ---------------------------------------------------------------------------------


@dataclass
class Route:
    name: str  # namespace:name, or the route itself when unnamed
    route: str  # the pattern's text, prefixes included
    callback: object

    @property
    def params(self) -> list[str]:
        found = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>|(\((?!\?))", self.route)
        return [a or b or f"_{index}" for index, (a, b, _c) in enumerate(found)]


def routes(patterns=None, prefix: str = "", namespace: str = "") -> list[Route]:
    """Every URL pattern of the project, found by walking the resolver."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        text = str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else pattern.namespace
            found += routes(pattern.url_patterns, prefix + text, inner or namespace)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name or prefix + text
            found.append(Route(name=name, route=prefix + text, callback=pattern.callback))
    return found


# Which model a `pk` names, by URL name.
PK_OBJECTS = {
    "residents:detail": "resident",
    "residents:edit": "resident",
    "residents:refuse": "resident",
    "residents:review_confirm": "resident",
    "residents:review_refuse": "resident",
    "residents:delete": "resident",
    "residents:import_preview": "import_batch",
    "residents:import_confirm": "import_batch",
    "residents:import_progress": "import_batch",
    "residents:import_errors": "import_batch",
    "reports:export_detail": "export",
    "reports:export_status": "export",
    "reports:export_progress": "export",
    "reports:export_download": "export",
    "reports:export_again": "export",
    "sites:screen": "appointment",
    "sites:vaccinate": "appointment",
    "sites:shift": "appointment",
    "sites:dose_record": "vaccination",
    "sites:release": "vaccination",
    "sites:adverse_event": "vaccination",
    "sites:adverse_event_detail": "adverse_event",
    "sites:arrival": "appointment",
    "sites:check_in": "appointment",
    "appointments:book_resident": "resident",
    "appointments:hold_dose2": "resident",
    "appointments:call_log": "resident",
    "appointments:cancel": "appointment",
    "appointments:reschedule": "appointment",
    "daily:slip": "appointment",
    "posters:village": "village",
    "plan:save": "plan",
    "plan:publish": "plan",
    "accounts:detail": "cadre",
    "accounts:edit": "cadre",
    "accounts:reset_password": "cadre",
    "accounts:deactivate": "cadre",
    "accounts:reactivate": "cadre",
    "messaging:opt_out_remove": "opt_out",
    "campaign:setup_edit": "campaign",
    "campaign:setup_copy": "campaign",
    "campaign:setup_close": "campaign",
    "campaign:setup_reopen": "campaign",
    "sites:supply_discard": "vial",
}


def _admin_object(route: Route, scope: Scope):
    app_label, model_name = route.route.split("/")[1:3]  # admin/<app>/<model>/...
    model = apps.get_model(app_label, model_name)
    for value in vars(scope).values():
        if isinstance(value, model):
            return value
    if model is Campaign:
        return scope.village.campaign
    if model is AdverseEvent:
        return scope.vaccination.adverse_events.first()
    return model.objects.order_by("pk").first()


def _family_member(scope: Scope):
    """The scope's resident as a public booking phone's family member (made the first time it is asked for)."""
    from appointments.public.models import FamilyMember, PhoneAccount

    account, _ = PhoneAccount.objects.get_or_create(phone=f"1390000{scope.village.pk:04d}")
    # A resident still there: the walk may have deleted scope.resident by now (the office's delete page).
    resident = Resident.objects.filter(village=scope.village).order_by("pk").first()
    member, _ = FamilyMember.objects.get_or_create(account=account, resident=resident, defaults={"relation": "self"})
    return member


def is_public(route: Route) -> bool:
    """The residents' booking pages and their captcha: open to anyone, scoped by the verified phone, not by a role."""
    return route.name.startswith(("public:", "captcha-"))


def _opt_out():
    return OptOut.objects.get_or_create(phone="13900009999", defaults={"source": OptOut.Source.REPLY})[0]


def real_kwargs(route: Route, demo: Demo, scope: Scope) -> dict:
    """The route's parameters filled with real objects of `scope` (the demo's own data)."""
    values = {}
    for param in route.params:
        if param == "pk":
            kind = PK_OBJECTS[route.name]  # a KeyError here: a new route the probe does not know yet
            if kind == "adverse_event":
                values[param] = scope.vaccination.adverse_events.order_by("pk").first().pk
            elif kind == "opt_out":  # town-wide, the office's: one phone that replied TD
                values[param] = _opt_out().pk
            elif kind == "vial":  # one of the site's vials (sites.supply)
                values[param] = Vial.objects.filter(site=scope.site).order_by("pk").first().pk
            else:
                values[param] = {"plan": demo.plan, "campaign": demo.campaign}.get(kind) or getattr(scope, kind)
                values[param] = values[param].pk
        elif param == "kind":  # a kind of message
            values[param] = "reminder"
        elif param == "provider":  # an SMS provider's callback: the configured backend's
            values[param] = sms.get_backend().name
        elif param == "site_pk":
            values[param] = scope.site.pk
        elif param == "week":
            values[param] = demo.week
        elif param == "id":  # the admin's password change of a user
            values[param] = scope.cadre.pk
        elif param.startswith("_") and route.name.endswith("simple_history"):  # resident, history id
            record = scope.resident.history.first()
            values[param] = record.id if param == "_0" else record.history_id
        elif param == "object_id" and route.route.startswith("admin/r/"):  # the admin's "view on site"
            values[param] = scope.resident.pk
        elif param == "object_id":
            found = _admin_object(route, scope)
            values[param] = found.pk if found is not None else 1  # an empty table (axes' records)
        elif param == "history_id":
            values[param] = scope.resident.history.first().history_id
        elif param == "content_type_id":
            values[param] = ContentType.objects.get_for_model(Resident).pk
        elif param == "app_label":
            values[param] = "residents"
        elif param == "url":
            values[param] = "nowhere/"
        elif param == "village_id":  # the public booking's QR entry
            values[param] = scope.village.pk
        elif param == "member_id":  # a public booking phone's family member
            values[param] = _family_member(scope).pk
        elif param == "appointment_id":  # an appointment on a public booking person's page (move, cancel)
            from appointments.models import Appointment

            resident = _family_member(scope).resident
            found = Appointment.objects.filter(resident=resident).order_by("pk").first()
            found = found or Appointment.objects.filter(resident__village=scope.village).order_by("pk").first()
            values[param] = found.pk if found is not None else 1
        elif param == "key":  # the captcha's picture
            from captcha.models import CaptchaStore

            values[param] = CaptchaStore.generate_key()
        else:
            raise AssertionError(f"the probe cannot fill <{param}> of {route.name} ({route.route})")
    return values


def odd_kwargs(route: Route, demo: Demo) -> list[dict]:
    """The route's parameters filled with ids that name nothing, and odd weeks."""
    if not route.params:
        return []
    variants = []
    for bad in NONEXISTENT_IDS:
        values = real_kwargs(route, demo, demo.own)
        for param in route.params:
            if param == "week":
                values[param] = {"0": "9999-W52", "99999999": "2021-W99"}.get(bad, "abc")
            elif param not in ("app_label", "url"):
                values[param] = bad
        variants.append(values)
    return variants


def fill(route: Route, values: dict) -> str:
    params = iter(route.params)

    def replace(match):
        return str(values[next(params)])

    path = re.sub(r"<(?:\w+:)?\w+>|\((?:\?P<\w+>)?[^)]*\)", replace, route.route)
    return "/" + path.replace("\\", "")


# Writes ------------------------------------------------------------------------------------------

# Tables a request may write without changing anything the product holds.
# captcha_: the challenge of a captcha picture shown with a refused form (the public booking's start page).
BOOKKEEPING_TABLES = ("django_session", "axes_", "django_admin_log", "captcha_")
_WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)"?', re.IGNORECASE)


@contextmanager
def writes():
    """Collect the tables written (INSERT, UPDATE, DELETE) by the statements run inside the block."""
    written = []

    def spy(execute, sql, params, many, context):
        match = _WRITE.match(sql)
        if match and not match.group(2).startswith(BOOKKEEPING_TABLES):
            written.append(match.group(2))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        yield written


def row_counts() -> dict:
    """Rows of every model of the project's apps (Django's own bookkeeping left out)."""
    labels = ("campaign", "residents", "appointments", "reports", "sites", "auth")
    return {
        model._meta.label: model._base_manager.count()
        for label in labels
        for model in apps.get_app_config(label).get_models()
    }


# Which parameters a page reads ---------------------------------------------------------------------

READ = set()


class RecordingQueryDict(QueryDict):
    """request.GET that remembers which names were asked for by name (`get`, `[]`, `in`, `getlist`).

    Reading them all (`items`, `dict`: the admin's filters, axes' logging) is not asking for one.
    """

    _all = True  # while QueryDict fills itself; RecordReadParameters then starts recording

    def _record(self, key):
        if not self._all:
            READ.add(key)

    def __getitem__(self, key):
        self._record(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._record(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        self._record(key)
        return super().getlist(key, default)

    def __contains__(self, key):
        self._record(key)
        return super().__contains__(key)

    def _reading_all(self, method):
        self._all = True
        try:
            return method()
        finally:
            self._all = False

    def items(self):
        return self._reading_all(lambda: list(super(RecordingQueryDict, self).items()))

    def lists(self):
        return self._reading_all(lambda: list(super(RecordingQueryDict, self).lists()))

    def dict(self):
        return self._reading_all(super().dict)


class RecordReadParameters:
    """Test-only middleware: swap request.GET for a RecordingQueryDict."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.GET = RecordingQueryDict(request.META.get("QUERY_STRING", ""), encoding=request.encoding)
        request.GET._all = False
        return self.get_response(request)


# POST bodies ---------------------------------------------------------------------------------------


def plausible_body(demo: Demo, scope: Scope) -> dict:
    """One body that every form of the project would accept for `scope`'s objects: a refused request
    that still wrote something is then a real leak, not a form that happened to be invalid."""
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    return {
        "reason": "探针测试",
        "day": tomorrow.isoformat(),
        "next_n": "1",
        "lot_number": "PROBE1",
        "onset": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "symptoms": "头晕",
        "severity": "mild",
        "temperature": "36.5",
        "consent": "on",
        "confirm": "on",
        "village": str(scope.village.pk),
        "site": str(scope.site.pk),
        "name": "探针",
        "phone": "13800000000",
        "basis": "household",
        "week": demo.week,
        "text": "探针",
        "points_deducted": "0",
        "withdraw": "1",
        "full_values": "1",
        "q": scope.resident.id_number,
        f"p-{scope.village.pk}-{tomorrow.isoformat()}": "1",
    }


def message_levels(response) -> set[int]:
    """The levels of the messages this request added (not those left over from earlier redirects)."""
    storage = getattr(response.wsgi_request, "_messages", None)
    return {message.level for message in getattr(storage, "_queued_messages", [])}


def refused(response) -> bool:
    """The request was turned down: an error status, a warning or error message, or a form with errors."""
    from django.contrib.messages import constants

    if response.status_code >= 400:
        return True
    if any(level >= constants.WARNING for level in message_levels(response)):
        return True
    for context in response.context or []:
        for value in context.flatten().values() if hasattr(context, "flatten") else []:
            if getattr(value, "is_bound", False) and getattr(value, "errors", None):
                return True
    return False
