"""Who may see a page or a document: the one rule every public surface uses (HTML pages, the
review screen, the API, feeds, exports, profiles, search, images).

The rule (issue 22, the embargo): **a document is public when it is not withdrawn and either
an editor published it on its own (``Document.published_at``) or it is in a published
assignment** (by document, member or party: ``assignments.scope``'s rule, drafts excluded). A
freshly uploaded document is therefore staff-only (embargoed) until one of those happens. **A
page is public when its document is public and the page is not withdrawn** (``Page.withdrawn_at``,
kept by ``moderation.actions.takedown``). Staff see everything.

The rule is evaluated here (:data:`DOCUMENT_PUBLIC_SQL`) and stored on the rows as two booleans,
``Document.public`` and ``Page.public``, so that hot paths pay for one column, not for a walk of
the assignments. The booleans are a denormalisation (registry entry ``document-page-public``,
``assignments/denormalisations/``), written by :func:`assignments.actions.sync_visibility` in
the transaction of every action that changes the truth (publishing or embargoing a document,
an assignment's status or scope, a withdrawal, an import), re-derived after commit for changes
made elsewhere (the admin's scope edits), checked and repaired by the registry.

Callers use only these functions, so the rule changes here and nowhere else.
"""

from __future__ import annotations

from django.db.models import Q
from psycopg import sql

from assignments import scope
from lib.sql_names import compose
from lib.web import is_staff


def _check_alias(alias: str) -> str:
    if not alias.isidentifier():
        raise ValueError(f"not an SQL alias: {alias!r}")
    return alias


# --- Pages -------------------------------------------------------------------------------------


# ``public`` already excludes withdrawn pages; ``withdrawn_at`` is read beside it because it is the
# takedown's own truth, written in the withdrawal's transaction: a page withdrawn by any path
# (a hand-made fix included) is hidden whatever the boolean says. It costs nothing (same row).


def public_page_q(prefix: str = "") -> Q:
    """A ``Q`` selecting the pages the public may see. ``prefix``: the path to the page from
    the queried model, with its trailing ``__`` (``"page__"`` on PageTag), or "" on Page."""
    return Q(**{f"{prefix}public": True, f"{prefix}withdrawn_at__isnull": True})


def public_page_sql(alias: str = "p") -> str:
    """The same rule as an SQL predicate over the page table aliased ``alias`` (an identifier
    the caller chose, never user input)."""
    a = _check_alias(alias)
    return f"({a}.public AND {a}.withdrawn_at IS NULL)"


def page_is_public(page) -> bool:
    """A loaded ``Page`` (with its ``public`` and ``withdrawn_at``) may be shown to the public."""
    return bool(page.public) and page.withdrawn_at is None


def can_see_page(user, page) -> bool:
    """``user`` (anonymous or not) may see the loaded ``page``: staff always, others when public."""
    return is_staff(user) or page_is_public(page)


def page_visibility(page) -> str:
    """Why a page is or is not public, for the status a surface answers with: ``"public"``,
    ``"withdrawn"`` (410 for the public: the page was published, then taken down) or
    ``"embargoed"`` (404 for the public: as if it did not exist)."""
    if page.withdrawn_at is not None:
        return "withdrawn"
    return "public" if page_is_public(page) else "embargoed"


# --- Documents ---------------------------------------------------------------------------------


def public_document_q(prefix: str = "") -> Q:
    """A ``Q`` selecting the documents the public may see (``prefix`` as for pages, e.g.
    ``"documents__"`` on Member)."""
    return Q(**{f"{prefix}public": True, f"{prefix}withdrawn_at__isnull": True})


def document_is_public(document) -> bool:
    return bool(document.public) and document.withdrawn_at is None


def can_see_document(user, document) -> bool:
    return is_staff(user) or document_is_public(document)


def document_visibility(document) -> str:
    """``"public"``, ``"withdrawn"`` or ``"embargoed"``, as :func:`page_visibility`."""
    if document.withdrawn_at is not None:
        return "withdrawn"
    return "public" if document_is_public(document) else "embargoed"


_SCOPE_ALIASES = {"d", "m", "ad", "am", "ap", "pa"}


# --- The truth the booleans are derived from ---------------------------------------------------


def document_public_sql(alias: str = "doc") -> str:
    """The rule itself, as an SQL expression over the document table aliased ``alias``: what
    ``Document.public`` must equal. A page's ``public`` is then its document's and not
    withdrawn. Only :func:`assignments.actions.sync_visibility` and the registry's check read
    this; every other reader reads the stored booleans."""
    d = _check_alias(alias)
    if d in _SCOPE_ALIASES:  # the scope's subquery would shadow it: d.id = d.id, always true
        raise ValueError(f"alias {alias!r} is used inside the scope's subquery; choose another")
    return compose(
        "({d}.withdrawn_at IS NULL AND ({d}.published_at IS NOT NULL OR EXISTS ("
        "SELECT 1 FROM {assignment} pa WHERE pa.status = 'published' AND pa.id IN ("
        "{containing}))))",
        d=sql.SQL(d),
        containing=sql.SQL(scope.assignments_of_document_sql(f"{d}.id")),
        **scope.tables(),
    )
