"""Config loading: TOML + env overrides, field-named errors, secrets kept out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmcore.config import ConfigError, Secret, load_toml
from mmcore.llm.config import LLMConfig, load_llm_config

KEY = "sk-or-v1-VERY-SECRET"


def test_defaults_are_offline_with_issue_models():
    cfg = load_llm_config({}, env={})
    assert cfg.offline and cfg.api_key is None
    assert cfg.models.signal[0] == "deepseek/v3-2"
    assert cfg.models.risk[0] == "anthropic/claude-sonnet-4.5"
    assert cfg.price_table()["anthropic/claude-sonnet-4.5"].output_per_mtok == 15.0
    assert cfg.price_table()["deepseek/v3-2"].output_per_mtok == 0.42


def test_error_names_the_field_path():
    with pytest.raises(ConfigError) as caught:
        load_llm_config({"budget": {"daily_usd": -1}}, env={})
    assert str(caught.value) == "llm.budget.daily_usd: must be >= 0, got -1"
    assert caught.value.path == "llm.budget.daily_usd"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"retry": {"max_attempts": "x"}}, "llm.retry.max_attempts: must be an integer, got 'x'"),
        ({"retry": {"max_attemps": 3}}, "llm.retry.max_attemps: unknown key"),
        ({"timeouts": {"deadline_s": 0}}, "llm.timeouts.deadline_s: must be > 0, got 0"),
        ({"stream": "yes"}, "llm.stream: must be a boolean"),
        ({"models": {"signal": []}}, "llm.models.signal: needs at least one model id"),
        ({"models": {"risk": "openai/gpt-4.1"}}, "llm.models.risk: must be a list"),
        ({"base_url": "ftp://relay"}, "llm.base_url: must start with http"),
        (
            {"prices": {"x/y": {"input_per_mtok": -2, "output_per_mtok": 1}}},
            'llm.prices."x/y".input_per_mtok: must be >= 0, got -2',
        ),
        ({"budget": 5}, "llm.budget: must be a table"),
        ({"retry": {"jitter": float("nan")}}, "llm.retry.jitter: must be finite"),
    ],
)
def test_invalid_values_are_refused(section: dict, message: str):
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        load_llm_config(section, env={})


def test_environment_overrides_file_values():
    env = {
        "MMCORE_LLM_BASE_URL": "https://relay.example/api/v1/",
        "MMCORE_LLM_API_KEY": KEY,
        "MMCORE_LLM_BUDGET_DAILY_USD": "2.5",
        "MMCORE_LLM_MODELS_SIGNAL": "a/one,b/two",
        "MMCORE_LLM_STREAM": "true",
    }
    cfg = load_llm_config({"budget": {"daily_usd": 9}}, env=env)
    assert cfg.base_url == "https://relay.example/api/v1"
    assert cfg.budget.daily_usd == 2.5
    assert cfg.models.signal == ("a/one", "b/two")
    assert cfg.stream is True and not cfg.offline
    assert cfg.api_key == Secret(KEY) and cfg.api_key.reveal() == KEY


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match=r"llm\.retry\.max_attempts \(from MMCORE_LLM_RETRY_MAX"):
        load_llm_config({}, env={"MMCORE_LLM_RETRY_MAX_ATTEMPTS": "many"})


def test_secret_never_shows():
    cfg = load_llm_config({"base_url": "http://x"}, env={"MMCORE_LLM_API_KEY": KEY})
    for text in (repr(cfg), str(cfg), repr(cfg.api_key), f"{cfg.api_key}"):
        assert KEY not in text


def test_secret_in_config_file_is_refused():
    with pytest.raises(
        ConfigError, match=r"llm\.api_key: secrets are not accepted in config files"
    ):
        load_llm_config({"api_key": KEY}, env={})


def test_key_file_outside_repo_is_read(tmp_path: Path):
    key_file = tmp_path / "relay.key"
    key_file.write_text(KEY + "\n")
    cfg = load_llm_config({"api_key_file": str(key_file)}, env={})
    assert cfg.api_key is not None and cfg.api_key.reveal() == KEY


def test_key_file_inside_repo_is_refused(tmp_path: Path):
    # a work tree of its own: the test must not depend on being run from a git checkout
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    inside = tmp_path / "repo" / "conf" / "relay.key"
    inside.parent.mkdir()
    inside.write_text(KEY + "\n")
    with pytest.raises(ConfigError, match=r"llm\.api_key_file: secret file must be outside"):
        load_llm_config({"api_key_file": str(inside)}, env={})


def test_toml_file_round_trip(tmp_path: Path):
    path = tmp_path / "mmcore.toml"
    path.write_text('[llm]\nbase_url = "http://127.0.0.1:9/v1"\n[llm.budget]\nhourly_usd = 0.5\n')
    cfg = load_llm_config(load_toml(path)["llm"], env={})
    assert isinstance(cfg, LLMConfig) and cfg.budget.hourly_usd == 0.5


def test_toml_errors_name_the_file(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[llm\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: invalid TOML"):
        load_toml(bad)
    with pytest.raises(ConfigError, match=r"missing\.toml: config file not found"):
        load_toml(tmp_path / "missing.toml")
