"""The pure parts of Home Assistant over MQTT: the broker URL and the command topics."""

from __future__ import annotations

import pytest

from heupreminder.config.broker_url import BrokerUrlError, parse_broker_url
from heupreminder.homeassistant.discovery import Command, Topics


def test_broker_url_says_host_port_tls_and_credentials() -> None:
    plain = parse_broker_url("mqtt://heup:p%40ss@broker.local")
    assert (plain.host, plain.port, plain.tls) == ("broker.local", 1883, False)
    assert (plain.username, plain.password) == ("heup", "p@ss")
    assert "p@ss" not in repr(plain) and plain.where == "mqtt://broker.local:1883"
    secure = parse_broker_url("mqtts://broker.local")
    assert (secure.port, secure.tls, secure.username) == (8883, True, None)
    assert parse_broker_url("mqtts://broker.local:8884").port == 8884


@pytest.mark.parametrize("url", ["http://broker", "mqtt://", "mqtt://h:99999",
                                 "mqtt://h/topic", "mqtt://h?x=1"])
def test_unusable_broker_urls_are_refused(url: str) -> None:
    with pytest.raises(BrokerUrlError):
        parse_broker_url(url)


def test_command_topics_are_taken_apart_and_others_ignored() -> None:
    topics = Topics("homeassistant", "home/heup")
    assert topics.command("home/heup/anna/routine/bridge/done") == Command(
        "anna", "done", "bridge")
    assert topics.command("home/heup/anna/pain/set") == Command("anna", "pain")
    for other in ("home/heup/anna/state", "home/other/anna/pain/set", "home/heup/pain/set",
                  "home/heup/anna/routine/done", "home/heup/status"):
        assert topics.command(other) is None
    assert topics.done("an/na", "x+#") == "home/heup/an_na/routine/x__/done"
