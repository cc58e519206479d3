from django import template
from django.template.loader import render_to_string
from django.utils.translation import get_language

register = template.Library()

QUESTIONS = "sites/screening_questions.html"
_unanswered = {}  # language -> the questions' HTML before any answer


@register.simple_tag
def screening_questions(form):
    """The six questions' switches of the pre-screening form.

    Before any answer (a new, unbound form) they are the same for every person, so they are
    drawn once per language and process: this is most of the panel a scan returns.
    """
    if form.is_bound or form.initial or form.prefix:
        return render_to_string(QUESTIONS, {"form": form})
    language = get_language()
    if language not in _unanswered:
        _unanswered[language] = render_to_string(QUESTIONS, {"form": form})
    return _unanswered[language]
