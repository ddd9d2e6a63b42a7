import csv
import io

from unmask.tables import rows_csv


def read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_header_is_every_key_in_first_seen_order():
    text = rows_csv([{"b": 1, "a": 2}, {"a": 3, "c": "x"}])
    assert text.splitlines()[0] == "b,a,c"
    assert read(text) == [{"b": "1", "a": "2", "c": ""}, {"b": "", "a": "3", "c": "x"}]


def test_fixed_columns_leave_out_other_keys_and_write_none_empty():
    text = rows_csv([{"name": "p01", "seconds": None, "secret": 7}], columns=["name", "seconds"])
    assert text == "name,seconds\np01,\n"


def test_floats_to_six_significant_digits():
    assert read(rows_csv([{"x": 1 / 3, "n": 12}])) == [{"x": "0.333333", "n": "12"}]


def test_no_rows_gives_the_header_of_the_fixed_columns_only():
    assert rows_csv([], columns=["a", "b"]) == "a,b\n"
