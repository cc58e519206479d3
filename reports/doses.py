"""Doses as the reports count and name them: one entry per dose of the campaign, never a dose it does not have.

The progress rows keep their counts by dose number as JSON ({"1": 40, "2": 12}, a dose with none
left out); `per_dose` reads them as a list for doses 1 .. n. Headers name each dose; a one-dose
campaign has a single column, named as being vaccinated (its one dose completes the course).
"""

from django.db.models import CharField, F, Func, IntegerField, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

# Ordinals as Chinese documents write them (第一剂, 第二剂, ...): the campaign has at most 5 doses.
CHINESE_ORDINALS = "一二三四五"

_LABELS = {1: _("Dose 1"), 2: _("Dose 2"), 3: _("Dose 3"), 4: _("Dose 4"), 5: _("Dose 5")}


def per_dose(counts: dict | None, doses: int) -> list[int]:
    """The counts of doses 1 .. `doses` from a {"1": n, ...} dict (missing doses are 0)."""
    counts = counts or {}
    return [int(counts.get(str(n), 0)) for n in range(1, doses + 1)]


def as_json(counts, doses: int) -> dict[str, int]:
    """{"1": n, ...} for doses 1 .. `doses` from a mapping by dose number, zeros left out."""
    return {str(n): counts[n] for n in range(1, doses + 1) if counts.get(n)}


class DoseCount(Func):
    """SQL: dose `n`'s count in a row's JSON `field` (0 when left out): `(field ->> 'n')::integer`.

    Not KT("field__1"): Django reads a key made of digits as an array index, which finds nothing
    in an object.
    """

    arg_joiner = " ->> "
    template = "COALESCE((%(expressions)s)::integer, 0)"
    output_field = IntegerField()

    def __init__(self, field: str, n: int):
        super().__init__(F(field), Value(str(n), output_field=CharField()))

    def as_sqlite(self, compiler, connection, **extra_context):
        # The embedded default: SQLite's JSON1 has no "::" cast; the same count with json_extract.
        field, key = self.get_source_expressions()
        field_sql, field_params = compiler.compile(field)
        key_sql, key_params = compiler.compile(key)
        return (
            f"COALESCE(CAST(json_extract({field_sql}, '$.\"' || {key_sql} || '\"') AS INTEGER), 0)",
            (*field_params, *key_params),
        )


def dose_sum(field: str, n: int, **extra):
    """SQL: the sum of dose `n`'s counts in the JSON `field` of the rows (0 when none)."""
    return Coalesce(Sum(DoseCount(field, n), **extra), 0)


def dose_labels(doses: int) -> list[str]:
    """The pages' header of each dose: Dose 1, Dose 2, ...; a one-dose campaign's single dose is 'Vaccinated'."""
    if doses == 1:
        return [_("Vaccinated")]
    return [_LABELS[n] for n in range(1, doses + 1)]


def chinese_dose_name(n: int, doses: int) -> str:
    """第一剂, 第二剂, ... for the Chinese files; 接种 for a one-dose campaign's only dose."""
    return "接种" if doses == 1 else f"第{CHINESE_ORDINALS[n - 1]}剂"
