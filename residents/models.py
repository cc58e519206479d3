import functools
import operator

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from campaign.lib.documents import DOCUMENT_KINDS, DOCUMENT_NUMBER_MAX_LENGTH, DocumentType
from campaign.lib.jobs import JobProgress, progress_constraint

# The screening questions of DOMAIN.md, asked at registration and again before the shot.
# Each maps to the outcome a "yes" leads to.
CONTRAINDICATIONS = {
    "pregnant": "deferred",
    "severe_allergy": "excluded",
    "neuro_history": "excluded",
    "fever": "deferred",
    "acute_illness": "deferred",
    "severe_chronic": "excluded",
}

# Each type's number in its type's shape (the table of campaign.lib.documents).
DOCUMENT_SHAPES = functools.reduce(
    operator.or_, (Q(document_type=str(kind.type), id_number__regex=kind.shape) for kind in DOCUMENT_KINDS.values())
)
FOREIGN_DOCUMENT_TYPES = sorted(str(kind.type) for kind in DOCUMENT_KINDS.values() if kind.records_nationality)


class ResidentQuerySet(models.QuerySet):
    def for_user(self, user):
        """The residents a user may see: cadres their village's, site teams their site's villages'.

        Bindings hold across campaigns (campaign.scope): a cadre sees the residents of the villages
        named as hers in every campaign, a site team those of the villages whose site is named as
        theirs. A page narrows this to the campaign it works in.
        """
        from campaign.models import Profile
        from campaign.roles import Role, role_of

        role = role_of(user)
        if role in (Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP):
            return self
        profile = getattr(user, "profile", None)
        if role == Role.CADRE and profile and profile.village_id:
            return self.filter(village__name__in=Profile.objects.filter(user=user).values("village__name"))
        if role == Role.SITE_TEAM and profile and profile.site_id:
            return self.filter(village__site__name__in=Profile.objects.filter(user=user).values("site__name"))
        return self.none()


class ScreeningAnswers(models.Model):
    """The six screening questions of DOMAIN.md, asked at registration and again at the site."""

    pregnant = models.BooleanField(_("pregnant"), default=False)
    severe_allergy = models.BooleanField(_("severe allergic reaction to an earlier vaccine"), default=False)
    neuro_history = models.BooleanField(
        _("convulsions, epilepsy, encephalopathy or mental illness (personal or family history)"), default=False
    )
    fever = models.BooleanField(_("fever"), default=False)
    acute_illness = models.BooleanField(_("acute illness or acute attack of a chronic disease"), default=False)
    severe_chronic = models.BooleanField(_("severe chronic disease"), default=False)
    # Answers to the campaign's screening questions beyond the seed's six, {code: bool}
    # (campaign.screening); a "yes" to any keeps the person from being eligible (residents.services).
    extra_answers = models.JSONField(_("other screening answers"), default=dict, blank=True)

    class Meta:
        abstract = True


