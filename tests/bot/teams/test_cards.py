"""The Adaptive Card renderer: every card is valid 1.5, within Teams' limits, and user text stays inert."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.teams import limits
from bot.teams.cards import Submission, action_data, escape, submission, to_card, to_form_card
from handlers.actions import ActionId, FormId
from handlers.views import Button, Choice, Field, Form, Input, InputKind, Mention, Message, Section, Style
from tests.fakes.adaptive import card_errors, markup_in

MARKUP = [
    "<at>Everyone</at>",
    "<AT>ceo</AT>",
    "[click](https://evil.example)",
    "**bold** _it_",
    "\\",
    "\\\\*",
    "1. first\n- second",
    "</at><at>x",
    '"}]}',
    "x" * 6000,
    "\u200b\u202e",
    "{{template}}",
    "<https://evil.example>",
    "`code`",
    "```\nfence\n```",
    "# heading",
    "> quote",
    "+ item",
    "    indented code",
    "a\n===",
    "a | b\n--- | ---",
    "~~gone~~",
    "&amp;",
    "<b>html</b>",
    "![img](x.png)",
    "2) second",
    "***",
]
hostile = (
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
    | st.sampled_from(MARKUP)
    | st.lists(st.sampled_from(MARKUP), max_size=6).map("\n".join)
)
buttons = st.builds(Button, st.sampled_from(list(ActionId)), hostile, hostile, st.sampled_from(list(Style)))
fields = st.builds(Field, hostile, hostile)
mentions = st.builds(Mention, st.integers(1, 6), hostile)
sections = st.builds(
    Section, hostile, st.lists(fields, max_size=25).map(tuple), st.lists(buttons, max_size=8).map(tuple), st.lists(mentions, max_size=5).map(tuple)
)
messages = st.builds(Message, hostile, hostile, st.lists(sections, max_size=12).map(tuple), st.lists(buttons, max_size=9).map(tuple), hostile)
choices = st.lists(st.builds(Choice, hostile, hostile), max_size=130).map(tuple)
inputs = st.builds(
    Input,
    st.from_regex(r"[a-z_]{1,20}", fullmatch=True),
    hostile,
    st.sampled_from(list(InputKind)),
    st.booleans(),
    choices,
    hostile | st.none(),
    st.none() | st.integers(1, 10_000),
    hostile,
)
forms = st.builds(Form, st.sampled_from(list(FormId)), hostile, st.lists(inputs, max_size=12, unique_by=lambda i: i.name).map(tuple), hostile, hostile, hostile)
USERS = {1: ("aad-1", "Dana Kim"), 2: ("aad-2", "Sam <at>x</at> Carter"), 3: ("29:three", "[Bob](http://x)")}


def shown(node) -> list[str]:
    """Return the text a card renders as markdown (TextBlocks and facts), where a mention could ping."""
    if isinstance(node, list):
        return [text for child in node for text in shown(child)]
    if not isinstance(node, dict):
        return []
    if node.get("type") == "TextBlock":
        return [node["text"]]
    if node.get("type") == "FactSet":
        return [text for fact in node["facts"] for text in (fact["title"], fact["value"])]
    return [text for key, child in node.items() if key != "data" for text in shown(child)]


def within_limits(card: dict) -> None:
    assert card_errors(card) == []
    assert len(json.dumps(card, ensure_ascii=False).encode()) <= limits.CARD_BYTES
    text = "\n".join(shown(card["body"]))
    # The only <at> tags shown are the card's own mention entities; user text cannot add one.
    tags = {e["text"] for e in card.get("msteams", {}).get("entities", [])}
    assert text.count("<at>") == sum(text.count(t) for t in tags)
    for piece in shown(card["body"]):  # and no user text turns into markup
        assert markup_in(piece, tuple(tags)) == [], piece


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(messages)
def test_every_message_is_a_valid_card_within_limits(view):
    within_limits(to_card(view, USERS))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(forms, st.dictionaries(st.from_regex(r"[a-z_]{1,20}", fullmatch=True), hostile, max_size=4))
def test_every_form_is_a_valid_card_within_limits(form, errors):
    within_limits(to_form_card(Form(form.form, form.title, form.inputs, form.submit_label, form.state, form.intro, errors=errors)))


@settings(max_examples=100, deadline=None)
@given(hostile)
def test_escaped_text_shows_no_markup(text):
    shown = escape(text)
    assert "<at" not in shown.lower()
    unescaped = shown.replace("\\\\", "")
    for mark in ("*", "_", "[", "]"):
        assert unescaped.count(mark) == unescaped.count("\\" + mark)


def test_mentions_ping_only_people_with_a_teams_id_and_names_cannot_inject():
    view = Message(
        "Story", sections=(Section("Thanks to", mentions=(Mention(1, "Dana Kim"), Mention(2, "Sam <at>x</at> Carter"), Mention(9, "<at>All</at>"))),)
    )
    card = to_card(view, USERS)
    entities = card["msteams"]["entities"]
    assert [e["mentioned"]["id"] for e in entities] == ["aad-1", "aad-2"]
    assert entities[1]["text"].count("<at>") == 1 and entities[1]["text"].count("</at>") == 1
    line = card["body"][1]["items"][1]["text"]
    assert line.startswith("<at>Dana Kim</at>, <at>Sam") and line.count("<at>") == 2
    within_limits(card)


def test_a_huge_message_is_cut_visibly_and_keeps_its_buttons():
    view = Message(
        "Big", sections=tuple(Section("x" * 3000, fields=(Field("a", "b" * 900),)) for _ in range(40)), buttons=(Button(ActionId.SHARE, "Share", "/mlstatus"),)
    )
    card = to_card(view)
    within_limits(card)
    assert "more parts were left out of this message" in card["body"][-1]["text"]
    assert card["actions"][0]["data"] == action_data(Button(ActionId.SHARE, "Share", "/mlstatus"))


def test_more_buttons_than_teams_shows_in_a_row_are_split():
    view = Message("Pick", buttons=tuple(Button(ActionId.STATUS_MODEL, f"M{i}", str(i)) for i in range(14)))
    card = to_card(view)
    sets = [b for b in card["body"] if b["type"] == "ActionSet"]
    assert [len(s["actions"]) for s in sets] == [6, 6, 2] and "actions" not in card


def test_submissions_are_read_back_and_foreign_cards_ignored():
    assert submission({"mlpulse": {"action": "checkin.works", "value": "7"}}) == Submission(action="checkin.works", value="7")
    sent = submission({"mlpulse": {"form": "report.file", "state": "s"}, "model": "churn", "anonymous": None})
    assert (sent.form, sent.state, dict(sent.values)) == ("report.file", "s", {"model": "churn", "anonymous": ""})
    assert submission({"action": "x"}) is None and submission("text") is None and submission({"mlpulse": 3}) is None


def test_form_inputs_keep_values_and_show_errors_under_their_field():
    form = Form(
        FormId.REPORT,
        "Report a problem",
        (
            Input("model", "Model", InputKind.CHOICE, choices=(Choice("churn", "Churn"), Choice("fraud", "Fraud"))),
            Input("what_happened", "What happened", InputKind.LONG_TEXT, max_length=3000),
            Input("since", "Since when", InputKind.DATE, required=False),
            Input("anonymous", "File anonymously", InputKind.CHECKBOX, required=False),
        ),
        errors={"what_happened": "Tell us what happened."},
        values={"model": "fraud", "since": "2026-03-01", "anonymous": "true"},
    )
    card = to_form_card(form)
    within_limits(card)
    body = card["body"]
    by_id = {b.get("id"): b for b in body if b.get("id")}
    assert by_id["model"]["value"] == "fraud" and by_id["since"]["value"] == "2026-03-01" and by_id["anonymous"]["value"] == "true"
    after = body[body.index(by_id["what_happened"]) + 1]
    assert after["color"] == "Attention" and after["text"] == "Tell us what happened."


def test_a_form_shown_again_with_its_errors_keeps_every_input_however_much_was_typed():
    inputs = tuple(Input(f"field_{n}", f"Field {n}", InputKind.LONG_TEXT, required=False, max_length=3000, hint="h" * 300) for n in range(6))
    typed = {i.name: "*a* [x](y) " * 272 for i in inputs}  # about 3,000 characters in every field, and quoted in its error
    form = Form(FormId.REPORT, "Report", inputs, intro="i" * 2000, errors={i.name: f"{typed[i.name]} is wrong." for i in inputs}, values=typed)
    card = to_form_card(form)
    within_limits(card)
    assert [b["id"] for b in card["body"] if b.get("id")] == [i.name for i in inputs]
    assert card["actions"][0]["data"]["mlpulse"]["form"] == "report.file"


def test_a_cleared_optional_input_stays_cleared_when_the_form_comes_back():
    form = Form(FormId.STORY, "Story", (Input("impact_metric", "Metric", required=False, initial="Monthly churn"),), values={"impact_metric": ""})
    assert "value" not in next(b for b in to_form_card(form)["body"] if b.get("id") == "impact_metric")


def test_every_kind_of_markup_shows_as_typed_in_text_and_in_fact_titles():
    for sample in MARKUP:
        card = to_card(Message(sample, sample, (Section(sample, (Field(sample, sample),)),), footer=sample))
        assert all(markup_in(piece) == [] for piece in shown(card["body"])), sample


def test_a_carriage_return_cannot_start_a_line_of_markup():
    # Found by the property test above: CommonMark ends a line at "\r" too, so "=" after it underlined a heading.
    within_limits(to_card(Message("", "", (), (), "0\r="), USERS))
    within_limits(to_card(Message("Title", "a\r# b\r\n- c"), USERS))
