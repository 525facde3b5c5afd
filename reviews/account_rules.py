"""What an account may be called: the username rules reviewers meet when they claim an account,
and the error every account write raises. Used by the claim form and the account actions."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model

ANON_PREFIX = "anon-"
USERNAME_MAX_LENGTH = 30
_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

# A deliberately small list: it catches the obvious, editors handle the rest in the admin.
#
# Matching is by WORD, never by substring: substrings refused "moatwatcher", "Nazia",
# "scunthorpe_reader", "torpedo" and "matsushita" (the Scunthorpe problem). A name is split into
# words at separators (. _ -), at digit runs and at camelCase humps; each word is read with
# digits-for-letters undone ("sh1t") and stretched letters squeezed ("shiiit"), and so is the
# whole name without separators ("f.u.c.k"). A word is offensive when it IS one of these, or one
# of these plus a common ending ("bitches", "sh1thead") or after a common prefix ("bullshit").
OFFENSIVE_WORDS = frozenset(
    {
        "fuck",
        "shit",
        "cunt",
        "bitch",
        "bastard",
        "twat",
        "nazi",
        "hitler",
        "nigger",
        "nigga",
        "faggot",
        "retard",
        "whore",
        "slut",
        "pedo",
        "paedo",
        "pedophile",
        "paedophile",
        "wanker",
        "dickhead",
    }
)
# Endings and prefixes that make an offensive word a compound, still offensive. Kept short on
# purpose: "torpedo" (tor+pedo), "Dikshit" (a surname) and "Twatt" (a place) must pass.
OFFENSIVE_ENDINGS = (
    *("s", "es", "er", "ers", "ter", "ed", "ing", "y", "ty"),
    *("head", "heads", "face", "bag", "hole", "lord", "lover", "fan"),
)
OFFENSIVE_PREFIXES = (
    "bull",
    "horse",
    "dog",
    "chicken",
    "holy",
    "big",
    "mother",
    "dumb",
    "fat",
    "lil",
    "the",
    "ur",
)
# Offensive anywhere in a name: no real word, name or place contains these ("snigger" holds one
# that is not here).
OFFENSIVE_ANYWHERE = ("fuck", "motherf", "faggot")

# Names that would look official to other readers, compared after normalising (see
# :func:`username_forms`): "Admin", "adm1n", "admin1", "moderator.", "the-editor" are all refused.
RESERVED_USERNAMES = frozenset(
    {
        "admin",
        "admins",
        "administrator",
        "administrators",
        "staff",
        "editor",
        "editors",
        "editorinchief",
        "theeditor",
        "theeditors",
        "moderator",
        "moderators",
        "mod",
        "mods",
        "root",
        "superuser",
        "sysop",
        "support",
        "helpdesk",
        "official",
        "webmaster",
        "guardian",
        "newsroom",
        "crowdreview",
        "system",
        "security",
        "anonymous",
    }
)
# Role words refused as any word of a name too: "support-team", "official_editor", "admin.bob".
RESERVED_WORDS = frozenset(
    {"admin", "administrator", "editor", "moderator", "superuser", "sysop", "staff", "support", "official"}
)
# Looks like an anonymous reviewer: anon-5, anon_5, an0n-5, ANON.05, anon5, anon.
_ANON_LOOKALIKE_RE = re.compile(r"^[a4]n[o0]n[^a-z0-9]*[0-9]*$")
_SEPARATORS_RE = re.compile(r"[._-]+")
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")
_LETTER_RUNS_RE = re.compile(r"[a-z]+")
_STRETCHED_RE = re.compile(r"(.)\1{2,}")
_LEET_I = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"})
_LEET_L = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"})


class AccountError(ValueError):
    """Bad input for an account action: the message is safe to show."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def check_username(username: str, *, current_user_id: int | None = None) -> str:
    """The cleaned username, or AccountError saying clearly why it cannot be used."""
    username = (username or "").strip()
    if not username:
        raise AccountError("Choose a username.", code="required")
    if len(username) > USERNAME_MAX_LENGTH:
        raise AccountError(
            f"Usernames can be at most {USERNAME_MAX_LENGTH} characters long.", code="too_long"
        )
    if not _USERNAME_RE.match(username):
        raise AccountError(
            "Usernames may contain only letters, digits, dots, hyphens and underscores, "
            "and must start with a letter or digit.",
            code="invalid",
        )
    lowered = username.lower()
    if lowered.startswith(ANON_PREFIX):
        raise AccountError(
            f"Usernames starting with “{ANON_PREFIX}” are kept for anonymous reviewers.", code="anon_prefix"
        )
    if looks_anonymous(username):
        raise AccountError(
            f"That username looks like an anonymous reviewer's ({ANON_PREFIX}<number>). Please choose another.",
            code="anon_lookalike",
        )
    if is_reserved(username):
        raise AccountError("That username is reserved. Please choose another.", code="reserved")
    if is_offensive(username):
        raise AccountError("That username looks offensive. Please choose another.", code="offensive")
    taken = get_user_model().objects.filter(username__iexact=username)
    if current_user_id is not None:
        taken = taken.exclude(pk=current_user_id)
    if taken.exists():
        raise AccountError("That username is already taken. Please choose another.", code="taken")
    return username


