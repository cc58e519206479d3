from django import forms
from django.utils.translation import gettext_lazy as _

from campaign.lib.text import CleanTextMixin
from campaign.models import Village
from residents.importing.limits import limits, too_large_message

# What the file picker offers (the content decides what is read: residents.importing.formats).
# .et: WPS Spreadsheets, read when it is really an .xls.
ACCEPT = ",".join(
    [
        ".xlsx",
        ".xls",
        ".ods",
        ".csv",
        ".et",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-excel",
        "application/vnd.oasis.opendocument.spreadsheet",
        "text/csv",
    ]
)


class ImportUploadForm(CleanTextMixin, forms.Form):
    """The sheet to import and, for the office, the village it is for."""

    file = forms.FileField(
        label=_("Sheet (.xlsx, .xls, .ods or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )

    def __init__(self, *args, campaign, choose_village: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if choose_village:
            self.fields["village"] = forms.ModelChoiceField(
                queryset=Village.objects.filter(campaign=campaign).select_related("site"), label=_("village")
            )
            self.order_fields(["village", "file"])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Refused before it is read: the size the browser sent is enough to say no.
        if upload.size > limits().upload_bytes:
            raise forms.ValidationError(too_large_message(upload.size))
        return upload
