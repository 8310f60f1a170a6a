"""Caller-id names: the placeholders carriers and PBXs send instead of a name are no name."""

from hypothesis import given, strategies as st
import pytest

from aioswitchvox import Remote, caller_id_name


@pytest.mark.parametrize(
    "name",
    [
        "Unknown",
        "UNKNOWN",
        "unknown caller",
        "Unavailable",
        "Anonymous",
        "anonymous",
        "Private",
        "PRIVATE NUMBER",
        "Restricted",
        "WIRELESS CALLER",
        "CELL PHONE   CA",
        "Cell Phone NY",
        "CELL PHONE",
        "<unknown>",
        '"Anonymous"',
        "O",
        "P",
        "Out of area",
        "Toll Free",
        "asterisk",
        "2125550142",
        "+1 (212) 555-0142",
        "212.555.0142",
        "---",
    ],
)
def test_placeholders_are_no_name(name: str) -> None:
    """What a carrier or PBX sends when it has no name is no name."""
    assert caller_id_name(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "Maria Gonzalez",
        "Bob",
        "Unknown Pleasures Records",
        "Privat GmbH",
        "O'Brien",
        "Ms P",
        "Dr. No",
    ],
)
def test_names_are_kept(name: str) -> None:
    """A name, even one sharing a word with a placeholder, is shown as sent."""
    assert caller_id_name(name) == name


@given(st.from_regex(r"\+?[0-9][0-9 ().\-]{0,20}", fullmatch=True))
def test_a_number_is_no_name(number: str) -> None:
    """Any number, however formatted (the caller's own repeated), is no name."""
    assert caller_id_name(number) is None


@given(
    st.sampled_from(["unknown", "anonymous", "private", "restricted", "wireless caller"]),
    st.lists(st.sampled_from([" ", "  ", "\t"]), min_size=1, max_size=3),
    st.booleans(),
)
def test_placeholder_case_and_spacing(word: str, spaces: list[str], upper: bool) -> None:
    """Case and spacing do not make a placeholder a name."""
    text = spaces[0] + (word.upper() if upper else word.title()).replace(" ", "".join(spaces))
    assert caller_id_name(text + spaces[-1]) is None


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll"]), min_size=3, max_size=30))
def test_any_result_is_the_name_or_none(name: str) -> None:
    """The function never rewrites a name: it keeps it or drops it."""
    assert caller_id_name(name) in (name, None)


def test_remote_with_a_placeholder_shows_the_number() -> None:
    """A remote whose name is a placeholder has no name, and its number (or an account's name)."""
    assert Remote.from_json({"callerIdName": "Unknown", "callerIdNumber": "5550100"}) == Remote(
        name=None, number="5550100"
    )
    assert Remote.from_json(
        {"callerIdName": "5550100", "account": {"displayName": "Carol Chen"}}
    ) == Remote(name="Carol Chen", number=None)
