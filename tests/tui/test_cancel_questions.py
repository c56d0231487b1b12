"""The cancel question names what is being cancelled: the backup, or a restore step."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Button, Static

from syncwizard.tui.restore.cancel import RestoreCancelScreen
from syncwizard.tui.screens.confirm_cancel import ConfirmCancelScreen


def words(screen: ConfirmCancelScreen) -> str:
    texts = [str(w.render()) for w in screen.query(Static) if not isinstance(w, Button)]
    return " ".join([*texts, *(str(b.label) for b in screen.query(Button))])


async def test_the_restore_asks_about_the_step_and_says_what_stopping_it_leaves() -> None:
    app: App[None] = App()
    async with app.run_test() as pilot:
        await app.push_screen(RestoreCancelScreen(step_title="Restore the repository DB"))
        await pilot.pause()
        said = words(app.screen)  # type: ignore[arg-type]
        assert "Cancel this step?" in said and "Cancel the step" in said
        assert "Running now: Restore the repository DB" in said
        assert "scratch" in said and "backup" not in said


async def test_the_backup_asks_about_the_backup_and_quitting_says_so() -> None:
    app: App[None] = App()
    async with app.run_test() as pilot:
        await app.push_screen(ConfirmCancelScreen(then_quit=True))
        await pilot.pause()
        said = words(app.screen)  # type: ignore[arg-type]
        assert "Cancel the backup and quit?" in said and "Cancel and quit" in said
        assert "partial files removed" in said
