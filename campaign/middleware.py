from django.conf import settings
from django.shortcuts import render
from django.utils import translation

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


class BadParameterMiddleware:
    """Answer a query parameter the page could not read (campaign.lib.params.BadParameter) with a 400
    page in the site's layout that says what was not understood, and a way back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, BadParameter):
            return render(request, "campaign/bad_parameter.html", {"message": exception.message}, status=400)
        return None
