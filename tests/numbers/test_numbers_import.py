"""Importing numbers: good rows in, bad rows reported with line and reason, repeats no-ops."""

from __future__ import annotations

import io

import pytest

from haoka.numbers import importer
from haoka.numbers.domain import NumberState
from haoka.numbers.models import NumberImport, PhoneNumber
from tests.support.numbers import seed_catalog

pytestmark = pytest.mark.django_db

CSV = """msisdn,carrier,price
13912348888,CMCC,
+86 139 1234 5678,,
1391234567x,,
13912348888,,
12345678901,,
13912340000,CTCC,
13912341111,XX,
13912342222,,abc
18912345200,,1888
"""


@pytest.fixture(autouse=True)
def catalog():
    seed_catalog()


def _import(text: str) -> importer.ImportReport:
    return importer.import_rows(rows=importer.read_csv(io.StringIO(text)), source="t.csv")


def test_good_rows_are_imported_and_bad_rows_reported_with_line_and_reason():
    report = _import(CSV)
    assert (report.rows, report.imported, report.rejected) == (9, 3, 6)
    by_line = {e["line"]: e["code"] for e in report.errors}
    assert by_line == {
        4: "invalid_msisdn",
        5: "duplicate_in_file",
        6: "invalid_msisdn",
        7: "carrier_mismatch",
        8: "unknown_carrier",
        9: "invalid_amount",
    }
    assert set(PhoneNumber.objects.values_list("msisdn", flat=True)) == {
        "13912348888",
        "13912345678",
        "18912345200",
    }


def test_an_imported_number_carries_its_location_tier_and_price():
    _import(CSV)
    number = PhoneNumber.objects.get(msisdn="13912348888")
    assert number.carrier_id == "CMCC"
    assert number.status == NumberState.AVAILABLE
    assert number.msisdn_rev == "88884321931"
    assert number.province and number.segment == "139"
    assert number.tier in {"S", "A"}
    assert number.price_fen > 0 and not number.price_locked
    assert number.has_four is True  # 1391234…: the 4 anywhere in the number counts


def test_a_price_in_the_file_locks_the_number_price():
    _import(CSV)
    number = PhoneNumber.objects.get(msisdn="18912345200")
    assert (number.price_fen, number.price_locked, number.carrier_id) == (188_800, True, "CTCC")


def test_importing_the_same_file_twice_changes_nothing():
    _import(CSV)
    before = list(PhoneNumber.objects.order_by("id").values())
    report = _import(CSV)
    assert (report.imported, report.already_present) == (0, 3)
    assert list(PhoneNumber.objects.order_by("id").values()) == before


def test_every_run_is_recorded_with_its_counts_and_errors():
    _import(CSV)
    run = NumberImport.objects.get()
    assert (run.rows, run.imported, run.rejected) == (9, 3, 6)
    assert run.finished_at is not None
    assert run.errors[0]["line"] == 4


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "CSV 文件为空"),
        ("phone\n13912348888\n", "msisdn"),
        ("msisdn,colour\n13912348888,red\n", "未知的列"),
    ],
)
def test_an_unusable_header_is_refused_and_nothing_is_written(text, message):
    with pytest.raises(importer.BadCsv) as exc:
        _import(text)
    assert message in exc.value.message or message in str(exc.value.details)
    assert PhoneNumber.objects.count() == 0


def test_the_cli_reports_bad_rows_on_stderr_and_exits_1(tmp_path, capsys):
    path = tmp_path / "numbers.csv"
    path.write_text(CSV, encoding="utf-8")
    assert importer.cli_import(path=str(path)) == 1
    out, err = capsys.readouterr()
    assert "导入 3" in out and "拒绝 6" in out
    assert "第 4 行" in err and "invalid_msisdn" in err


def test_the_cli_refuses_a_missing_file_and_a_non_utf8_file(tmp_path, capsys):
    assert importer.cli_import(path=str(tmp_path / "nope.csv")) == 2
    bad = tmp_path / "gbk.csv"
    bad.write_bytes("msisdn\n13912348888,号码\n".encode("gbk"))
    assert importer.cli_import(path=str(bad)) == 2
    assert "UTF-8" in capsys.readouterr().err


def test_generated_numbers_are_valid_distinct_and_of_the_asked_carrier():
    numbers = importer.generated_msisdns(carrier="CTCC", count=500, seed=3)
    assert len(set(numbers)) == 500
    report = importer.import_rows(
        rows=[importer.Row(line=i, msisdn=m, carrier="CTCC") for i, m in enumerate(numbers)],
        source="gen",
    )
    assert (report.imported, report.rejected) == (500, 0)
    assert set(PhoneNumber.objects.values_list("carrier_id", flat=True)) == {"CTCC"}


def test_the_generate_cli_writes_a_csv_that_imports_cleanly(tmp_path, capsys):
    out = tmp_path / "gen.csv"
    assert importer.cli_generate(carrier="cmcc", count=50, seed=1, output=str(out)) == 0
    assert importer.cli_import(path=str(out)) == 0
    assert PhoneNumber.objects.count() == 50
    assert importer.cli_generate(carrier="ZZ", count=5, seed=1, output=None) == 2
    assert importer.cli_generate(carrier="CMCC", count=0, seed=1, output=None) == 2
