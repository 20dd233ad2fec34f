"""Which names hold secrets: headers, query parameters, JSON fields, flags and environment variables.

capture/redact.py redacts by these rules; they are kept here, apart from how redaction is done, so
the rules can be read (and argued about) in one place. Pure functions over names and values.

This module knows nothing about records, files, sockets or clients.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from urllib.parse import unquote_plus, urlsplit

MIN_REMEMBERED_SECRET = 8  # shorter values would scrub ordinary words out of every line

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "x-goog-api-key",
        "api-key",
        "cookie",
        "set-cookie",
        # Qoder (Alibaba's "cosy" protocol) signs each request: the signature, and the user and
        # machine it signs for, identify the account. Its cosy-key and cosy-machinetoken are secret
        # by their names; cosy-version, cosy-date and the like stay readable.
        "cosy-signature",
        "cosy-user",
        "cosy-machineid",
    }
)
_SECRET_HEADER_PARTS = ("token", "secret", "key", "auth", "session", "cookie")
_HEADER_WORDS_NOT_SECRET = frozenset({"tokens", ":authority", "authority"})
# Headers whose value is a URL, which may carry an OAuth code or token in its query or fragment.
URL_HEADERS = frozenset({"location", "content-location", "refresh", "referer"})

# Names compared after `_normalize` (lower case, letters and digits only), so api_key, apiKey,
# x-api-key and X_API_KEY all meet the same entry.
_SECRET_QUERY_NAMES = frozenset(
    {
        "key",
        "apikey",
        "xapikey",
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "authtoken",
        "secret",
        "clientsecret",
        "password",
        "passwd",
        "pwd",
        "sig",
        "signature",
        "xamzsignature",
        "xamzsecuritytoken",
        "xamzcredential",
        "xgoogsignature",
        "xgoogcredential",
        "auth",
        "authorization",
        "code",
        "session",
        "sessionid",
        "sessiontoken",
        "jwt",
        "assertion",
    }
)
_SECRET_FIELD_NAMES = frozenset(
    {
        "apikey",
        "xapikey",
        "xgoogapikey",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "clientsecret",
        "password",
        "passwd",
        "secret",
        "token",
        "authorization",
        "proxyauthorization",
        "privatekey",
        "sessiontoken",
        "bearertoken",
        "authtoken",
        "apitoken",
        "secretkey",
        "secretaccesskey",
        "accesskeyid",
        "cookie",
        "setcookie",
        "credential",
        "credentials",
    }
)
_SECRET_FLAG_NAMES = frozenset({"key", "auth", "pass", "pat"})
# A field or flag whose normalized name ends like this is a secret too (anthropicApiKey,
# openai_api_key, githubToken). "tokens" is a count (max_tokens, input_tokens), so plain
# "token" endings are only accepted as the whole name above or with a qualifying prefix here.
_SECRET_NAME_SUFFIXES = (
    "apikey",
    "secret",
    "password",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "authtoken",
    "apitoken",
    "bearertoken",
    "sessiontoken",
    "privatekey",
    "secretkey",
)
# Environment-style names (ANTHROPIC_API_KEY, GH_TOKEN, AWS_SECRET_ACCESS_KEY, ANTHROPIC_AUTH_TOKEN):
# one `_`-separated word of the name is one of these, or the name contains one of the substrings.
# Whole words only for AUTH and KEY, so GIT_AUTHOR_NAME and KEYBOARD_LAYOUT stay readable.
_ENV_SECRET_WORDS = frozenset(
    {"KEY", "APIKEY", "AUTH", "AUTHORIZATION", "CREDENTIAL", "CREDENTIALS", "CREDS", "PAT", "COOKIE", "PASS"}
)
# TOKEN not followed by a letter: CLAUDE_CODE_MAX_OUTPUT_TOKENS is a count, TOKENIZERS a library.
_ENV_SECRET_SUBSTRING_RE = re.compile(r"TOKEN(?![A-Z])|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY")
# Names that match the rules above but hold no secret: the ssh agent's socket.
_ENV_NOT_SECRET = frozenset({"SSH_AUTH_SOCK"})


def _normalize(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


# The predicates below are pure and asked about the same few hundred names on every record: cached.
@functools.lru_cache(maxsize=4096)
def is_secret_header(name: str) -> bool:
    """A header whose name is a known secret header or has a word containing token/secret/key/...

    Words are split on `-` and `_`; the word "tokens" is a count, not a credential
    (`anthropic-ratelimit-input-tokens-remaining`), and ":authority" is a host name.
    """
    lowered = name.lower()
    if lowered in SECRET_HEADERS:
        return True
    for word in re.split(r"[-_]", lowered):
        if word in _HEADER_WORDS_NOT_SECRET:
            continue
        if any(part in word for part in _SECRET_HEADER_PARTS):
            return True
    return False


@functools.lru_cache(maxsize=4096)
def is_session_id_header(name: str) -> bool:
    """A header that is secret only by the word "session" (session-id, x-session-id): an identifier.
    A name that also says token/secret/key/auth/cookie (x-session-token) is a credential."""
    lowered = name.lower()
    if lowered in SECRET_HEADERS:
        return False
    words = [w for w in re.split(r"[-_]", lowered) if w not in _HEADER_WORDS_NOT_SECRET]
    secret_words = [w for w in words if any(part in w for part in _SECRET_HEADER_PARTS)]
    return bool(secret_words) and all(
        not any(part in w for part in _SECRET_HEADER_PARTS if part != "session") for w in secret_words
    )


def is_secret_query_name(name: str) -> bool:
    normalized = _normalize(unquote_plus(name))
    return normalized in _SECRET_QUERY_NAMES or normalized.endswith(_SECRET_NAME_SUFFIXES)


def is_secret_env_name(name: str) -> bool:
    upper = name.upper()
    if upper in _ENV_NOT_SECRET:
        return False
    words = upper.split("_")
    return any(word in _ENV_SECRET_WORDS for word in words) or bool(_ENV_SECRET_SUBSTRING_RE.search(upper))


@functools.lru_cache(maxsize=4096)
def is_secret_field_name(name: str) -> bool:
    """A JSON field or command-line flag name that holds a secret (never a token count)."""
    normalized = _normalize(name)
    if normalized in _SECRET_FIELD_NAMES or normalized.endswith(_SECRET_NAME_SUFFIXES):
        return True
    # UPPER_SNAKE names are environment variables (settings files pass them as {"env": {...}}).
    return name.isupper() and "_" in name and is_secret_env_name(name)


def is_secret_flag_name(name: str) -> bool:
    """A command-line flag (without dashes) whose value is a secret: --api-key, --token, --key."""
    return _normalize(name) in _SECRET_FLAG_NAMES or is_secret_field_name(name)


def secrets_from_env(env: Mapping[str, str]) -> list[str]:
    """Values of environment variables whose names look secret, 8 characters or longer.

    Absolute paths are skipped: `GOOGLE_APPLICATION_CREDENTIALS=/home/me/key.json` names a file,
    and scrubbing the path out of every record would only hide where the agent worked. The password
    of a URL in any variable is a secret too, whatever the variable's name.
    """
    found = []
    for name, value in env.items():
        password = url_password(value) if "://" in value else None
        if password:  # DATABASE_URL=postgres://user:PASSWORD@host/db: the name says nothing
            found.append(password)
        if len(value) < MIN_REMEMBERED_SECRET or value.startswith("/"):
            continue
        if is_secret_env_name(name):
            found.append(value)
    return found


def url_password(url: str) -> str | None:
    """The password in a URL's user info (`scheme://user:PASSWORD@host`), or None."""
    try:
        return urlsplit(url.strip()).password or None
    except ValueError:
        return None
