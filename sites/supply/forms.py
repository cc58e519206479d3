"""Forms of the supply pages: they read what was typed; sites.supply.services decides."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaign.lib.text import CleanTextMixin
from sites.models import Lot, Site

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _styled(form):
    for field in form.fields.values():
        css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
        field.widget.attrs["class"] = css


class DeliveryForm(CleanTextMixin, forms.Form):
    """到货登记: the site (the office chooses; a site team records its own), the lot as on the label, the vials."""

    site = forms.ModelChoiceField(label=_("site"), queryset=Site.objects.none())
    date = forms.DateField(label=_("date of arrival"), widget=DATE)
    manufacturer = forms.CharField(label=_("manufacturer"), max_length=100)
    number = forms.CharField(
        label=_("lot number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )
    expiry_date = forms.DateField(label=_("expiry date"), widget=DATE)
    doses_per_vial = forms.IntegerField(label=_("doses per vial"), min_value=1, max_value=20, initial=1)
    vials = forms.IntegerField(label=_("number of vials"), min_value=1, max_value=100_000)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if len(sites) == 1:
            self.fields["site"].initial = sites[0].pk
        self.fields["date"].initial = timezone.localdate()
        _styled(self)


class TransferForm(CleanTextMixin, forms.Form):
    """调拨: sealed vials of a lot from one site to another."""

    lot = forms.ModelChoiceField(label=_("lot"), queryset=Lot.objects.none())
    from_site = forms.ModelChoiceField(label=_("from site"), queryset=Site.objects.none())
    to_site = forms.ModelChoiceField(label=_("to site"), queryset=Site.objects.none())
    vials = forms.IntegerField(label=_("number of vials"), min_value=1, max_value=100_000)
    date = forms.DateField(label=_("date"), widget=DATE)

    def __init__(self, *args, campaign, from_sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = Lot.objects.filter(campaign=campaign)
        self.fields["from_site"].queryset = from_sites
        if len(from_sites) == 1:
            self.fields["from_site"].initial = from_sites[0].pk
        self.fields["to_site"].queryset = Site.objects.filter(campaign=campaign)
        self.fields["date"].initial = timezone.localdate()
        _styled(self)
