"""Profiles: an explicit name is always that profile; the environment only fills in a missing one."""

from __future__ import annotations

import pytest

from glorot.config import PROFILES, ConfigError, get_profile, profile_from_env


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


def test_per_profile_settings_are_fields_of_the_profile():
    from glorot.claims import beyond, gradients
    from glorot.claims import shapeset as claims_shapeset

    expected = {
        "smoke": (40_000, 10_000, 256, 64, 8, 2),
        "default": (200_000, 100_000, 1000, 256, 32, 4),
        "long": (1_000_000, 500_000, 1000, 256, 32, 10),
        "paper": (1_000_000, 500_000, 1000, 256, 32, 10),
    }
    for name, values in expected.items():
        P = PROFILES[name]
        fields = ("shapeset_images", "overlap_pairs", "init_width")
        fields += ("isometry_width", "isometry_depth", "isometry_examples")
        assert tuple(getattr(P, f) for f in fields) == values
        assert claims_shapeset.n_images(name) == P.shapeset_images == claims_shapeset.n_images(P)
        assert claims_shapeset.n_pairs(name) == P.overlap_pairs
        assert gradients.init_width(P) == P.init_width
        assert beyond.ISOMETRY[name] == dict(width=values[3], depth=values[4], examples=values[5])
    assert not hasattr(PROFILES["smoke"], "extra")
