"""The PDF import pipeline: documents in, rendered pages out, all or nothing, never twice."""

from __future__ import annotations

import io
import time
from pathlib import Path

import psycopg
import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from PIL import Image

from catalogue import actions as catalogue_actions
from catalogue import importer, signals
from catalogue.actions import documents
from catalogue.import_lock import LOCK_NAMESPACE
from catalogue.models import Document, Page
from tests import factories
from tests.catalogue.pdf_samples import A4, bad_files, landscape, pdf_bytes, write

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_page_files(media_root: Path) -> list[Path]:
    return sorted(p for d in ("pages", "thumbs") for p in (media_root / d).rglob("*") if p.is_file())


def create(path: Path, **kwargs) -> Document:
    return catalogue_actions.create_document_from_path(path=path, queue=False, **kwargs).document


def run(cmd_args: list[str]) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("import_documents", *cmd_args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_it_imports_every_page_at_web_and_thumbnail_size(
    tmp_path, media_root, django_capture_on_commit_callbacks
):
    """Page count, numbering, image sizes (1,400 px wide web image, 240 px thumbnail, height in
    proportion, /Rotate applied) and the stored files are right, and the signal goes out once."""
    path = write(
        tmp_path / "claims.pdf",
        pdf_bytes(3, sizes=[A4, landscape(A4), landscape(A4)], rotate={3: 90}),
    )
    document = create(path)
    sent = []

    def receiver(sender, document_id, **kwargs):
        sent.append(document_id)

    signals.document_imported.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = importer.import_document(document.pk)
    finally:
        signals.document_imported.disconnect(receiver)

    assert result.status == "imported" and result.page_count == 3
    document.refresh_from_db()
    assert document.status == Document.Status.IMPORTED
    assert document.page_count == 3 and document.error == "" and document.imported_at is not None
    pages = list(document.pages.order_by("number"))
    assert [p.number for p in pages] == [1, 2, 3]
    expected_heights = [round(1400 * 842 / 595), round(1400 * 595 / 842), round(1400 * 595 / 842)]
    for page, expected_height in zip(pages, expected_heights, strict=True):
        with default_storage.open(page.image.name) as f:
            image = Image.open(f)
            image.load()
        assert image.format == "JPEG"
        assert (page.width, page.height) == image.size
        assert page.width == 1400
        assert abs(page.height - expected_height) <= 2
        with default_storage.open(page.thumbnail.name) as f:
            thumb = Image.open(f)
            thumb.load()
        assert thumb.width == 240
        assert abs(thumb.height - 240 * page.height / page.width) <= 2
    assert len(stored_page_files(media_root)) == 6
    assert sent == [document.pk]


@pytest.mark.parametrize("name", sorted(bad_files()))
def test_it_marks_a_bad_file_failed_with_a_clear_reason_and_no_pages(name, tmp_path, media_root):
    data, phrase = bad_files()[name]
    document = create(write(tmp_path / name, data))

    result = importer.import_document(document.pk)

    document.refresh_from_db()
    assert result.status == "failed"
    assert document.status == Document.Status.FAILED
    assert phrase.lower() in document.error.lower()
    assert not Page.objects.filter(document=document).exists()
    assert document.page_count == 0
    assert stored_page_files(media_root) == []


def test_the_command_reports_each_file_imports_the_good_ones_and_fails_overall(tmp_path, media_root):
    folder = tmp_path / "release"
    write(folder / "a-good.pdf", pdf_bytes(2))
    write(folder / "nested" / "z-good.pdf", pdf_bytes(4))
    write(folder / "notes.txt", b"not picked up: not a .pdf")
    for name, (data, _) in bad_files().items():
        write(folder / name, data)
    member = factories.make_member(factories.make_party())

    out, error = run([str(folder), "--member", member.slug, "--sync"])

    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert len(lines) == 7
    assert lines[str(folder / "a-good.pdf")].startswith("imported 2 pages")
    assert lines[str(folder / "nested" / "z-good.pdf")].startswith("imported 4 pages")
    for name, (_, phrase) in bad_files().items():
        assert lines[str(folder / name)].startswith("failed: ")
        assert phrase.lower() in lines[str(folder / name)].lower()
    assert error is not None and "5 of 7 file(s) failed" in str(error)
    assert Page.objects.count() == 6
    assert set(Document.objects.values_list("member", flat=True)) == {member.pk}
    assert Document.objects.filter(status=Document.Status.FAILED).count() == 5


def test_the_command_exits_zero_when_every_file_imported(tmp_path):
    out, error = run([str(write(tmp_path / "one.pdf", pdf_bytes(1))), "--sync"])
    assert error is None
    assert "imported 1 pages" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--member", "nobody"], "unknown member 'nobody'"),
        (["--party", "no-party"], "unknown party 'no-party'"),
    ],
)
def test_the_command_refuses_unknown_member_or_party_and_changes_nothing(tmp_path, args, message):
    path = write(tmp_path / "one.pdf", pdf_bytes(1))
    with pytest.raises(CommandError, match=message):
        call_command("import_documents", str(path), "--sync", *args, stdout=io.StringIO())
    assert not Document.objects.exists()


