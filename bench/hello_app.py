"""The baseline of bench/startup.py: a bare Textual hello-world app."""

from textual.app import App
from textual.widgets import Static


class Hello(App[None]):
    def compose(self):
        yield Static("Hello, world")


if __name__ == "__main__":
    Hello().run()
