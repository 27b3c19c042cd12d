"""Page sizes and page tokens: opaque, tamper-evident, bound to their filters."""

import pytest

from services.common.errors import InvalidArgument
from services.common.pagination import PageTokens, page_size

FILTERS = {"host": "alice", "statuses": [1, 2]}


@pytest.mark.parametrize(("asked", "got"), [(0, 50), (1, 1), (100, 100), (101, 100), (10**6, 100)])
def test_page_size_defaults_and_caps(asked, got):
    assert page_size(asked) == got


def test_negative_page_size_is_invalid():
    with pytest.raises(InvalidArgument) as e:
        page_size(-1)
    assert e.value.violations[0][0] == "page_size"


def test_a_token_round_trips_its_position():
    tokens = PageTokens("secret")
    token = tokens.encode(FILTERS, ["2026-01-01T00:00:00+00:00", "room-1"])
    assert tokens.decode(token, dict(FILTERS)) == ["2026-01-01T00:00:00+00:00", "room-1"]
    assert tokens.decode("", FILTERS) is None


def test_a_token_used_with_other_filters_is_refused():
    tokens = PageTokens("secret")
    token = tokens.encode(FILTERS, [1])
    with pytest.raises(InvalidArgument):
        tokens.decode(token, {**FILTERS, "host": "bob"})


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: "x" + t,  # payload changed
        lambda t: t.split(".")[0],  # signature dropped
        lambda t: "not a token",
        lambda t: "....",
        lambda t: "%%%.%%%",
    ],
)
def test_forged_or_tampered_tokens_are_refused(mangle):
    tokens = PageTokens("secret")
    token = tokens.encode(FILTERS, [1])
    with pytest.raises(InvalidArgument) as e:
        tokens.decode(mangle(token), FILTERS)
    assert e.value.violations[0][0] == "page_token"


def test_a_token_signed_with_another_secret_is_refused():
    token = PageTokens("other").encode(FILTERS, [1])
    with pytest.raises(InvalidArgument):
        PageTokens("secret").decode(token, FILTERS)


B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_a_token_with_any_one_character_changed_is_refused():
    tokens = PageTokens("secret")
    token = tokens.encode(FILTERS, ["2026-01-01T00:00:00+00:00", "room-1"])
    accepted = []
    for i, char in enumerate(token):
        other = "A" if char == "." else B64URL[B64URL.index(char) ^ 1]  # one bit flipped
        edited = token[:i] + other + token[i + 1 :]
        try:
            tokens.decode(edited, FILTERS)
            accepted.append(edited)
        except InvalidArgument:
            pass
    assert accepted == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t + "=",  # padding base64 decoding overlooks
        lambda t: t + "!!!!",  # characters outside base64url, which decoding skips
        lambda t: t[:4] + "****" + t[4:],
        lambda t: t.replace(".", "..", 1),
    ],
)
def test_a_token_edited_where_base64_decoding_does_not_look_is_refused(edit):
    tokens = PageTokens("secret")
    token = tokens.encode(FILTERS, [1])
    with pytest.raises(InvalidArgument):
        tokens.decode(edit(token), FILTERS)
