"""The glossary: every term the issue names, and finding the ones a text uses."""

from __future__ import annotations

from syncwizard.glossary import TERMS, terms_in


def test_the_glossary_has_every_word_the_screens_and_debriefs_rely_on() -> None:
    names = [term.name for term in TERMS]
    assert names == [
        "pending",
        "enqueued",
        "dequeued",
        "in flight",
        "consumer",
        "virtual topic",
        "t0",
        "drain",
        "sync GUID",
        "-Drecover",
        "drift",
    ]
    assert all(term.meaning.endswith(".") for term in TERMS)


def test_a_text_names_the_terms_it_uses_as_whole_words_only() -> None:
    text = (
        "The Sync DB was dumped once the drain criterion held; 500 pending events were "
        "archived before the restart with -Drecover."
    )
    assert [t.name for t in terms_in(text)] == ["pending", "drain", "-Drecover"]
    assert terms_in("drifting sand, a t0ken, draining") == []
    assert [t.name for t in terms_in("the queue Consumer.<guid>.<topic>")] == [
        "virtual topic",
        "sync GUID",
    ]
