"""Full-page cache for anonymous readers (see ``pagecache.middleware`` and docs/caching.md)."""
