from django.apps import AppConfig


class ContributorsConfig(AppConfig):
    """Credit for reviewers and finds: leaderboards, the 48-hour table, profiles' buckets,
    discoveries on public pages and the editors' triage inbox."""

    name = "contributors"
    verbose_name = "Contributors"
