from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaign.accounts.services import Kind
from campaign.lib.text import CleanTextMixin
from campaign.models import Village
from sites.models import Site


class AccountForm(CleanTextMixin, forms.Form):
    """An account's details as the office types them; account_create / account_change decide."""

    username = forms.CharField(
        label=_("user name"),
        max_length=150,
        help_text=_("Letters, digits and @ . + - _ only, e.g. cadre_qingshan2. The person logs in with it."),
    )
    full_name = forms.CharField(label=pgettext_lazy("person", "name"), max_length=150)
    kind = forms.ChoiceField(label=_("role"), choices=[("", "---------"), *Kind.choices])
    village = forms.ModelChoiceField(
        label=_("village"), queryset=Village.objects.none(), required=False, help_text=_("for a village cadre")
    )
    site = forms.ModelChoiceField(
        label=_("site"), queryset=Site.objects.none(), required=False, help_text=_("for a site team member or doctor")
    )
    phone = forms.CharField(label=_("phone"), max_length=11, required=False)

    def __init__(self, *args, campaign, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = Village.objects.filter(campaign=campaign).order_by("site_id", "id")
        self.fields["site"].queryset = Site.objects.filter(campaign=campaign).order_by("id")
        if editing:  # a user name never changes: it is how the person logs in, and the record names it
            del self.fields["username"]


class AccountFilterForm(CleanTextMixin, forms.Form):
    """The list's filters; a value that cannot be read is left out (the list shows everyone)."""

    ACTIVE_CHOICES = [("", _("active and deactivated")), ("1", _("active")), ("0", _("deactivated"))]

    q = forms.CharField(label=_("name or user name"), max_length=50, required=False)
    kind = forms.ChoiceField(label=_("role"), choices=[("", _("All roles")), *Kind.choices], required=False)
    village = forms.ModelChoiceField(
        label=_("village"), queryset=Village.objects.none(), required=False, empty_label=_("All villages")
    )
    site = forms.ModelChoiceField(
        label=_("site"), queryset=Site.objects.none(), required=False, empty_label=_("All sites")
    )
    active = forms.ChoiceField(label=_("state"), choices=ACTIVE_CHOICES, required=False)

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = Village.objects.filter(campaign=campaign).order_by("site_id", "id")
        self.fields["site"].queryset = Site.objects.filter(campaign=campaign).order_by("id")

    def values(self) -> dict:
        """The filters that could be read, as account_list's keyword arguments."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        active = data.get("active")
        return {
            "q": (data.get("q") or "").strip(),
            "kind": data.get("kind") or "",
            "village": data.get("village"),
            "site": data.get("site"),
            "active": {"1": True, "0": False}.get(active),
        }


class NewPasswordForm(CleanTextMixin, PasswordChangeForm):
    """Django's password change, refusing the old password as the new one (a temporary one must go).

    The text rule applies here too: a control character in a password is refused like anywhere else.
    """

    def clean(self):
        cleaned = super().clean()
        new = cleaned.get("new_password1")
        if new and not self.has_error("new_password2") and new == cleaned.get("old_password"):
            self.add_error("new_password1", _("Choose a password other than the one you have now."))
        return cleaned
