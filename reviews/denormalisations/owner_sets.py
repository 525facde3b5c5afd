"""Redis: the page ids of each document, member and party."""

from __future__ import annotations

from collections import defaultdict

from assignments.denormalisations.contexts import page_states
from catalogue.denormalisations._common import _rows, _where
from catalogue.models import Document, Member, Page
from denorm.changes import Changes, PageContext
from denorm.redis_sets import hash_tag_id, rebuild_family, repair_family, replace_sets, sync_family
from denorm.registry import Denormalisation, Drift, Store, register
from lib import keys
from lib.redis_client import get_redis
from lib.sql_names import compose

TABLES = {
    "page": Page,
    "document": Document,
    "member": Member,
}

_OWNERS = {
    # kind: (key function, SCAN pattern, truth query of (owner id, page id) rows without its
    # WHERE, the conditions it always has, the owner column: see _owner_sql)
    "documents": (
        keys.document_pages,
        f"{keys.NAMESPACE}:{keys.VERSION}:{{d:*}}:pages",
        compose("SELECT p.document_id, p.id FROM {page} p", **TABLES),
        (),
        "p.document_id",
    ),
    "members": (
        keys.member_pages,
        f"{keys.NAMESPACE}:{keys.VERSION}:{{m:*}}:pages",
        compose("SELECT d.member_id, p.id FROM {page} p JOIN {document} d ON d.id = p.document_id", **TABLES),
        ("d.member_id IS NOT NULL",),
        "d.member_id",
    ),
    "parties": (
        keys.party_pages,
        f"{keys.NAMESPACE}:{keys.VERSION}:{{p:*}}:pages",
        compose(
            "SELECT m.party_id, p.id FROM {page} p JOIN {document} d ON d.id = p.document_id"
            " JOIN {member} m ON m.id = d.member_id",
            **TABLES,
        ),
        ("m.party_id IS NOT NULL",),
        "m.party_id",
    ),
}


def _owner_sql(kind: str, *, of_owners: bool) -> str:
    """The truth query of ``kind``: its conditions, and with ``of_owners`` the owners' (``%s``)."""
    _, _, select_from, conditions, column = _OWNERS[kind]
    return select_from + _where(*conditions, *([f"{column} = ANY(%s)"] if of_owners else []))


def owner_truth(kind: str, owners=None) -> dict[int, set[int]]:
    truth: dict[int, set[int]] = defaultdict(set)
    if owners is None:
        rows = _rows(_owner_sql(kind, of_owners=False))
    else:
        rows = _rows(_owner_sql(kind, of_owners=True), [list(owners)])
        for owner in owners:
            truth[owner]  # noqa: B018  (an owner without pages gets an empty set: its key goes)
    for owner, page_id in rows:
        truth[owner].add(page_id)
    return dict(truth)


def _owner_family(kind: str):
    key_of, pattern, *_ = _OWNERS[kind]

    def rebuild() -> None:
        rebuild_family(lambda: owner_truth(kind), key_of, pattern, hash_tag_id)

    def check() -> Drift:
        return sync_family(owner_truth(kind), key_of, pattern, hash_tag_id, fix=False)

    def repair() -> Drift:
        return repair_family(lambda: owner_truth(kind), key_of, pattern, hash_tag_id)

    return rebuild, check, repair


def refresh_owner_sets(changes: Changes) -> None:
    """Re-derive the changed pages' membership in the document, member and party sets (old and
    new owners), and rebuild the whole sets of owners named in ``changes``."""
    adds: dict[str, set[int]] = defaultdict(set)
    removes: dict[str, set[int]] = defaultdict(set)
    if changes.pages:
        now = page_states(changes.pages)
        for page_id, before in changes.pages.items():
            current = now[page_id][0] if page_id in now else PageContext()
            for kind in ("documents", "members", "parties"):
                key_of = _OWNERS[kind][0]
                want = getattr(current, kind)
                for owner in getattr(before, kind) | want:
                    (adds if owner in want else removes)[key_of(owner)].add(page_id)
    pipe = get_redis().pipeline(transaction=False)
    for key, members in adds.items():
        pipe.sadd(key, *members)
    for key, members in removes.items():
        pipe.srem(key, *members)
    pipe.execute()
    for kind in ("documents", "members", "parties"):
        owners = getattr(changes, kind)
        if owners:
            key_of = _OWNERS[kind][0]
            truth = owner_truth(kind, owners)
            replace_sets({key_of(o): truth.get(o, ()) for o in owners})


_OWNER_KEPT = (
    "after commit: `catalogue.signals.document_imported` (pages added), `pre_delete` of pages "
    "(also in `QuerySet.delete()` and cascades from documents and members), `pre_delete` of "
    "parties, `pre_save` of documents and members that change owner; anything else through "
    "`denorm.changed`."
)


for _order, (_kind, _name, _what) in enumerate(
    [
        ("documents", "document-pages", "document"),
        ("members", "member-pages", "member (through their documents)"),
        ("parties", "party-pages", "party (through its members' documents)"),
    ]
):
    _rebuild, _check, _repair = _owner_family(_kind)
    register(
        Denormalisation(
            name=_name,
            description=f"The ids of the pages of each {_what}: the next-page picker and the "
            "listings narrow by it. A deleted page leaves every set at once (the Guardian's bug).",
            derived_from="`reviews_page` joined with `reviews_document` and `reviews_member`",
            lives_in=f"Redis set `{_OWNERS[_kind][1].replace('*', '<id>')}`",
            kept_current_by=_OWNER_KEPT,
            rebuild=_rebuild,
            check=_check,
            repair=_repair,
            refresh=refresh_owner_sets,
            order=30 + _order,
            store=Store.REDIS,
        )
    )
