"""A preset's profile as data (sections of keys with the comments that say why), and its
rendering as the TOML text `config init --preset` writes.

The text is written by hand rather than through tomlkit's document API so that every key
can carry a comment block above it; each value goes through tomlkit, so quoting and
escaping are TOML's own.
"""

from __future__ import annotations

import dataclasses
import textwrap
from dataclasses import dataclass

import tomlkit

Value = str | int | float | list[str]
WIDTH = 92  # comment lines are wrapped here: readable in an 80-100 column editor


@dataclass(frozen=True)
class Key:
    """One `key = value` line, the comment above it, and, for a key another part of
    syncwizard is still adding (`broker.cli`), the settings class that must have it: until
    that class has the field the line is written commented out, so the file still loads."""

    name: str
    value: Value
    why: str = ""
    needs_field_of: type | None = None
    # An example the admin may uncomment (e.g. a tunnel to a broker on another host): this
    # says when; the line is written commented out.
    example: str = ""

    @property
    def live(self) -> bool:
        cls = self.needs_field_of
        known = cls is None or self.name in {f.name for f in dataclasses.fields(cls)}
        return known and not self.example


@dataclass(frozen=True)
class Section:
    name: str  # "health", "broker", ... (a profile's section)
    keys: tuple[Key, ...]
    why: str = ""  # a comment under the table header


@dataclass(frozen=True)
class Preset:
    name: str
    title: str  # one line: which deployment this is
    about: str  # the header: what the profile assumes
    sections: tuple[Section, ...]
    todo: tuple[str, ...]  # what the admin must still do or check, in the header and printed
    footer: str = ""

    def key(self, section: str, name: str) -> Key:
        """The key `name` of `section` (tests and `config init`'s summary read them)."""
        for candidate in self.sections:
            if candidate.name == section:
                for key in candidate.keys:
                    if key.name == name:
                        return key
        raise KeyError(f"{section}.{name}")


def comment(text: str, indent: str = "") -> list[str]:
    """`text` as `# ` lines; a blank line in it stays a paragraph break, and a line that
    starts with two spaces (a command to copy) is kept whole."""
    lines: list[str] = []
    for paragraph in text.strip().split("\n\n"):
        if lines:
            lines.append(f"{indent}#")
        for raw in paragraph.splitlines():
            if raw.startswith("  "):
                lines.append(f"{indent}#{raw}")
                continue
            wrapped = textwrap.wrap(
                raw,
                WIDTH - len(indent) - 2,
                subsequent_indent="  " if raw.startswith("- ") else "",
                break_long_words=False,
                break_on_hyphens=False,
            )
            lines.extend(f"{indent}# {line}" for line in wrapped or [""])
    return lines


def toml_value(value: Value) -> str:
    return tomlkit.item(value).as_string()


def render(preset: Preset, profile: str) -> str:
    """The config file's text: header, default_profile, then each section's table."""
    lines = comment(f"syncwizard configuration: {preset.title}")
    lines.append("#")
    lines += comment(preset.about)
    lines.append("#")
    lines.append("# Still to do before the first run:")
    for item in preset.todo:
        lines += comment(f"- {item}")
    lines += [
        "#",
        "# Passwords never go in this file: see broker.password_env and ~/.pgpass.",
        f"# Written by `syncwizard config init --preset {preset.name}`; check it with",
        "# `syncwizard config show`.",
        f"default_profile = {toml_value(profile)}",
    ]
    for section in preset.sections:
        lines += ["", f"[profiles.{profile}.{section.name}]"]
        if section.why:
            lines += comment(section.why)
        for key in section.keys:
            lines += comment(key.why)
            line = f"{key.name} = {toml_value(key.value)}"
            if key.live:
                lines.append(line)
            else:
                listed = f"{section.name}.{key.name}"
                when = key.example or f"once `syncwizard config show` lists {listed}"
                lines.append(f"# (uncomment {when})")
                lines.append(f"# {line}")
    if preset.footer:
        lines.append("")
        lines += comment(preset.footer)
    return "\n".join(lines) + "\n"