def test_the_command_refuses_a_missing_path(tmp_path):
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("import_documents", str(tmp_path / "nope.pdf"), stdout=io.StringIO())


def test_importing_the_same_file_twice_does_not_duplicate_it(tmp_path, media_root):
    path = write(tmp_path / "claims.pdf", pdf_bytes(3))
    first, _ = run([str(path), "--sync"])
    files_after_first = stored_page_files(media_root)

    # The same bytes under another name, and the same file again.
    copy = write(tmp_path / "copy-of-claims.pdf", path.read_bytes())
    second, error = run([str(path), str(copy), "--sync"])

    assert "imported 3 pages" in first
    assert error is None
    assert second.count("already imported") == 2
    assert Document.objects.count() == 1
    assert Page.objects.count() == 3
    assert stored_page_files(media_root) == files_after_first
    # Running the import itself again is a no-op too.
    assert importer.import_document(Document.objects.get().pk).status == "already_imported"
    assert Page.objects.count() == 3


def test_an_upload_with_the_bytes_of_an_imported_file_finds_that_document(tmp_path):
    path = write(tmp_path / "claims.pdf", pdf_bytes(2))
    document = create(path)
    queued = catalogue_actions.create_document_from_upload(
        upload=SimpleUploadedFile("other-name.pdf", path.read_bytes()), queue=False
    )
    assert queued.created is False and queued.document.pk == document.pk
    assert Document.objects.count() == 1


def test_a_document_left_importing_with_partial_pages_reimports_cleanly(tmp_path, media_root):
    """A worker killed mid-document: status "importing", some pages, some stray files. The
    redelivered task imports it from scratch, with exactly one page per PDF page."""
    document = create(write(tmp_path / "claims.pdf", pdf_bytes(4)))
    Document.objects.filter(pk=document.pk).update(status=Document.Status.IMPORTING)
    factories.add_pages(document, 2)  # rows a (hypothetical) partial commit left
    stray = default_storage.save(f"pages/{document.pk}/00003-deadbeef.jpg", io.BytesIO(b"half a jpeg"))

    result = importer.import_document(document.pk)

    document.refresh_from_db()
    assert result.status == "imported"
    assert document.status == Document.Status.IMPORTED and document.page_count == 4
    assert list(document.pages.values_list("number", flat=True).order_by("number")) == [1, 2, 3, 4]
    assert not default_storage.exists(stray)
    assert len(stored_page_files(media_root)) == 8
    assert all(default_storage.exists(p.image.name) for p in document.pages.all())


class _StorageThatDiesAfter(FileSystemStorage):
    """Fault injection: the worker is stopped (SystemExit, as on a warm shutdown) mid-document."""

    def __init__(self, saves: int, **kwargs):
        super().__init__(**kwargs)
        self.saves_left = saves

    def _save(self, name, content):
        if self.saves_left == 0:
            raise SystemExit("worker stopped")
        self.saves_left -= 1
        return super()._save(name, content)


