"""The screening questions a campaign may ask (筛查问题).

BUILTIN are the seed's six (DOMAIN.md); each is answered in the Resident field of the same name
(residents.models.ScreeningAnswers), so the database keeps anyone with a "yes" from being
eligible. CATALOGUE adds questions common in children's and other campaigns, which the office
can choose in the campaign set-up; it may also type a campaign's own. An answer to any question
that is not builtin is kept in Resident.extra_answers under the question's code.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Question:
    code: str
    text: str
    outcome: str  # "deferred" or "excluded"


BUILTIN = (
    Question("pregnant", _("Pregnant?"), "deferred"),
    Question("severe_allergy", _("Severe allergic reaction to an earlier vaccine?"), "excluded"),
    Question(
        "neuro_history",
        _("Convulsions, epilepsy, encephalopathy or mental illness (personal or family history)?"),
        "excluded",
    ),
    Question("fever", _("Fever today?"), "deferred"),
    Question("acute_illness", _("Acute illness, or an acute attack of a chronic disease?"), "deferred"),
    Question("severe_chronic", _("Severe chronic disease?"), "excluded"),
)
BUILTIN_CODES = frozenset(q.code for q in BUILTIN)

CATALOGUE = BUILTIN + (
    Question("immunodeficiency", _("Immunodeficiency, or taking immunosuppressive drugs?"), "excluded"),
    Question("recent_blood_products", _("Immunoglobulin or blood products in the last 3 months?"), "deferred"),
    Question("recent_live_vaccine", _("Another live vaccine in the last 4 weeks?"), "deferred"),
    Question("previous_measles_reaction", _("A serious reaction to an earlier measles vaccine?"), "excluded"),
)
CATALOGUE_BY_CODE = {q.code: q for q in CATALOGUE}


def questions_for(campaign):
    """The campaign's questions in order, as Question values; the seed's six when none is set."""
    rows = list(campaign.screening_questions.all()) if campaign is not None and campaign.pk else []
    if not rows:
        return list(BUILTIN)
    return [Question(row.code, row.text, row.outcome) for row in rows]
