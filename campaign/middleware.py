from django.conf import settings
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from campaign.lib.params import BadParameter


class ChosenLanguageMiddleware:
    """Activate the language the user picked in the header, else Chinese.

    Django's LocaleMiddleware would follow the browser's Accept-Language, so a
    township PC with an English browser would show English; the product speaks
    Chinese unless the user explicitly chooses otherwise.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class NoStoreMiddleware:
    """Every response Django makes is `Cache-Control: no-store` (with no-cache, private, max-age=0).

    Nearly every page, fragment and file holds names, ID numbers, phones or health answers, and the
    PCs of a town hall or a clinic are shared: nothing may stay in a browser's cache or a proxy for
    the next person at the keyboard. One rule for every response, not a list of pages: a new page
    cannot be forgotten, and the few without personal data (the login page, error pages) lose
    nothing by being fetched again. Static files are served by WhiteNoise above this middleware
    and keep their long caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response


class BadParameterMiddleware:
    """Answer a query parameter the page could not read (campaign.lib.params.BadParameter) with a 400
    page in the site's layout that says what was not understood, and a way back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in value for values in request.GET.lists() for value in values[1]):
            # A null byte reaches no page: PostgreSQL refuses it in any string, so every filter
            # (?user=%00, ?q=%00) would end in a 500. One refusal here instead of one per page.
            return self._refuse(request, BadParameter(_("The address holds a null character (%00); remove it.")))
        return self.get_response(request)

    @staticmethod
    def _refuse(request, bad):
        return render(request, "campaign/bad_parameter.html", {"message": bad.message}, status=400)

    def process_exception(self, request, exception):
        if isinstance(exception, BadParameter):
            return self._refuse(request, exception)
        return None
