"""lib.ids: the bigint bound of database ids, in one place, and the ``<id:...>`` path converter."""

import pytest
from django.urls import NoReverseMatch, resolve, reverse
from django.urls.exceptions import Resolver404

from lib.ids import BIGINT_MAX, IdConverter, is_id, parse_id


@pytest.mark.parametrize("text", ["1", "42", str(BIGINT_MAX), " 7 "])
def test_parse_id_takes_positive_bigints(text):
    assert parse_id(text) == int(text)


@pytest.mark.parametrize("text", ["", "0", "-1", str(BIGINT_MAX + 1), "1e3", "١٢", "12a", "9" * 40])
def test_parse_id_refuses_the_rest(text):
    assert parse_id(text) is None


def test_is_id_bounds():
    assert is_id(1) and is_id(BIGINT_MAX)
    assert not is_id(0) and not is_id(-5) and not is_id(BIGINT_MAX + 1)


def test_the_converter_refuses_out_of_range_ids():
    converter = IdConverter()
    assert converter.to_python(str(BIGINT_MAX)) == BIGINT_MAX
    with pytest.raises(ValueError):
        converter.to_python(str(BIGINT_MAX + 1))
    with pytest.raises(ValueError):
        converter.to_python("0")


def test_paths_take_ids_through_the_converter():
    assert resolve(f"/review/{BIGINT_MAX}/").kwargs == {"page_id": BIGINT_MAX}
    with pytest.raises(Resolver404):
        resolve(f"/review/{BIGINT_MAX + 1}/")
    assert reverse("page", args=[12]) == "/pages/12/"
    with pytest.raises(NoReverseMatch):
        reverse("page", args=["twelve"])
