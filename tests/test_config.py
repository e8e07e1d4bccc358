"""Profiles: an explicit name is always that profile; the environment only fills in a missing one."""

from __future__ import annotations

import pytest

from glorot.config import ConfigError, get_profile, profile_from_env


@pytest.mark.parametrize("env", ["smoke", "default", "paper"])
def test_an_explicit_profile_wins_over_the_environment(env, monkeypatch):
    monkeypatch.setenv("GLOROT_PROFILE", env)
    assert get_profile("paper").name == "paper"
    assert get_profile("smoke").name == "smoke"
    assert get_profile().name == env  # no name: the environment's
    assert profile_from_env("default").name == env  # a chapter's declared one: overridden


def test_without_environment(monkeypatch):
    monkeypatch.delenv("GLOROT_PROFILE", raising=False)
    assert get_profile().name == "default"
    assert profile_from_env("paper").name == "paper"
    with pytest.raises(ConfigError, match="unknown profile 'huge'; choose one of smoke"):
        get_profile("huge")
    monkeypatch.setenv("GLOROT_PROFILE", "huge")
    with pytest.raises(ConfigError, match="unknown profile 'huge' in environment variable"):
        get_profile()
