"""API shapes. Never exposed: a document's source PDF (path or hash) and anything about a
reviewer beyond their public username."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assignments.models import Assignment
from reviews.models import Document, Member, Page, Party, Tag


class PartySerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Party
        fields = ["id", "name", "slug", "url"]


class MemberSerializer(serializers.ModelSerializer):
    party = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)  # no party
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Member
        fields = ["id", "name", "slug", "party", "constituency", "url"]


class DocumentSerializer(serializers.ModelSerializer):
    member = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)  # no member
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    page_count = serializers.SerializerMethodField()

    def get_page_count(self, document: Document) -> int:
        # Pages the viewer may see: the public's count leaves withdrawn pages out (the view
        # annotates it); staff see every page.
        return getattr(document, "public_page_count", document.page_count)

    class Meta:
        model = Document
        fields = ["id", "title", "member", "page_count", "status", "created", "url"]


class TagSerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Tag
        fields = ["slug", "name", "description", "order", "highlights", "url"]


class AssignmentSerializer(serializers.ModelSerializer):
    progress_percent = serializers.FloatField(read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Assignment
        fields = [
            "slug",
            "title",
            "description",
            "threshold",
            "page_count",
            "completed_count",
            "progress_percent",
            "featured",
            "url",
        ]


class TagCountSerializer(serializers.Serializer):
    tag = serializers.CharField()
    count = serializers.IntegerField()
    confidence = serializers.FloatField(allow_null=True, help_text="posterior that the tag applies (0-1)")


class PageSerializer(serializers.ModelSerializer):
    """A page; ``tags`` is null until the viewer may see them (see ``tags_visible``): staff always,
    everyone else once the page has as many reviews as the lowest threshold of the open
    assignments containing it, or one of them retired it early (the crowd is confident)."""

    document = serializers.PrimaryKeyRelatedField(read_only=True)
    image = serializers.ImageField(read_only=True, use_url=True)
    thumbnail = serializers.ImageField(read_only=True, use_url=True)
    tags_visible = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Page
        fields = [
            "id",
            "document",
            "number",
            "image",
            "thumbnail",
            "width",
            "height",
            "review_count",
            "tags_visible",
            "tags",
            "url",
        ]

    def _visible(self, page: Page) -> bool:
        # page.public_threshold and page.public_retired are annotated by the view
        # (``reviews.selectors.with_public_threshold``): the rule of /pages/<id>/.
        viewer = self.context["viewer"]
        return viewer.is_staff or page.review_count >= page.public_threshold or page.public_retired

    def get_tags_visible(self, page: Page) -> bool:
        return self._visible(page)

    @extend_schema_field(TagCountSerializer(many=True, allow_null=True))
    def get_tags(self, page: Page) -> list[dict] | None:
        if not self._visible(page):
            return None
        # page.visible_tags is prefetched by the view (active tags with a count, one query).
        return [
            {"tag": pt.tag.slug, "count": pt.count, "confidence": pt.confidence} for pt in page.visible_tags
        ]


class ListingPageSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    document = serializers.IntegerField(source="document_id")
    document_title = serializers.CharField(source="document.title")
    number = serializers.IntegerField()
    thumbnail = serializers.ImageField(use_url=True)
    url = serializers.CharField(source="get_absolute_url")


class ListingRowSerializer(serializers.Serializer):
    page = ListingPageSerializer()
    member = serializers.SerializerMethodField()
    tag = serializers.CharField(source="tag.slug")
    count = serializers.IntegerField()
    reviews = serializers.IntegerField()
    agreement = serializers.FloatField()
    confidence = serializers.FloatField(
        allow_null=True,
        help_text="How sure the crowd is that the tag applies (0-1): the posterior probability, "
        "each reviewer weighted by their reliability (learnt from known-answer pages and agreement).",
    )
    at = serializers.DateTimeField(
        help_text="In-order position: for the public, when the page with the tag became publicly "
        "visible (it reached the public threshold); for staff, when it first got the tag (user "
        "listings: when they tagged it, or later if the page was not public yet)."
    )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_member(self, row) -> str | None:
        member = row.page.document.member
        return member.slug if member else None


class ListingSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="URL of the next page of rows, or null.")
    results = ListingRowSerializer(many=True)
