"""The lab's STOMP window on activemq.xml: opened once, closed back to the very text the
broker shipped with."""

from __future__ import annotations

from syncwizard.lab.broker_stomp import MARK, with_stomp, without_stomp

SHIPPED = """<broker>
    <transportConnectors>
      <transportConnector name="openwire" uri="tcp://127.0.0.1:61616"/>
    </transportConnectors>
  </broker>
"""


def test_opening_adds_one_loopback_stomp_connector_and_closing_restores_the_text() -> None:
    opened = with_stomp(SHIPPED, 61613)
    assert opened.count('uri="stomp://127.0.0.1:61613"') == 1 and MARK in opened
    assert with_stomp(opened, 61613) == opened  # twice: still one
    assert without_stomp(opened) == SHIPPED
    assert without_stomp(SHIPPED) == SHIPPED


def test_a_broker_that_has_stomp_already_is_left_as_it_is() -> None:
    own = SHIPPED.replace(
        "    </transportConnectors>",
        '      <transportConnector name="stomp" uri="stomp://0.0.0.0:61613"/>\n'
        "    </transportConnectors>",
    )
    assert with_stomp(own, 61613) == own
    assert without_stomp(own) == own  # only the window's connector is ever taken out
