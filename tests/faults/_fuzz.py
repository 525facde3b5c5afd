"""Shared pieces of the fuzz tests: hostile text, row counts of every model, the response rule."""

from __future__ import annotations

from django.apps import apps
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Bounded: the suite stays fast; the examples are hostile rather than many.
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # one fixed set of examples per run: a failure reproduces
)

HOSTILE = st.sampled_from(
    ["\x00", "%00", "<script>alert(1)</script>", "' OR 1=1 --", "9" * 400, "-1", "0", "1e309",
     "NaN", "../../etc/passwd", "\ud7ff\ue000", "☃" * 50, " ", "", "x" * 5000, "{a:1}", "1,2,3",
     "2026-13-45", "9223372036854775808", "null", "[]"]
)  # fmt: skip
TEXT = st.one_of(HOSTILE, st.text(max_size=60), st.text(alphabet=st.characters(codec="utf-8"), max_size=20))
# Hostile values first: a list of them, not one in a thousand.
HOSTILE_FIRST = st.one_of(HOSTILE, TEXT)
# Cookie values travel in a header: printable ASCII without separators, plus the hostile ones that fit.
COOKIE = st.one_of(
    st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=';,"\\'), max_size=80
    ),
    st.sampled_from(
        ['"\\000"', "%00", "-1", "9" * 300, "load", "..", "a" * 4000]
    ),  # "\000": NUL once unquoted
)


def row_counts() -> dict[str, int]:
    """Rows of every model of the project and of auth/sessions."""
    return {m._meta.label: m._default_manager.count() for m in apps.get_models() if not m._meta.proxy}


def assert_clear_answer(response, before: dict[str, int]) -> None:
    """2xx, 3xx or a clear 4xx, never a 5xx; a 4xx changed nothing."""
    status = response.status_code
    assert status < 500, (status, response.content[:300])
    if 400 <= status < 500:
        assert row_counts() == before, status
