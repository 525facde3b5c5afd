from django.apps import AppConfig


class ConsensusConfig(AppConfig):
    """How sure the crowd is: reviewers' reliability (one-coin model, ``consensus.model``),
    known-answer (gold) pages, and the confidence of each page's tags (``PageTag.confidence``).

    Its own app rather than part of ``contributors``: it reads every review and writes the
    confidence that listings, exports and the API show, while contributors is about credit
    (leaderboards, discoveries); the model's state and its scheduled re-estimation belong
    together, above the reviewing layer."""

    name = "consensus"
    verbose_name = "Consensus"
