"""Settings are checked where they are made, for the environment and flags alike: a value
out of its bounds or not a number of ours stops the start, naming the variable."""

from __future__ import annotations

import pytest

from identity.config import Settings


@pytest.mark.parametrize(("name", "raw", "says"), [
    ("IDENTITY_PORT", "-5", "IDENTITY_PORT must be at least 0, got -5"),
    ("IDENTITY_PORT", "70000", "IDENTITY_PORT must be at most 65,535, got 70000"),
    ("IDENTITY_PROFILE_CACHE", "-1", "IDENTITY_PROFILE_CACHE must be at least 0, got -1"),
    ("IDENTITY_MAX_BODY_BYTES", "1" + "0" * 30,
     "IDENTITY_MAX_BODY_BYTES must be an integer, got '1" + "0" * 30 + "'"),
    ("IDENTITY_MAX_BLOCK", "1", "IDENTITY_MAX_BLOCK must be at least 2, got 1"),
    ("IDENTITY_PORT", "\u0668\u0660", "IDENTITY_PORT must be an integer, got '\u0668\u0660'"),
    ("IDENTITY_PORT", "8_000", "IDENTITY_PORT must be an integer, got '8_000'"),
    ("IDENTITY_DEFAULT_REGION", "zz\x1b", "IDENTITY_DEFAULT_REGION must be a region code such "
                                          "as US or GB, got 'zz\\x1b'"),
])
def test_a_setting_out_of_its_bounds_names_its_variable(name: str, raw: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        Settings.from_env({name: raw})
    assert str(caught.value) == says


def test_flags_are_held_to_the_same_bounds() -> None:
    with pytest.raises(ValueError, match="IDENTITY_PORT must be at least 0, got -5"):
        Settings().with_overrides(port=-5)
    assert Settings.from_env({"IDENTITY_PORT": " 8080 ", "IDENTITY_DEFAULT_REGION": "gb"}
                             ).port == 8080


def test_kafka_security_settings_come_from_the_environment_and_the_password_stays_hidden(
) -> None:
    settings = Settings.from_env({
        "IDENTITY_KAFKA_BOOTSTRAP": "broker.example.net:9096",
        "IDENTITY_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
        "IDENTITY_KAFKA_SASL_MECHANISM": "scram-sha-512",
        "IDENTITY_KAFKA_SASL_USERNAME": "identity",
        "IDENTITY_KAFKA_SASL_PASSWORD": "s3cret-kafka-pass"})
    config = settings.kafka_config()
    assert config is not None
    options = config.client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_password"] == "s3cret-kafka-pass"
    assert options["ssl_context"] is not None
    assert "s3cret-kafka-pass" not in repr(settings) + repr(config)
