"""Moderation writes: ``takedown`` (withdraw and reinstate pages and documents) and
``quarantine`` (quarantine and release reviewers) and ``embargo`` (publish a document on its
own, or embargo it again). Each goes through the denormalisation
registry so every derived copy follows at once."""
