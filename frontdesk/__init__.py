"""The site: the pages that combine several apps (the home page, the review screen, the account
pages around it), at the top of the layer order (docs/architecture.md). Not called ``site``: a
package of that name would shadow Python's own ``site`` module, which the interpreter imports at
start-up."""
