"""Which test modules `-m` leaves unimported (conftest.pytest_ignore_collect)."""

import pytest

from conftest import MARK_NAME, MODULE_MARKS, _never_selected


@pytest.mark.parametrize(
    ("expression", "marks", "never"),
    [
        ("not browser and not slow", {"slow"}, True),
        ("not browser and not slow", {"browser", "slow", "xdist_group"}, True),
        ("not browser and not slow", {"django_db"}, False),
        ("not slow", {"browser"}, False),
        ("browser", {"browser", "slow"}, False),
        ("browser", {"slow"}, False),  # one of its tests may be marked browser too
        ("slow and not browser", {"browser"}, True),
        ("slow and not browser", {"xdist_group"}, False),
        ("not (slow and browser)", {"slow"}, False),
        ("slow or django_db", {"browser"}, False),
    ],
)
def test_a_module_is_left_out_only_when_no_test_of_it_can_be_selected(expression, marks, never):
    assert _never_selected(expression, marks) is never


@pytest.mark.parametrize(
    ("source", "marks"),
    [
        ("import pytest\n\npytestmark = pytest.mark.slow  # why\n", {"slow"}),
        (
            'pytestmark = [\n    pytest.mark.browser,\n    pytest.mark.xdist_group("sso"),\n]\n',
            {"browser", "xdist_group"},
        ),
        ("def test_x():\n    pytestmark = 1\n", set()),
        ("@pytest.mark.slow\ndef test_x():\n    pass\n", set()),
    ],
)
def test_a_modules_own_marks_are_read_from_its_pytestmark_line(source, marks):
    found = MODULE_MARKS.search(source)
    assert (set(MARK_NAME.findall(found.group(1))) if found else set()) == marks
