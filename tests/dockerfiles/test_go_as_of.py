"""A GOPATH-era go.mod pinned to the versions of a day: the choice among a module's versions."""

from __future__ import annotations

from datetime import UTC, datetime

from dockerfiles.go_as_of import PSEUDO, as_of, escaped


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# github.com/pkg/errors as the Go module proxy lists it, with its times
ERRORS = [
    (_at("2016-04-24T00:00:00"), "v0.5.1"),
    (_at("2016-09-29T01:48:01"), "v0.8.0"),
    (_at("2017-05-05T04:36:39"), "v0.8.1-0.20170505043639-c605e284fe17"),
    (_at("2019-01-03T00:00:00"), "v0.8.1"),
    (_at("2020-01-14T19:47:44"), "v0.9.1"),
]


def test_the_newest_version_published_by_the_day() -> None:
    assert as_of(_at("2017-03-01T23:59:59"), ERRORS) == "v0.8.0"
    assert as_of(_at("2017-06-01T23:59:59"), ERRORS) == "v0.8.1-0.20170505043639-c605e284fe17"
    assert as_of(_at("2026-12-01T23:59:59"), ERRORS) == "v0.9.1"


def test_before_its_first_version_the_oldest_served_and_none_without_any() -> None:
    assert as_of(_at("2015-01-01T23:59:59"), ERRORS) == "v0.5.1"
    assert as_of(_at("2015-01-01T23:59:59"), []) is None


def test_a_pseudo_version_names_its_commit_s_time_and_a_tag_does_not() -> None:
    assert PSEUDO.search("v0.0.0-20160806122752-66b8e73f3f5c")[1] == "20160806122752"  # type: ignore[index]
    assert PSEUDO.search("v0.8.1-0.20170505043639-c605e284fe17")[1] == "20170505043639"  # type: ignore[index]
    assert PSEUDO.search("v2.0.0-20180101000000-abcdefabcdef+incompatible") is not None
    assert PSEUDO.search("v0.9.1") is None
    assert PSEUDO.search("v1.2.3-rc.1") is None


def test_the_proxy_s_case_encoding() -> None:
    assert escaped("github.com/BurntSushi/toml") == "github.com/!burnt!sushi/toml"
    assert escaped("github.com/pkg/errors") == "github.com/pkg/errors"
