import datetime

import pytest

from campaign.tests.factories import CampaignFactory
from residents.models import CONTRAINDICATIONS
from residents.services import eligibility_decide

ON = datetime.date(2026, 11, 24)


def decide(campaign, birth_date, **answers):
    return eligibility_decide(campaign=campaign, birth_date=birth_date, answers=answers, on=ON)


@pytest.fixture
def covid():
    return CampaignFactory.build(min_age=18, max_age=59, admit_healthy_over_max_age=True)


def test_a_healthy_adult_is_eligible(covid):
    assert decide(covid, datetime.date(1990, 1, 1)).status == "eligible"


@pytest.mark.parametrize(
    "answer, outcome",
    [
        ("pregnant", "deferred"),
        ("fever", "deferred"),
        ("acute_illness", "deferred"),
        ("severe_allergy", "excluded"),
        ("neuro_history", "excluded"),
        ("severe_chronic", "excluded"),
    ],
)
def test_each_contraindication_defers_or_excludes(covid, answer, outcome):
    decision = decide(covid, datetime.date(1990, 1, 1), **{answer: True})
    assert decision.status == outcome
    assert decision.reasons == [answer]


def test_every_contraindication_is_covered():
    assert set(CONTRAINDICATIONS) == {
        "pregnant",
        "severe_allergy",
        "neuro_history",
        "fever",
        "acute_illness",
        "severe_chronic",
    }


def test_exclusion_outranks_deferral(covid):
    decision = decide(covid, datetime.date(1990, 1, 1), fever=True, severe_chronic=True)
    assert decision.status == "excluded"
    assert decision.reasons == ["fever", "severe_chronic"]


def test_eligible_on_the_18th_birthday(covid):
    assert decide(covid, datetime.date(2008, 11, 24)).status == "eligible"


def test_out_of_age_the_day_before_the_18th_birthday(covid):
    decision = decide(covid, datetime.date(2008, 11, 25))
    assert (decision.status, decision.reasons) == ("out_of_age", ["too_young"])


def test_still_in_range_the_day_before_the_60th_birthday(covid):
    decision = decide(covid, datetime.date(1966, 11, 25))
    assert (decision.status, decision.reasons) == ("eligible", [])


def test_a_healthy_person_over_the_maximum_is_admitted_when_the_campaign_allows(covid):
    decision = decide(covid, datetime.date(1966, 11, 24))
    assert (decision.status, decision.reasons) == ("eligible", ["over_max_age_admitted"])


def test_a_person_over_the_maximum_with_a_positive_screening_is_not_admitted(covid):
    assert decide(covid, datetime.date(1950, 1, 1), acute_illness=True).status == "deferred"


def test_over_the_maximum_is_out_of_age_when_the_campaign_does_not_relax(covid):
    covid.admit_healthy_over_max_age = False
    decision = decide(covid, datetime.date(1966, 11, 24))
    assert (decision.status, decision.reasons) == ("out_of_age", ["too_old"])


def test_a_measles_campaign_counts_age_in_months():
    measles = CampaignFactory.build(age_unit="months", min_age=8, max_age=83, doses=1, admit_healthy_over_max_age=False)
    assert decide(measles, datetime.date(2026, 3, 24)).status == "eligible"
    assert decide(measles, datetime.date(2026, 3, 25)).status == "out_of_age"
    assert decide(measles, datetime.date(2019, 11, 24)).status == "out_of_age"  # 84 months
