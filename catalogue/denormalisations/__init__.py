"""Helpers shared by the denormalisations of several apps (``_common``: chunks of ids, raw reads,
counter drift). The catalogue's own copies are declared where their rule lives
(``reviews/denormalisations/``, ``assignments/denormalisations/``)."""