# --- Normalising names ------------------------------------------------------------------------


def _unstretched(text: str) -> set[str]:
    """``text`` and, when it has a letter three or more times in a row, that run cut to one and
    to two letters ("shiiit" -> "shit", "faggggot" -> "faggot")."""
    return {text, _STRETCHED_RE.sub(r"\1", text), _STRETCHED_RE.sub(r"\1\1", text)}


def _readings(piece: str) -> set[str]:
    """The ways ``piece`` (lower case, no separators) may be read: as written, with its digits
    read as letters ("sh1t", "adm1n"; a 1 as i or as l), and with digits dropped ("nazi88",
    "admin1"). Only letters remain in each reading."""
    readings = set()
    for text in (piece, piece.translate(_LEET_I), piece.translate(_LEET_L)):
        # Digits left (unmapped, or as written) separate words: "nazi88" reads "nazi".
        readings.update(_LETTER_RUNS_RE.findall(text))
        readings.add(re.sub(r"[^a-z]", "", text))
    readings.discard("")
    return {variant for reading in readings for variant in _unstretched(reading)}


def username_words(username: str) -> set[str]:
    """Every word of a name, read every way (:func:`_readings`): split at separators, digits and
    camelCase humps, surrounding punctuation and case ignored."""
    spaced = _CAMEL_RE.sub(".", (username or "").strip().strip("._-"))
    words = set()
    for piece in _SEPARATORS_RE.split(spaced.lower()):
        if piece:
            words.update(_readings(piece))
    return words


def username_forms(username: str) -> set[str]:
    """The whole name read every way with separators, case and surrounding punctuation ignored:
    "The-Editor" -> "theeditor", "adm1n" -> "admin", "admin1" -> "admin", "f.u.c.k" -> "fuck"."""
    squashed = _SEPARATORS_RE.sub("", (username or "").strip().strip("._-").lower())
    return _readings(squashed) | _readings(squashed.strip("0123456789"))


def looks_anonymous(username: str) -> bool:
    """True for names an anonymous reviewer has or could be mistaken for: anon_5, an0n-5, anon5."""
    return bool(_ANON_LOOKALIKE_RE.match((username or "").strip().strip("._-").lower()))


def is_reserved(username: str) -> bool:
    """True for names that would pass for the site's own people: admin1, adm1n, the-editor,
    editor-in-chief, moderator., superuser, support, official, staff (and any name with one of
    the role words of ``RESERVED_WORDS`` as a word of it)."""
    return bool(username_forms(username) & RESERVED_USERNAMES or username_words(username) & RESERVED_WORDS)


def _offensive_word(word: str) -> bool:
    if word in OFFENSIVE_WORDS or any(bad in word for bad in OFFENSIVE_ANYWHERE):
        return True
    for bad in OFFENSIVE_WORDS:
        if word.startswith(bad) and word[len(bad) :] in OFFENSIVE_ENDINGS:
            return True
        for prefix in OFFENSIVE_PREFIXES:
            if word.startswith(prefix + bad):
                rest = word[len(prefix) + len(bad) :]
                if rest == "" or rest in OFFENSIVE_ENDINGS:
                    return True
    return False


def is_offensive(username: str) -> bool:
    """True when a word of the name, or the whole name without separators, is offensive (see
    ``OFFENSIVE_WORDS``). Whole words only: "Scunthorpe", "Nazia", "torpedo" pass."""
    return any(_offensive_word(word) for word in username_words(username) | username_forms(username))
