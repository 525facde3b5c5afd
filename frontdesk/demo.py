"""The demo release: fictional MPs' expense papers, generated on the fly and imported for real.

The PDFs are drawn by ``frontdesk.demo_pdf`` (claim forms, receipts, hand-written letters, a third
made to look scanned). Every name here is invented. Output is deterministic for a given seed, so
seeding twice finds the same files by content hash instead of duplicating them.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from assignments import actions as assignment_actions
from assignments.models import Assignment
from catalogue import actions as catalogue_actions
from catalogue import importer
from catalogue.models import Document, Member, Party
from frontdesk.demo_pdf import make_document_pdf
from moderation.actions import embargo

PARTIES = [
    ("Harbour Party", "harbour"),
    ("Lantern Party", "lantern"),
    ("Oak Alliance", "oak"),
    ("Independent", "independent"),
]

# (name, slug, party slug, constituency)
MEMBERS = [
    ("Rt Hon Margaret Ellery MP", "margaret-ellery", "harbour", "Northfield and Eastby"),
    ("Sir Anthony Blewitt MP", "anthony-blewitt", "harbour", "Castlemere"),
    ("Priya Ramanathan MP", "priya-ramanathan", "harbour", "Wexcombe South"),
    ("Gordon McAvoy MP", "gordon-mcavoy", "lantern", "Glenrothy"),
    ("Helen Stroud MP", "helen-stroud", "lantern", "Ashbury Vale"),
    ("Daniel Okafor MP", "daniel-okafor", "lantern", "Millbridge Central"),
    ("Fiona Pettigrew MP", "fiona-pettigrew", "oak", "Upper Tarnwick"),
    ("Rupert Hale-Dunmore MP", "rupert-hale-dunmore", "oak", "Dunmore and the Wolds"),
    ("Catherine Vos MP", "catherine-vos", "oak", "Seacliff"),
    ("Bernard Tully MP", "bernard-tully", "independent", "Ravensholm"),
]

# (name, slug, key, order, highlights, description)
TAGS = [
    ("Receipt", "receipt", "r", 1, False, "A till receipt, invoice or bill."),
    ("Claim form", "claim-form", "c", 2, False, "A printed claim form filled in by the member."),
    ("Hand-written", "hand-written", "h", 3, False, "A letter or note written by hand."),
    ("Food", "food", "f", 4, False, "Groceries, meals, restaurants."),
    ("Travel", "travel", "t", 5, False, "Trains, taxis, flights, mileage."),
    ("Second home", "second-home", "o", 6, False, "Rent, mortgage, furnishing or repairs of a second home."),
    (
        "Investigate this",
        "investigate-this",
        "i",
        9,
        True,
        "Something a reporter should look at: odd amounts, luxury items, notes from the fees office.",
    ),
]


@dataclass(frozen=True)
class SeedResult:
    documents: int
    pages: int
    failed: int
    seconds: float  # time spent importing (rendering + storing), not generating

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


# --- Seeding ----------------------------------------------------------------------------------


def plan_documents(total_pages: int, rng: random.Random) -> list[tuple[str, int]]:
    """Kinds and page counts of the documents that add up to ``total_pages``."""
    plan = []
    left = total_pages
    while left > 0:
        kind = rng.choices(["claim", "receipts", "letter"], weights=[45, 35, 20])[0]
        size = {"claim": rng.randrange(1, 7), "receipts": rng.randrange(1, 9), "letter": rng.randrange(1, 4)}[
            kind
        ]
        size = min(size, left)
        plan.append((kind, size))
        left -= size
    return plan


@transaction.atomic
def seed_reference_data() -> dict[str, list]:
    """Parties, members and the editors' tag set (idempotent)."""
    parties = {slug: catalogue_actions.ensure_party(slug=slug, name=name) for name, slug in PARTIES}
    members = [
        catalogue_actions.ensure_member(
            slug=slug, name=name, party=parties[party_slug], constituency=constituency
        )
        for name, slug, party_slug, constituency in MEMBERS
    ]
    tags = [
        catalogue_actions.ensure_tag(
            slug=slug, name=name, key=key, order=order, highlights=highlights, description=description
        )
        for name, slug, key, order, highlights, description in TAGS
    ]
    return {"parties": list(parties.values()), "members": members, "tags": tags}


