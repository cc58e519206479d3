from campaign.roles import Role, role_of


def role(request):
    """The signed-in user's role, for the navigation."""
    user_role = role_of(getattr(request, "user", None))
    return {"user_role": user_role, "Role": Role}
