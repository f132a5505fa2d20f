"""Rules the services own, checked without HTTP."""
import pytest

from commerces.models import ContactType
from commerces.services import contact_value_clean, merge_metadata


@pytest.mark.parametrize(("contact_type", "value", "expected"), [
    (ContactType.EMAIL, " Ana.Perez@Example.COM ", "ana.perez@example.com"),
    (ContactType.PHONE, "+56 9 1234 5678", "+56912345678"),
    (ContactType.WHATSAPP, "+1 (415) 555-2671", "+14155552671"),
    (ContactType.OTHER, " anything ", "anything"),
])
def test_contact_values_are_normalised(contact_type, value, expected):
    assert contact_value_clean(contact_type, value) == expected


@pytest.mark.parametrize(("contact_type", "value"), [
    (ContactType.EMAIL, "ana@"),
    (ContactType.EMAIL, "ana perez@example.com"),
    (ContactType.PHONE, "912345678"),
    (ContactType.PHONE, "+5691234567890123"),
    (ContactType.WHATSAPP, "+0 912345678"),
    (ContactType.PHONE, "+56 9 1234 567x"),
    (ContactType.OTHER, ""),
])
def test_contact_values_that_do_not_fit_are_refused(contact_type, value):
    with pytest.raises(ValueError):
        contact_value_clean(contact_type, value)


def test_metadata_merges_key_by_key_and_null_removes_a_key():
    assert merge_metadata({"a": 1, "b": {"x": 1}, "c": 3}, {"b": {"y": 2}, "c": None, "d": [1]}) == {
        "a": 1, "b": {"y": 2}, "d": [1]}
    assert merge_metadata(None, None) == {}
