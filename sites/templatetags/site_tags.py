from django import template
from django.template.loader import render_to_string
from django.utils.translation import get_language

register = template.Library()

QUESTIONS = "sites/screening_questions.html"
_unanswered = {}  # (language, the questions) -> the questions' HTML before any answer


@register.simple_tag
def screening_questions(form):
    """The campaign's questions' switches of the pre-screening form.

    Before any answer (a new, unbound form) they are the same for every person, so they are
    drawn once per language and process: this is most of the panel a scan returns.
    """
    if form.is_bound or form.initial or form.prefix:
        return render_to_string(QUESTIONS, {"form": form})
    # A campaign asks its own questions (campaign.screening): drawn once per language and set of questions.
    key = (get_language(), tuple((q.code, str(q.text)) for q in form.screening_questions))
    if key not in _unanswered:
        _unanswered[key] = render_to_string(QUESTIONS, {"form": form})
    return _unanswered[key]
