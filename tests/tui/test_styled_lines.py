"""The lines a panel body is built from: runs, line breaks, unprintable text, wrapping."""

from __future__ import annotations

from rich.console import Console
from rich.style import Style

from syncwizard.tui.widgets.styled_lines import StyledLines, line_strips

BOLD = Style(bold=True)
BASE = Style(bgcolor="#101010")


def test_a_newline_in_appended_text_starts_a_new_line_in_the_same_style() -> None:
    text = StyledLines().append("pending ", None).append("12\nhint: ", BOLD).append("wait")
    assert text.lines == (
        (("pending ", None), ("12", BOLD)),
        (("hint: ", BOLD), ("wait", None)),
    )
    assert text.plain == "pending 12\nhint: wait"


def test_empty_lines_stay_and_an_empty_body_is_false() -> None:
    assert not StyledLines()
    assert not StyledLines().append("")
    text = StyledLines().append("a\n\nb")
    assert text and text.lines == ((("a", None),), (), (("b", None),))


def test_control_characters_from_a_remote_message_never_reach_the_terminal() -> None:
    text = StyledLines().append("lag\r\x07 3 s\tok\x1b[2J\x7f")
    assert text.plain == "lag 3 s ok[2J", "no carriage return, bell, tab, escape or delete"


def test_the_rich_text_reads_the_same_with_the_same_styles() -> None:
    text = StyledLines().append("name ", None).append("value", BOLD).append("\nnext")
    rich_text = text.to_text()
    assert rich_text.plain == "name value\nnext"
    assert [(span.start, span.end, span.style) for span in rich_text.spans] == [(5, 10, BOLD)]


def test_a_line_is_padded_to_the_width_on_the_base_style() -> None:
    (strip,) = line_strips((("ok", BOLD),), 6, BASE, Console(width=6))
    assert strip.text == "ok    " and strip.cell_length == 6
    assert [segment.style for segment in strip] == [BASE + BOLD, BASE]


def test_a_line_longer_than_the_width_wraps_at_words() -> None:
    line = (("cannot reach Jolokia: ", BOLD), ("connection refused", None))
    strips = line_strips(line, 20, BASE, Console(width=20))
    assert [strip.text.rstrip() for strip in strips] == [
        "cannot reach",
        "Jolokia: connection",
        "refused",
    ]
    assert all(strip.cell_length == 20 for strip in strips)
