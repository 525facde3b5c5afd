"""Every Redis and memcached key of the project, one function per data set.

Keys are namespaced and versioned (bump ``VERSION`` to abandon a family wholesale) and use
Redis Cluster hash tags (``{a:17}``) so that every key a single command touches (for example
``SDIFFSTORE todo needed done``) lives in one slot.
"""

import hashlib

NAMESPACE = "crowd"
VERSION = "v1"
_P = f"{NAMESPACE}:{VERSION}"


# Page-id sets by owner.
def document_pages(document_id: int) -> str:
    return f"{_P}:{{d:{document_id}}}:pages"


def member_pages(member_id: int) -> str:
    return f"{_P}:{{m:{member_id}}}:pages"


def party_pages(party_id: int) -> str:
    return f"{_P}:{{p:{party_id}}}:pages"


# Per assignment: pages it needs, pages at threshold, and needed minus done.
def assignment_needed(assignment_id: int) -> str:
    return f"{_P}:{{a:{assignment_id}}}:needed"


def assignment_done(assignment_id: int) -> str:
    return f"{_P}:{{a:{assignment_id}}}:done"


def assignment_todo(assignment_id: int) -> str:
    return f"{_P}:{{a:{assignment_id}}}:todo"


def assignment_todo_rank(assignment_id: int) -> str:
    """Sorted set mirroring the to-do set, for drawing by random rank (Redis samples a
    hashtable-encoded set unevenly, while ZRANGE by rank is exact). Each score encodes the
    page's free places (reviews still needed minus live reservations) and priority: see
    ``assignments/picker/tiers.lua``."""
    return f"{_P}:{{a:{assignment_id}}}:todo-rank"


def active_assignments() -> str:
    """Set of the ids of the active assignments: the picker copies each claim into the others'
    reservations, since assignments may share pages."""
    return f"{_P}:{{active}}:assignments"


def assignment_holds(assignment_id: int) -> str:
    """The picker's reservations: sorted set "<page id>:<holder>" -> expiry (microseconds)."""
    return f"{_P}:{{a:{assignment_id}}}:holds"


def assignment_hold_counts(assignment_id: int) -> str:
    """Hash page id -> how many live reservations the page has in the assignment."""
    return f"{_P}:{{a:{assignment_id}}}:hold-counts"


def assignment_holders(assignment_id: int) -> str:
    """Hash holder -> the page id that holder holds in the assignment (one page per holder)."""
    return f"{_P}:{{a:{assignment_id}}}:holders"


def assignment_hold_addresses(assignment_id: int) -> str:
    """Hash "<page id>:<holder>" -> the client address (or /64) a reservation counts against."""
    return f"{_P}:{{a:{assignment_id}}}:hold-addr"


def assignment_address_holds(assignment_id: int) -> str:
    """Hash client address -> its live reservations in the assignment
    (``PICKER_MAX_HOLDS_PER_ADDRESS``)."""
    return f"{_P}:{{a:{assignment_id}}}:addr-holds"


def assignment_soft_holds(assignment_id: int) -> str:
    """Sorted set of the soft reservations ("<page id>:<holder>") -> expiry: following pages
    held for a prefetch, and pages handed out whose review screen was not loaded yet. A
    reviewer with nothing on screen may take them over when no page has a free place."""
    return f"{_P}:{{a:{assignment_id}}}:soft-holds"


def assignment_priority(assignment_id: int) -> str:
    """Set of the assignment's priority page ids (``assignments.PriorityPage``)."""
    return f"{_P}:{{a:{assignment_id}}}:priority"


# Per reviewer: pages reviewed or skipped ("never the same page twice").
def reviewer_seen(user_id: int) -> str:
    return f"{_P}:{{u:{user_id}}}:seen"


# Leaderboards (contributors/leaderboards.py): one sorted set per board, user id -> reviews.
def leaderboard(kind: str, owner_id: int | None = None) -> str:
    """Sorted set user id -> review count of one board: ``all`` (every review), or ``a``
    (reviews made in assignment ``owner_id``), ``m`` (of a member's pages), ``p`` (of a party's)."""
    tag = "lb:all" if kind == "all" else f"lb:{kind}:{owner_id}"
    return f"{_P}:{{{tag}}}:reviewers"


# The 48-hour window (contributors/recent.py): every key in the one ``{recent}`` slot, so the
# read script may sum the hourly buckets into the window in one command.
def recent_reviewers_hour(hour: int) -> str:
    """Sorted set user id -> reviews made during one hour (hours since the epoch)."""
    return f"{_P}:{{recent}}:reviewers:h:{hour}"


