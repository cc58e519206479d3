"""Excel sheets for the import tests, the bench and the browser test.

Written with openpyxl's ordinary (not write-only) workbook on purpose: a cadre's own
sheet has numbers, formulas and title rows that our safe writers would never produce.
"""

import datetime
import io

from openpyxl import Workbook
from stdnum.cn import ric

from residents.tests.factories import id_number_for

TEMPLATE_HEADERS = [
    "姓名",
    "身份证号码",
    "手机号码",
    "纳入依据",
    "重点人群",
    "包保责任人",
    "孕妇",
    "以前疫苗接种严重过敏反应",
    "惊厥、癫痫、脑病、精神疾病史或家族史",
    "发热",
    "急性疾病或慢性疾病急性发作期",
    "严重慢性疾病",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超"]


def xlsx(rows, *, headers=TEMPLATE_HEADERS, title_rows=(), sheet_title="摸排登记表") -> bytes:
    """A workbook with optional title rows, a header row and rows of values (lists or dicts by header)."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = sheet_title
    for title in title_rows:
        ws.append([title])
    ws.append(list(headers))
    for row in rows:
        ws.append([row.get(h) for h in headers] if isinstance(row, dict) else list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_check(body17: str) -> str:
    """An ID number with a right check character, whatever its other digits say."""
    return body17 + ric.calc_check_digit(body17 + "0")


def person(n: int, **overrides) -> dict:
    """A valid row for resident n (aged about 40), keyed by template header."""
    row = {
        "姓名": SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)],
        "身份证号码": id_number_for(n),
        "手机号码": f"138{n:08d}",
        "纳入依据": "户籍地",
        "重点人群": "一般人群",
    }
    row.update(overrides)
    return row


def bad_rows(start: int) -> list[tuple[dict, str]]:
    """Twenty rows with one mistake each (the pair of duplicates counts as two), with the column at fault."""
    young = id_number_for(start, birth_date=datetime.date.today() - datetime.timedelta(days=365 * 10))
    good = id_number_for(start + 1)
    return [
        (person(start + 1, 身份证号码=good[:-1] + ("0" if good[-1] != "0" else "1")), "身份证号码"),  # check digit
        (person(start + 2, 身份证号码=with_check("34152419850230123")), "身份证号码"),  # 30 February
        (person(start + 3, 身份证号码=young), "身份证号码"),  # ten years old
        (person(start + 4, 手机号码="1381234567"), "手机号码"),  # ten digits
        (person(start + 5, 手机号码="02161234567"), "手机号码"),  # a landline
        (person(start + 6, 姓名=""), "姓名"),
        (person(start + 7, 姓名='=HYPERLINK("http://example.com","点我")'), "姓名"),  # a formula cell
        (person(start + 8, 身份证号码=float(id_number_for(start + 8))), "身份证号码"),  # stored as a number
        (person(start + 9, 身份证号码="3.41524E+17"), "身份证号码"),
        (person(start + 10, 纳入依据="外地"), "纳入依据"),
        (person(start + 11, 重点人群="学生"), "重点人群"),
        (person(start + 12, 发热="也许"), "发热"),
        (person(start + 13, 包保责任人="不存在的人"), "包保责任人"),
        (person(start + 14, 身份证号码=id_number_for(start + 14)[:17]), "身份证号码"),  # 17 characters
        (person(start + 15, 身份证号码="34152419850615A23X"), "身份证号码"),
        (person(start + 16, 身份证号码=""), "身份证号码"),
        (person(start + 17, 身份证号码=id_number_for(start + 17, birth_date=datetime.date(2090, 1, 1))), "身份证号码"),
        (person(start + 18, 姓名="王" * 51), "姓名"),
        (person(start + 19, 身份证号码=id_number_for(start + 19)), "身份证号码"),  # duplicate pair
        (person(start + 20, 身份证号码=id_number_for(start + 19)), "身份证号码"),
    ]


def big_sheet(count: int = 5000, bad: int = 20) -> tuple[bytes, dict[int, str]]:
    """`count` rows, of which `bad` (at most 20) are wrong, spread through the sheet.

    Returns the file and {Excel row number: header of the column at fault}.
    """
    mistakes = bad_rows(max(9_000, count + 1_000))[:bad]  # numbers no good row of the sheet has
    every = count // max(bad, 1)
    rows, expected = [], {}
    for n in range(count):
        slot = n // every if every else None
        if slot is not None and n % every == every // 2 and slot < len(mistakes):
            row, column = mistakes[slot]
            expected[n + 2] = column
        else:
            row = person(n)
        rows.append(row)
    return xlsx(rows), expected


# The same people in every format (residents/tests/files/, made by make_files.py from these).

FORMAT_TITLE = "梅山镇青山社区新冠疫苗接种摸排登记表"
BASES = ["户籍地", "居住地", "工作地"]
GROUPS = ["一般人群", "重点行业人员", "60周岁及以上", "学校教职员工"]


def twenty_people() -> list[dict]:
    """Twenty residents with varied bases, groups and answers, keyed by template header."""
    return [
        person(
            n,
            纳入依据=BASES[n % 3],
            重点人群=GROUPS[n % 4] if n % 4 != 2 else "一般人群",
            发热="是" if n == 7 else "否",
            孕妇="否",
        )
        for n in range(20)
    ]


def merged_title_xlsx(rows, *, merges=()) -> bytes:
    """The title merged across the table above the header, and `merges` (cell ranges such as "D5:D7")."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = "摸排登记表"
    ws.append([FORMAT_TITLE])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(TEMPLATE_HEADERS))
    ws.append(list(TEMPLATE_HEADERS))
    for row in rows:
        ws.append([row.get(h) for h in TEMPLATE_HEADERS])
    for cells in merges:
        first = cells.split(":")[0]
        value = ws[first].value
        ws.merge_cells(cells)
        ws[first].value = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def merged_basis_people() -> tuple[list[dict], str]:
    """Six residents, rows 5 to 7 sharing one merged 纳入依据 cell (居住地) that only row 5 holds."""
    people = [person(100 + n, 纳入依据="户籍地") for n in range(6)]
    for n in (2, 3, 4):
        people[n]["纳入依据"] = "居住地" if n == 2 else None
    return people, "D5:D7"