def test_a_worker_stopped_mid_document_leaves_no_pages_or_files_and_the_retry_works(
    tmp_path, media_root, monkeypatch
):
    document = create(write(tmp_path / "claims.pdf", pdf_bytes(5)))
    dying = _StorageThatDiesAfter(saves=5, location=str(media_root))
    monkeypatch.setattr(importer, "default_storage", dying)

    with pytest.raises(SystemExit):
        importer.import_document(document.pk)

    document.refresh_from_db()
    assert document.status == Document.Status.IMPORTING  # retryable, not "failed"
    assert not document.pages.exists()
    assert stored_page_files(media_root) == []

    monkeypatch.undo()
    assert importer.import_document(document.pk).status == "imported"
    assert document.pages.count() == 5


def test_a_document_being_imported_elsewhere_is_left_alone(tmp_path):
    """The import lock is a Postgres advisory lock held by the importing worker's connection."""
    document = create(write(tmp_path / "claims.pdf", pdf_bytes(2)))
    params = connection.get_connection_params()
    other = psycopg.connect(
        host=params.get("host"), dbname=params["dbname"], user=params.get("user"), autocommit=True
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, document.pk])
        assert _advisory_lock_held(document.pk)
        result = importer.import_document(document.pk)
        assert result.status == "busy"
        assert not document.pages.exists()
    finally:
        other.close()  # a dead worker's connection: Postgres releases the lock...
    # ...once its backend has noticed (asynchronously): wait for that, with a deadline.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _advisory_lock_held(document.pk):
        time.sleep(0.02)
    assert importer.import_document(document.pk).status == "imported"


def _advisory_lock_held(document_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s",
            [LOCK_NAMESPACE, document_id],
        )
        return cursor.fetchone()[0] > 0


def test_reimport_queues_a_failed_document_and_leaves_imported_ones_alone(
    tmp_path, django_capture_on_commit_callbacks
):
    failed = create(write(tmp_path / "bad.pdf", b"nope"))
    importer.import_document(failed.pk)
    good = create(write(tmp_path / "good.pdf", pdf_bytes(1)))
    importer.import_document(good.pk)

    with django_capture_on_commit_callbacks() as callbacks:
        assert catalogue_actions.reimport_document(document_id=failed.pk) is True
        assert catalogue_actions.reimport_document(document_id=good.pk) is False

    failed.refresh_from_db()
    assert failed.status == Document.Status.PENDING and failed.error == ""
    assert len(callbacks) == 1  # one task queued, on commit


def test_creating_a_document_queues_its_import_on_commit(tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        queued = catalogue_actions.create_document_from_path(path=write(tmp_path / "a.pdf", pdf_bytes(1)))
    assert queued.created and queued.document.status == Document.Status.PENDING
    assert len(callbacks) == 1
    assert queued.document.source.storage.exists(queued.document.source.name)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_mid_document_is_redelivered_and_imports_once(tmp_path, settings):
    """For real: a Celery worker (its own process, the real Redis broker, the test database) is
    SIGKILLed while rendering; acks_late redelivers the task and the next worker process imports
    the document from scratch, with one page per PDF page and no stray files."""
    import os
    import signal
    import subprocess
    import sys
    from urllib.parse import quote

    import psutil

    media = tmp_path / "worker-media"
    settings.MEDIA_ROOT = media
    pages = 120
    document = create(write(tmp_path / "long.pdf", pdf_bytes(pages)))
    db = connection.settings_dict
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CROWD_TESTING", "TEST_REDIS_DB", "CELERY_BROKER_URL"}
    }
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{quote(db['HOST'], safe='')}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        MEMCACHED_SERVERS=",".join(settings.MEMCACHED_SERVERS),
        MEDIA_ROOT=str(media),
        DB_POOL="0",
    )
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", "1", "--pool", "prefork",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2],
        start_new_session=True,
    )  # fmt: skip
    try:
        from catalogue.tasks import import_document_task

        import_document_task.delay(document.pk)
        pages_dir = media / "pages" / str(document.pk)

        def wait_for(predicate, what: str, timeout: float = 120) -> None:
            deadline = time.monotonic() + timeout
            while not predicate():
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
                assert time.monotonic() < deadline, f"timed out waiting for {what}"
                time.sleep(0.05)

        wait_for(lambda: pages_dir.exists() and len(list(pages_dir.iterdir())) >= 10, "rendering to start")
        (child,) = psutil.Process(worker.pid).children()
        os.kill(child.pid, signal.SIGKILL)
        half_done = len(list(pages_dir.iterdir()))
        assert 10 <= half_done < pages

        def imported() -> bool:
            document.refresh_from_db()
            return document.status == Document.Status.IMPORTED

        wait_for(imported, "the redelivered import")
    finally:
        worker.terminate()  # warm shutdown; the whole process group if it does not finish
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        log.close()
    assert "WorkerLostError" in (tmp_path / "worker.log").read_text()  # the kill was seen as such
    assert document.page_count == pages
    assert list(document.pages.values_list("number", flat=True).order_by("number")) == list(
        range(1, pages + 1)
    )
    assert len(stored_page_files(media)) == 2 * pages  # the killed attempt's files are gone


