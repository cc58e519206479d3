from functools import wraps

from django.core.exceptions import PermissionDenied

from campaign.roles import role_of


def role_required(*roles):
    """Let the view run only for users whose role is one of `roles`; 403 for the others."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if role_of(request.user) not in {str(r) for r in roles}:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
