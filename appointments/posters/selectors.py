"""What a QR poster shows: the public page's address, its QR code, where to go and whom to call."""

from dataclasses import dataclass, field

import segno
from django.conf import settings
from django.urls import reverse
from django.utils.safestring import mark_safe

from campaign.models import Campaign, Profile, Village

# At most this many cadre phones on a village's poster: two give a second number when one does not answer.
HELP_PHONES_PER_VILLAGE = 2


def public_url(*, request, path: str) -> str:
    """The absolute address of `path` for residents' phones: PUBLIC_BASE_URL's host when set (the office may
    work on an intranet address the phones cannot reach), else the host of the office's own request."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + path
    return request.build_absolute_uri(path)


def poster_qr_svg(url: str) -> str:
    """The QR code of `url` as inline SVG, sized by its viewBox (CSS sets the size on paper).

    Level Q (a quarter of the code may be lost) at least, for posters that get folded, wet or torn;
    segno raises the level further when the address leaves room in the same size."""
    return segno.make(url, error="q", micro=False).svg_inline(omitsize=True, svgclass="poster-qr", dark="#000")


def village_help_phones(*, villages) -> dict[int, str]:
    """{village id: its cadres' phones, "、"-joined} for the villages whose active cadres have a phone (one query)."""
    phones: dict[int, list[str]] = {}
    rows = (
        Profile.objects.filter(village__in=villages, user__is_active=True)
        .exclude(phone="")
        .order_by("village_id", "user_id")
        .values_list("village_id", "phone")
    )
    for village_id, phone in rows:
        found = phones.setdefault(village_id, [])
        if phone not in found and len(found) < HELP_PHONES_PER_VILLAGE:
            found.append(phone)
    return {village_id: "、".join(found) for village_id, found in phones.items()}


@dataclass(frozen=True)
class Poster:
    """One A4 poster: a village's (village set, its site) or the campaign's (village None, all its sites)."""

    campaign: Campaign
    url: str
    help_phone: str
    sites: list = field(default_factory=list)
    village: Village | None = None
    help_from_cadres: bool = False  # the help phone is the village cadres' (else the office's, or none)

    @property
    def qr_svg(self) -> str:
        # segno writes the SVG itself; the address goes in as data, never as markup.
        return mark_safe(poster_qr_svg(self.url))


def village_posters(*, request, campaign: Campaign, villages=None) -> list[Poster]:
    """The posters of `villages` (all the campaign's when None), in the campaign's village order.

    The help phone is the village's cadres' (Profile.phone), else PUBLIC_HELP_PHONE, else "" (no line)."""
    chosen = (villages if villages is not None else campaign.villages.all()).select_related("site")
    chosen = list(chosen.filter(campaign=campaign))
    phones = village_help_phones(villages=chosen)
    return [
        Poster(
            campaign=campaign,
            village=village,
            url=public_url(request=request, path=reverse("public:village", args=[village.pk])),
            help_phone=phones.get(village.pk) or settings.PUBLIC_HELP_PHONE,
            help_from_cadres=village.pk in phones,
            sites=[village.site],
        )
        for village in chosen
    ]


def campaign_poster(*, request, campaign: Campaign) -> Poster:
    """The campaign's poster: the page's general entry for this campaign (/book/?c=<id>: the resident
    chooses the village), every site listed."""
    return Poster(
        campaign=campaign,
        url=public_url(request=request, path=f"{reverse('public:start')}?c={campaign.pk}"),
        help_phone=settings.PUBLIC_HELP_PHONE,
        sites=list(campaign.sites.order_by("id")),
    )
