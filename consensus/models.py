"""The model's state: reviewers' skill per tag, each tag's prevalence, and editors' gold answers.

``Reliability`` and ``TagPrevalence`` are the output of the scheduled re-estimation
(``consensus.actions.reestimate``), the model's parameters rather than a copy of Postgres data:
the copy that is derived from them and from the reviews, ``reviews_pagetag.confidence``, is the
registered denormalisation (``consensus/denormalisations.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class GoldAnswer(models.Model):
    """A known-answer page: the tag set editors say is correct (possibly empty: "nothing of
    note"). Reviews of it train reviewers' reliability and count for nothing else."""

    page = models.OneToOneField("catalogue.Page", on_delete=models.CASCADE, related_name="gold_answer")
    tags = models.ManyToManyField("catalogue.Tag", blank=True, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"gold answer for {self.page}"


class Reliability(models.Model):
    """One reviewer's estimated accuracy for one tag (``consensus.model.Skill``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey("catalogue.Tag", on_delete=models.CASCADE, related_name="+")
    accuracy = models.FloatField()
    weight = models.FloatField()
    gold_correct = models.PositiveIntegerField(default=0)
    gold_total = models.PositiveIntegerField(default=0)
    expected_correct = models.FloatField(default=0.0)
    votes = models.PositiveIntegerField(default=0)
    updated = models.DateTimeField()

    class Meta:
        verbose_name_plural = "reliabilities"  # the admin's index said "Reliabilitys"
        constraints = [models.UniqueConstraint(fields=["user", "tag"], name="reliability_user_tag")]
        indexes = [models.Index(fields=["weight"], name="reliability_weight_idx")]

    def __str__(self) -> str:
        return f"{self.user} on {self.tag}: {self.accuracy:.2f}"


class TagPrevalence(models.Model):
    """How common a tag is among ordinary pages: the prior odds of every page's confidence."""

    tag = models.OneToOneField("catalogue.Tag", on_delete=models.CASCADE, related_name="+")
    prevalence = models.FloatField()
    updated = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.tag}: {self.prevalence:.3f}"


class EstimationRun(models.Model):
    """One run of the full re-estimation: when, over how much, how long (``/staff/`` and the
    bench read it)."""

    started = models.DateTimeField()
    seconds = models.FloatField()
    reviews = models.PositiveIntegerField()
    reviewers = models.PositiveIntegerField()
    tags = models.PositiveIntegerField()

    class Meta:
        ordering = ["-started"]

    def __str__(self) -> str:
        return f"estimation at {self.started:%Y-%m-%d %H:%M}"


class PublicRow(models.Model):
    """The change sequence behind incremental exports (``?since=``): one row per page+tag that is
    or was in the public export, with the values the export gave for it and its place (``seq``)
    in one ordered sequence of changes. A new public row, a change of its count, reviews,
    agreement, confidence or first-tagged time, and its leaving the public export (a tombstone,
    ``public`` false) each take the next ``seq``.

    A copy (registry entry ``public-row-changes``), written only by
    ``consensus.actions.sync_public_rows`` under one advisory lock, so that seqs are allocated in
    commit order: a reader's cursor never passes a change still to commit. Plain ids, not
    foreign keys: a deleted page or tag leaves its tombstone."""

    page_id = models.BigIntegerField()
    tag_id = models.BigIntegerField()
    tag = models.CharField(max_length=60)
    count = models.PositiveIntegerField(default=0)
    reviews = models.PositiveIntegerField(default=0)
    confidence = models.FloatField(null=True, blank=True)
    first_tagged_at = models.DateTimeField(null=True, blank=True)
    public = models.BooleanField(default=True)
    seq = models.BigIntegerField(unique=True)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["page_id", "tag_id"], name="publicrow_page_tag")]

    def __str__(self) -> str:
        return f"{self.page_id} #{self.tag} @{self.seq}"