def recent_reviewers_window(hour: int) -> str:
    """Sorted set: the sum of the 48 hourly buckets ending with ``hour``, kept current by the
    write script while that hour lasts (expires at its end)."""
    return f"{_P}:{{recent}}:reviewers:w:{hour}"


def built_marker(family: str) -> str:
    """Set when a family of keys has been fully built; its absence means Redis lost the data."""
    return f"{_P}:built:{family}"


def rebuild_lock(family: str) -> str:
    return f"{_P}:lock:rebuild:{family}"


def check_lock() -> str:
    """Held while a periodic check-and-repair runs: two runs never overlap."""
    return f"{_P}:lock:check-denormalisations"


# memcached
def assignment_pool(assignment_id: int) -> str:
    """memcached: up to PICKER_POOL_SIZE to-do page ids of an assignment (the Redis-down pool)."""
    return f"{_P}:pool:a:{assignment_id}"


def assignment_pool_filled(assignment_id: int) -> str:
    """memcached: when the assignment's pool was last filled (Unix seconds), beside the pool."""
    return f"{_P}:pool:a:{assignment_id}:filled"


# Rate limits (lib/ratelimit.py): sliding windows, two fixed-window counters per identity.
def rate_limit(scope: str, ident: str, window_seconds: int, index: int) -> str:
    """Redis counter of hits by one identity (address, session digest, username) in the
    ``index``-th window of ``window_seconds``. The identity is digested (a username may hold any
    character, a braces included); a window's two counters share the hash tag (one slot)."""
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"{_P}:rl:{{{scope}:{window_seconds}:{digest}}}:{index}"


# Anonymous accounts (reviews/sessions.py): which account a browser's first write created.
def anonymous_first_write(nonce: str) -> str:
    """Redis: "pending:<token>" while a first write runs, then the new account's user id.

    Keyed by a digest of the random part of the review form's signed first-write token (never
    by a cookie; see reviews.sessions).
    """
    digest = hashlib.sha256(nonce.encode()).hexdigest()
    return f"{_P}:anon:{digest}"


# Login throttling (lib/login_throttle.py): failures and lock of one account or address.
def login_failures(scope: str, ident: str) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"{_P}:login:{{{scope}:{digest}}}:failures"


def login_lock(scope: str, ident: str) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"{_P}:login:{{{scope}:{digest}}}:lock"


def login_alert(account: str) -> str:
    """Redis: set while a staff account's failed-login email of this window has been sent."""
    digest = hashlib.sha256(account.encode()).hexdigest()[:32]
    return f"{_P}:login:{{account:{digest}}}:alerted"


# Full-page cache (pagecache/): memcached, through Django's default cache (so the final key
# carries the cache's KEY_PREFIX and version: "<prefix>:1:<key>").
def page_generation(name: str) -> str:
    """memcached integer: the generation of one thing pages show ("assignments", "tag:<slug>",
    "page:<id>", ...). Cached pages carry it in their key; a write that changes the thing
    increments it. Created from the clock when missing, so it never goes back."""
    return f"{_P}:pagegen:{name}"


def cached_page(digest: str) -> str:
    """memcached: one cached response, by a digest of scheme, host, path+query and the generations."""
    return f"{_P}:page:{digest}"


def nginx_page(where: str) -> str:
    """memcached: a cached page's body for nginx's memcached module, by scheme, Host header and
    raw request URI (deploy/nginx.conf.template builds the same key:
    "<KEY_PREFIX>:1:crowd:v1:nginx:$scheme://$http_host$request_uri")."""
    return f"{_P}:nginx:{where}"


def nginx_media(uri: str) -> str:
    """memcached: present while the media gate's answer for this image URI is "public", for
    nginx's ``auth_request`` (pagecache.media; deploy/nginx.conf.template builds the same key:
    "<KEY_PREFIX>:1:crowd:v1:nginx-media:$request_uri")."""
    return f"{_P}:nginx-media:{uri}"


def nginx_page_index(generation: str, bucket: int) -> str:
    """memcached: newline-separated nginx_page keys stored during one time bucket that show
    ``generation``: deleted when the generation is bumped."""
    return f"{_P}:nginx-index:{generation}:{bucket}"


# Consensus (issue 25): pages reviewed since their confidence was last re-derived, a queue the
# ``consensus.tasks.refresh_reviewed_pages`` beat task drains (set: a page reviewed twice waits once).
def consensus_reviewed_pages() -> str:
    return f"{_P}:{{consensus}}:reviewed-pages"
