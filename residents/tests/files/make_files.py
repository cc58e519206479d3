"""Make the committed test sheets in this folder from residents/tests/sheets.py, with LibreOffice.

    DEBUG=1 .venv/bin/python residents/tests/files/make_files.py

The .xls, .ods and CSV files are what a real office program writes (LibreOffice 7.4 headless here);
run again only when the people in sheets.py change. The password-protected files are not made here:
see README.md.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")

import django  # noqa: E402

django.setup()

from residents.tests.sheets import merged_basis_people, merged_title_xlsx, twenty_people  # noqa: E402

CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,{encoding}"  # comma, double quote, LibreOffice's encoding number
UTF8, GBK = 76, 67  # RTL_TEXTENCODING_UTF8, RTL_TEXTENCODING_GBK


def convert(source: Path, target: str, out: Path) -> Path:
    subprocess.run(
        ["soffice", "--headless", "--convert-to", target, "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out / (source.stem + "." + target.split(":")[0])


def main():
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        people = work / "people20.xlsx"
        people.write_bytes(merged_title_xlsx(twenty_people()))
        for kind in ("xls", "ods"):
            convert(people, kind, HERE).rename(HERE / f"people20.{kind}")
        utf8 = convert(people, CSV_FILTER.format(encoding=UTF8), work).read_bytes()
        (HERE / "people20-utf8.csv").write_bytes(utf8)
        (HERE / "people20-utf8-bom.csv").write_bytes(b"\xef\xbb\xbf" + utf8)
        gbk = convert(people, CSV_FILTER.format(encoding=GBK), work).read_bytes()
        assert gbk == utf8.decode().encode("gbk"), "LibreOffice did not write GBK"
        (HERE / "people20-gbk.csv").write_bytes(gbk)

        rows, merge = merged_basis_people()
        merged = work / "merged-basis.xlsx"
        merged.write_bytes(merged_title_xlsx(rows, merges=[merge]))
        for kind in ("xls", "ods"):
            convert(merged, kind, HERE).rename(HERE / f"merged-basis.{kind}")


if __name__ == "__main__":
    main()