class Resident(ScreeningAnswers):
    """A person registered in one campaign (预约登记)."""

    class Sex(models.TextChoices):
        MALE = "M", _("male")
        FEMALE = "F", _("female")

    class Basis(models.TextChoices):
        HOUSEHOLD = "household", _("household registration")
        RESIDENCE = "residence", _("residence")
        WORKPLACE = "workplace", _("workplace")

    class PriorityGroup(models.TextChoices):
        GENERAL = "general", _("general public")
        KEY_OCCUPATION = "key_occupation", _("key occupations (medical, cold chain, transport, border)")
        PUBLIC_SERVICE = "public_service", _("government and public institutions")
        EDUCATION = "education", _("school staff")
        MIGRANT_WORKER = "migrant_worker", _("working away from home")
        ELDERLY = "elderly", _("aged 60 and over")

    class Status(models.TextChoices):
        ELIGIBLE = "eligible", _("eligible")
        DEFERRED = "deferred", _("deferred")
        EXCLUDED = "excluded", _("excluded")
        OUT_OF_AGE = "out_of_age", _("out of age range")
        REFUSED = "refused", _("refused")

    class Channel(models.TextChoices):
        CADRE = "cadre", _("registered by staff")
        IMPORT = "import", _("imported from a sheet")
        SELF = "self", _("self-registered")

    class GuardianRelation(models.TextChoices):
        MOTHER = "mother", _("mother")
        FATHER = "father", _("father")
        GRANDPARENT = "grandparent", _("grandparent")
        OTHER = "other", _("other guardian")

    class Review(models.TextChoices):
        # Only a self-registration is reviewed: staff registrations and imports have no review ("").
        NONE = "", _("not reviewed")
        PENDING = "pending", _("to be confirmed by the cadre")
        CONFIRMED = "confirmed", _("confirmed by the cadre")
        REFUSED = "refused", _("refused by the cadre")

    campaign = models.ForeignKey(
        "campaign.Campaign", on_delete=models.PROTECT, related_name="residents", verbose_name=_("campaign")
    )
    village = models.ForeignKey(
        "campaign.Village", on_delete=models.PROTECT, related_name="residents", verbose_name=_("village")
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    # Pinyin initials of the name ("zsf" for 张三丰), for search.
    name_initials = models.CharField(_("name initials"), max_length=20, db_index=True, editable=False)
    # The identity document (campaign.lib.documents): its type and number. The field keeps its
    # historical name; it holds every type's number, an 18-digit ID number for most people.
    document_type = models.CharField(
        _("document type"), max_length=30, choices=DocumentType.choices, default=DocumentType.ID_CARD
    )
    id_number = models.CharField(_("document number"), max_length=DOCUMENT_NUMBER_MAX_LENGTH)
    # The number backwards: "last digits" searches become indexed prefix searches.
    id_number_reversed = models.CharField(max_length=DOCUMENT_NUMBER_MAX_LENGTH, db_index=True, editable=False)
    # ISO 3166 alpha-3, for foreign documents only (read from the card or entered).
    nationality = models.CharField(_("nationality"), max_length=3, blank=True, editable=False)
    # Read from the number where the document encodes them, entered where it does not.
    birth_date = models.DateField(_("birth date"), editable=False)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, editable=False)
    # The phone that reaches this registration: for a child, the guardian's (messages and the
    # public booking pages find the child by it).
    phone = models.CharField(_("phone"), max_length=11, blank=True)
    # A guardian (监护人), for a person under the campaign's guardian_under_age: name, relation and
    # document; the guardian's phone is `phone` above.
    guardian_name = models.CharField(_("guardian's name"), max_length=50, blank=True)
    guardian_relation = models.CharField(
        _("guardian's relation"), max_length=12, choices=GuardianRelation.choices, blank=True
    )
    guardian_document_type = models.CharField(
        _("guardian's document type"), max_length=30, choices=DocumentType.choices, blank=True
    )
    guardian_id_number = models.CharField(
        _("guardian's document number"), max_length=DOCUMENT_NUMBER_MAX_LENGTH, blank=True
    )
    basis = models.CharField(_("eligibility basis"), max_length=10, choices=Basis.choices, default=Basis.HOUSEHOLD)
    priority_group = models.CharField(
        _("priority group"), max_length=20, choices=PriorityGroup.choices, default=PriorityGroup.GENERAL
    )

    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ELIGIBLE)
    status_reasons = models.JSONField(_("status reasons"), default=list, blank=True)
    status_note = models.CharField(_("status note"), max_length=200, blank=True)

    responsible_cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="residents_in_charge",
        verbose_name=_("responsible cadre"),
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="residents_registered",
        verbose_name=_("registered by"),
    )
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # How the person came onto the list; a self-registration waits for the village cadre's review.
    channel = models.CharField(_("registered through"), max_length=6, choices=Channel.choices, default=Channel.CADRE)
    review = models.CharField(_("cadre's review"), max_length=9, choices=Review.choices, default="", blank=True)
    review_reason = models.CharField(_("reason for refusing the registration"), max_length=200, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="residents_reviewed",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    # The consent to processing personal data (PIPL) a self-registering person gave: when, and
    # which text (appointments.public.registration.CONSENT_VERSION names the template shown).
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    consent_version = models.CharField(_("consent text version"), max_length=20, blank=True)

    history = HistoricalRecords(excluded_fields=["name_initials", "id_number_reversed", "updated_at"])
    objects = ResidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["-registered_at", "-id"]
        constraints = [
            # One registration per document (type and number) per campaign. Two documents of one
            # person (an ID card and the same person's permit) are not matched (docs/DOCUMENTS.md).
            models.UniqueConstraint(
                fields=["campaign", "document_type", "id_number"], name="residents_resident_one_per_document"
            ),
            # Each type's number has its type's shape; the type is one of the table's.
            models.CheckConstraint(condition=DOCUMENT_SHAPES, name="residents_resident_document_shape"),
            models.CheckConstraint(
                condition=Q(document_type__in=FOREIGN_DOCUMENT_TYPES, nationality__regex=r"^[A-Z]{3}$")
                | (~Q(document_type__in=FOREIGN_DOCUMENT_TYPES) & Q(nationality="")),
                name="residents_resident_nationality_for_foreign_documents",
            ),
            models.CheckConstraint(
                condition=Q(phone="") | Q(phone__regex=r"^1[3-9][0-9]{9}$"), name="residents_resident_phone_shape"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="residents_resident_name_given"),
            # A guardian is named with a relation and reached by phone; no relation without a name.
            models.CheckConstraint(
                condition=Q(guardian_name="", guardian_relation="", guardian_id_number="")
                | (~Q(guardian_name="") & ~Q(guardian_relation="") & ~Q(phone="")),
                name="residents_resident_guardian_complete",
            ),
            models.CheckConstraint(
                condition=Q(guardian_relation__in=["", "mother", "father", "grandparent", "other"]),
                name="residents_resident_guardian_relation",
            ),
            models.CheckConstraint(condition=Q(sex__in=["M", "F"]), name="residents_resident_sex"),
            models.CheckConstraint(
                condition=Q(status__in=["eligible", "deferred", "excluded", "out_of_age", "refused"]),
                name="residents_resident_status",
            ),
            models.CheckConstraint(
                condition=Q(basis__in=["household", "residence", "workplace"]), name="residents_resident_basis"
            ),
            # Nobody with a positive screening answer can be marked eligible, whatever writes the row.
            models.CheckConstraint(
                condition=~Q(status="eligible") | Q(**dict.fromkeys(CONTRAINDICATIONS, False)),
                name="residents_resident_eligible_screened_clean",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["cadre", "import", "self"]), name="residents_resident_channel"
            ),
            # A self-registration is always under review (pending, confirmed or refused) and carries
            # the consent its person gave; nobody else's registration has either.
            models.CheckConstraint(
                condition=(
                    Q(channel="self", review__in=["pending", "confirmed", "refused"], consent_at__isnull=False)
                    & ~Q(consent_version="")
                )
                | (~Q(channel="self") & Q(review="")),
                name="residents_resident_self_registration_reviewed_with_consent",
            ),
            # A decided review says who decided and when; a refusal says why.
            models.CheckConstraint(
                condition=Q(review__in=["", "pending"]) | Q(reviewed_by__isnull=False, reviewed_at__isnull=False),
                name="residents_resident_review_decided_by",
            ),
            models.CheckConstraint(
                condition=~Q(review="refused") | ~Q(review_reason=""),
                name="residents_resident_review_refusal_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["village", "status"], name="residents_village_status"),
            # The cadre's list of self-registrations to review, and the count in the navigation.
            models.Index(
                fields=["village", "registered_at"],
                condition=Q(review="pending"),
                name="residents_pending_review",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def awaiting_review(self) -> bool:
        """A self-registration the village cadre has not confirmed yet (待确认)."""
        return self.review == self.Review.PENDING


class ImportBatch(JobProgress):
    """One uploaded sheet of residents, kept from its preview until the user confirms it.

    The file itself is kept (it is re-read at confirm time, so what is written is checked
    again, and for the error report); `rows` holds the preview as shown to the user. An upload
    is first READING (a worker, or the web process, reads and judges it, reporting its progress:
    campaign.lib.jobs), then PREVIEWED, or FAILED when the file cannot be read (the file is then
    dropped and `failure` says why).
    """

    class Status(models.TextChoices):
        READING = "reading", _("being read")
        PREVIEWED = "previewed", _("previewed")
        APPLIED = "applied", _("imported")
        FAILED = "failed", _("could not be read")

    progress_waiting_text = _("Waiting to be read…")

    campaign = models.ForeignKey(
        "campaign.Campaign", on_delete=models.PROTECT, related_name="import_batches", verbose_name=_("campaign")
    )
    village = models.ForeignKey(
        "campaign.Village", on_delete=models.PROTECT, related_name="import_batches", verbose_name=_("village")
    )
    # None for an import run from the shell without --user.
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="import_batches",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    file_name = models.CharField(_("file name"), max_length=255)
    content = models.BinaryField(_("file"))
    sheet_name = models.CharField(_("sheet"), max_length=100, blank=True)
    header_row = models.PositiveIntegerField(_("header row"), default=1)
    rows = models.JSONField(_("preview rows"), default=list)
    # A digest of what the preview promised to write; confirm writes only when it still holds.
    signature = models.CharField(max_length=64)
    new_count = models.PositiveIntegerField(_("new"), default=0)
    update_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    applied_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    failure = models.CharField(_("why the file could not be read"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("resident import")
        verbose_name_plural = _("resident imports")
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["reading", "previewed", "applied", "failed"]),
                name="residents_importbatch_status",
            ),
            models.CheckConstraint(
                condition=Q(status="applied", applied_at__isnull=False)
                | Q(status__in=["reading", "previewed", "failed"], applied_at__isnull=True),
                name="residents_importbatch_applied_when_imported",
            ),
            progress_constraint("residents_importbatch_progress_within_total"),
        ]

    def __str__(self):
        return self.file_name

    @property
    def progress_waiting(self) -> bool:
        return self.status == self.Status.READING and self.progress_at is None

    @property
    def progress_finished(self) -> bool:
        return self.status != self.Status.READING


class FullValueView(models.Model):
    """One sight of full ID numbers or phones (PIPL): who saw whose, when, and where.

    Written by residents.services.record_full_view and nothing else: the resident page with
    full values, an export or a daily roster with full values, the list of people to call, and
    each search by number that only the limit stands between and a number read back.
    """

    class Kind(models.TextChoices):
        PAGE = "page", _("resident page with full values")
        EXPORT = "export", _("roster export with full values")
        DAILY_ROSTER = "daily_roster", _("daily roster with full values")
        FOLLOW_UP = "follow_up", _("people to call, with full phones")
        SEARCH = "search", _("search by number")

    viewed_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="full_value_views",
        verbose_name=_("who"),
    )
    kind = models.CharField(_("what"), max_length=20, choices=Kind.choices)
    # The one resident of a page; None for a file or a list (the subject says whose).
    resident = models.ForeignKey(
        Resident,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="full_value_views",
        verbose_name=_("resident"),
    )
    subject = models.CharField(_("whose"), max_length=300, blank=True)
    people = models.PositiveIntegerField(_("people"), default=1)

    class Meta:
        verbose_name = _("view of full values")
        verbose_name_plural = _("views of full values")
        ordering = ["-viewed_at", "-id"]
        indexes = [models.Index(fields=["user", "kind", "viewed_at"], name="residents_fullview_user_kind")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["page", "export", "daily_roster", "follow_up", "search"]),
                name="residents_fullvalueview_kind",
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_kind_display()} · {self.subject}"
