"""Moderation writes: ``takedown`` (withdraw and reinstate pages and documents) and
``quarantine`` (quarantine and release reviewers). Each goes through the denormalisation
registry so every derived copy follows at once."""