def _ensure_assignment(*, slug: str, **fields) -> Assignment:
    # Idempotent: a second seeding keeps the assignment (and any edits editors made to it).
    existing = Assignment.objects.filter(slug=slug).first()
    return existing or assignment_actions.create_assignment(slug=slug, **fields)


@transaction.atomic
def seed_assignments(letter_documents: list[Document]) -> list[Assignment]:
    """A main featured assignment and two alternatives (idempotent)."""
    main = _ensure_assignment(
        slug="top-hit-list",
        title="The top hit list",
        description="Every page from the five members our reporters most want checked. "
        "Two people look at each page.",
        threshold=2,
        members=Member.objects.filter(slug__in=[m[1] for m in MEMBERS[:5]]).values_list("pk", flat=True),
    )
    if not Assignment.objects.filter(featured=Assignment.Featured.MAIN).exclude(pk=main.pk).exists():
        main = assignment_actions.feature_assignment_as_main(assignment_id=main.pk)
    oak = _ensure_assignment(
        slug="oak-alliance",
        title="The Oak Alliance front bench",
        description="All the papers of Oak Alliance members.",
        threshold=1,
        featured=Assignment.Featured.ALTERNATIVE,
        feature_order=1,
        parties=Party.objects.filter(slug="oak").values_list("pk", flat=True),
    )
    letters = _ensure_assignment(
        slug="letters-to-the-fees-office",
        title="Letters to the fees office",
        description="Hand-written correspondence: three readers per page, because the "
        "handwriting is hard and the stories are in the margins.",
        threshold=3,
        featured=Assignment.Featured.ALTERNATIVE,
        feature_order=2,
    )
    letters = assignment_actions.set_assignment_scope(
        assignment_id=letters.pk, documents=[d.pk for d in letter_documents]
    )
    return [main, oak, letters]


def publish_release() -> int:
    """The demo is a release already out: its documents are public. Most are in the published
    assignments above (by member or party); the few of members in none (embargoed, as every
    fresh upload is: ``assignments.visibility``) are published on their own, as an editor would
    with "Publish (lift embargo)". Returns how many were."""
    published = 0
    for document in Document.objects.filter(
        public=False, withdrawn_at__isnull=True, published_at__isnull=True
    ):
        embargo.publish_document(document, by=None)
        published += 1
    return published


def seed_demo(*, pages: int = 120, seed: int = 2009, pdf_dir: Path | None = None, log=None) -> SeedResult:
    """Generate and import a demo release of about ``pages`` pages, inline, through the pipeline."""
    rng = random.Random(seed)
    reference = seed_reference_data()
    members = reference["members"]
    member_rows = {m[1]: m for m in MEMBERS}
    plan = plan_documents(pages, rng)
    imported_pages = failed = 0
    import_seconds = 0.0
    letter_docs: list[Document] = []
    # The generated PDFs are kept in pdf_dir when given (to re-import or benchmark them).
    with contextlib.nullcontext(pdf_dir) if pdf_dir else tempfile.TemporaryDirectory() as tmp:
        Path(tmp).mkdir(parents=True, exist_ok=True)
        for index, (kind, size) in enumerate(plan, start=1):
            member = members[index % len(members)] if index > 1 else members[0]
            scanned = kind != "claim" or rng.random() < 0.3
            data = make_document_pdf(kind, size, member_rows[member.slug], rng, scanned=scanned)
            label = {"claim": "Claim forms", "receipts": "Receipts", "letter": "Letter to the fees office"}[
                kind
            ]
            path = Path(tmp) / f"{member.slug}-{kind}-{index:03d}.pdf"
            path.write_bytes(data)
            queued = catalogue_actions.create_document_from_path(
                path=path, member=member, title=f"{label} {index:03d}, {member.name}", queue=False
            )
            started = time.monotonic()
            result = importer.import_document(queued.document.pk)
            import_seconds += time.monotonic() - started
            if result.status in ("imported", "already_imported"):
                imported_pages += result.page_count
            else:
                failed += 1
            if kind == "letter":
                letter_docs.append(queued.document)
            if log:
                log(f"{path.name}: {result.status} {result.page_count} pages {result.error}".rstrip())
    seed_assignments(letter_docs)
    publish_release()
    return SeedResult(documents=len(plan), pages=imported_pages, failed=failed, seconds=import_seconds)
