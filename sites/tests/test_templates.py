"""The workstation's panels drawn in part once per language (sites.templatetags.site_tags)."""

from django.template.loader import render_to_string
from django.utils import translation

from sites.forms import ScreeningForm
from sites.templatetags.site_tags import QUESTIONS, screening_questions


def test_the_unanswered_questions_are_drawn_once_per_language_and_as_the_template_draws_them():
    for language, label in [("zh-hans", "孕"), ("en", "pregnan")]:
        with translation.override(language):
            drawn = screening_questions(ScreeningForm())
            assert drawn == render_to_string(QUESTIONS, {"form": ScreeningForm()})
            assert label in drawn.lower() and "checked" not in drawn
            assert screening_questions(ScreeningForm()) is drawn  # kept, not drawn again


def test_answered_questions_are_drawn_with_their_answers():
    form = ScreeningForm({"pregnant": "on", "temperature": "99"})
    form.is_valid()
    drawn = screening_questions(form)
    assert 'id="id_pregnant" checked' in drawn
    assert drawn.count("checked") == 1
