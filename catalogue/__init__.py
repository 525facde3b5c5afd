"""The catalogue: parties, members, documents, pages and tags, and the import of documents
(docs/architecture.md, layer 3). The reviewing (``reviews``) and everything above build on it."""
