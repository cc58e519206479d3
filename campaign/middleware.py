from django.conf import settings
from django.utils import translation


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