def test_stalled_imports_are_queued_again_but_not_ones_a_worker_holds(tmp_path, settings):
    """A pending document whose task was lost (and an importing one no worker holds) goes back
    on the queue; a fresh one, an imported one and one being imported right now do not."""
    from django.utils import timezone

    from lib.redis_client import get_redis

    made: list[Document] = []

    def doc(name: str, status: str, age_minutes: int) -> Document:
        # Each file a different page size: different bytes, so no deduplication between them.
        document = create(write(tmp_path / name, pdf_bytes(1, sizes=[(300 + len(made), 400)])))
        made.append(document)
        Document.objects.filter(pk=document.pk).update(
            status=status, created=timezone.now() - timezone.timedelta(minutes=age_minutes)
        )
        return document

    lost = doc("lost.pdf", Document.Status.PENDING, 30)
    orphaned = doc("orphaned.pdf", Document.Status.IMPORTING, 30)
    fresh = doc("fresh.pdf", Document.Status.PENDING, 1)
    busy = doc("busy.pdf", Document.Status.IMPORTING, 30)
    doc("done.pdf", Document.Status.IMPORTED, 30)
    params = connection.get_connection_params()
    other = psycopg.connect(host=params.get("host"), dbname=params["dbname"], user=params.get("user"))
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, busy.pk])
        requeued = catalogue_actions.requeue_stalled_imports(older_than_seconds=600)
    finally:
        other.close()

    assert sorted(requeued) == sorted([lost.pk, orphaned.pk])
    # The tasks really are on the broker (the test Redis database), one per document.
    assert get_redis().llen("celery") == 2
    assert fresh.pk not in requeued

    # While tasks wait in the queue, nothing is requeued (a backlog is not a loss).
    assert catalogue_actions.requeue_stalled_imports(older_than_seconds=600) == []


def test_a_broker_outage_does_not_turn_an_upload_into_an_error(tmp_path, settings, caplog):
    """The document is committed as pending and the failure logged; the sweeper queues it later."""
    from config.celery import app

    def use_broker(url: str) -> None:
        # A real connection to a port nobody listens on; Celery caches its pools, so drop them.
        app.conf.broker_url = url
        app._pool = None
        app.amqp._producer_pool = None

    use_broker("redis://127.0.0.1:1/0")
    app.conf.broker_connection_retry = False
    app.conf.broker_connection_max_retries = 0
    try:
        with caplog.at_level("WARNING", logger="crowd.import"):
            documents._send_import_task(12345)
    finally:
        app.conf.broker_connection_retry = True
        app.conf.broker_connection_max_retries = None
        use_broker(settings.CELERY_BROKER_URL)
    assert "could not queue the import of document 12345" in caplog.text


def test_celery_beat_runs_the_stalled_import_sweeper(settings):
    from catalogue import tasks
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["imports-requeue-stalled"]
    assert entry["task"] == tasks.requeue_stalled_imports.name
    assert entry["task"] in app.tasks


def test_the_document_actions_queue_the_import_task_by_its_real_name():
    """Queued by name (the actions never import the tasks module): the name must be the task's."""
    from catalogue import tasks
    from config.celery import app

    assert tasks.import_document_task.name == documents.IMPORT_TASK
    assert documents.IMPORT_TASK in app.tasks
