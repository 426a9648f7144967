"""The Block Kit renderer: every view within Slack's limits, and user text never pings anyone."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.render import action_of, cut, escape, to_errors, to_home, to_message, to_modal
from handlers.actions import ActionId, FormId
from handlers.views import Button, Choice, Field, Form, Input, InputKind, Mention, Message, Section, Style
from tests.fakes.blockkit import check_blocks, check_errors, check_view, mrkdwn_formatting

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U024BE7LH>",
    "<#C123|general>",
    "<https://evil.example|click>",
    "&amp;",
    "&",
    "*bold*",
    "`code`",
    "\n",
    "ﷺ",
    "🧪",
    "\u202e",
    ">",
]
text = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=200),
    st.lists(st.sampled_from(HOSTILE), max_size=40).map("".join),
    st.integers(0, 9000).map(lambda n: ("<!channel> & " * (n // 13 + 1))[:n]),
)
buttons = st.builds(Button, action=st.sampled_from(list(ActionId)), label=text, value=text.map(lambda t: t[:3000]), style=st.sampled_from(list(Style)))
fields = st.builds(Field, label=text, value=text)
mentions = st.lists(st.builds(Mention, person_id=st.integers(1, 6), name=text), max_size=60).map(tuple)
sections = st.builds(Section, text=text, fields=st.lists(fields, max_size=14).map(tuple), buttons=st.lists(buttons, max_size=30).map(tuple), mentions=mentions)
# Person ids 1-3 have Slack ids, one of them hostile; 4-6 have none and are named instead.
USERS = {1: "U024BE7LH", 2: "W0MLPULSE", 3: "U1><!channel"}
messages = st.builds(
    Message, title=text, text=text, sections=st.lists(sections, max_size=12).map(tuple), buttons=st.lists(buttons, max_size=4).map(tuple), footer=text
)
choices = st.lists(st.builds(Choice, value=text.map(lambda t: t[:300] or "v"), label=text), min_size=1, max_size=120).map(tuple)
inputs = st.builds(
    Input,
    name=st.text("abcdefghij_", min_size=1, max_size=300),
    label=text,
    kind=st.sampled_from(list(InputKind)),
    required=st.booleans(),
    choices=choices,
    initial=st.one_of(st.none(), text),
    max_length=st.one_of(st.none(), st.integers(1, 10_000)),
    hint=text,
)
forms = st.builds(
    Form,
    form=st.sampled_from(list(FormId)),
    title=text,
    inputs=st.lists(inputs, max_size=8, unique_by=lambda i: i.name).map(tuple),
    submit_label=text,
    state=text,
    intro=text,
)


def displayed_texts(node):
    """Yield every text Slack displays (text objects and the fallback), not opaque values."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn"):
            yield node["text"]
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            elif key not in ("value", "private_metadata"):
                yield from displayed_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from displayed_texts(item)


def user_text_is_inert(payload: dict) -> None:
    """No raw control character survives in displayed text: nothing becomes a mention, link or broadcast."""
    for shown in displayed_texts(payload):
        assert "<" not in shown and ">" not in shown, shown


@settings(max_examples=300, deadline=None)
@given(messages)
def test_any_message_renders_within_limits_and_inert(view):
    payload = to_message(view)
    assert check_blocks(payload["blocks"], 50) == []
    assert 0 < len(payload["text"]) <= 3000
    user_text_is_inert(payload)


@settings(max_examples=150, deadline=None)
@given(messages)
def test_mentions_ping_only_real_user_ids_and_stay_within_limits(view):
    payload = to_message(view, USERS)
    assert check_blocks(payload["blocks"], 50) == []
    for shown in displayed_texts(payload):
        for token in re.findall(r"<[^>]*>?", shown):
            assert token in ("<@U024BE7LH>", "<@W0MLPULSE>"), token


def mrkdwn_texts(blocks: list[dict]):
    """Yield the user text of every mrkdwn object; a field's bold label is the renderer's own, so its marks are taken off."""
    for block in blocks:
        for obj in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
                label, _, value = obj["text"].partition("\n")
                yield from ((label[1:-1], value) if obj in block.get("fields", []) else (obj["text"],))


FORMATTING = st.lists(st.sampled_from(["*bold*", "_italics_", "~strike~", "`code`", "```fence```", " ", "\n", "a", "(", "*", "_"]), max_size=20).map("".join)


@settings(max_examples=200, deadline=None)
@given(FORMATTING, FORMATTING)
def test_user_formatting_marks_show_as_typed(said, label):
    view = Message("t", said, (Section(said, (Field(label, said),), mentions=(Mention(4, said),)),), footer=said)
    assert all(mrkdwn_formatting(shown) == [] for shown in mrkdwn_texts(to_message(view)["blocks"]))


def test_the_formatting_checker_sees_what_slack_would_format():
    assert mrkdwn_formatting("a *bold* and _it_, ~s~ `c`") == ["*bold*", "_it_", "~s~", "`c`"]
    assert mrkdwn_formatting(inert_text := to_message(Message("", "a *bold* `c`"))["blocks"][0]["text"]["text"]) == [] and "*bold" in inert_text


def test_a_mention_names_the_person_for_slack_and_falls_back_to_the_name():
    view = Message("Story", sections=(Section(text="Thanks to", mentions=(Mention(1, "Ana"), Mention(4, "Bo <!here>"))),))
    blocks = to_message(view, USERS)["blocks"]
    assert blocks[-1]["text"]["text"] == "<@U024BE7LH>, Bo &lt;!here&gt;"


@settings(max_examples=150, deadline=None)
@given(messages)
def test_any_message_renders_as_a_home_tab_within_limits(view):
    assert check_view(to_home(view)) == []


@settings(max_examples=200, deadline=None)
@given(forms)
def test_any_form_renders_as_a_modal_within_limits(form):
    modal = to_modal(form)
    assert check_view(modal) == []
    user_text_is_inert(modal)


def test_long_text_is_spread_over_blocks_not_lost():
    view = Message("t", "word " * 2000)  # 10,000 characters
    blocks = to_message(view)["blocks"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) == 4 and "".join(sections).count("word") == 2000


def test_buttons_with_one_action_get_distinct_ids_that_map_back():
    view = Message("t", buttons=(Button(ActionId.STATUS_PAGE, "‹ Previous", "portfolio:1"), Button(ActionId.STATUS_PAGE, "Next ›", "portfolio:3")))
    elements = to_message(view)["blocks"][-1]["elements"]
    ids = [e["action_id"] for e in elements]
    assert len(set(ids)) == 2 and {action_of(i) for i in ids} == {"status.page"}
    assert [e["value"] for e in elements] == ["portfolio:1", "portfolio:3"]


def test_escaping_and_cutting_never_split_an_entity():
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    assert cut(escape("x" * 8 + "&"), 10) == "x" * 8 + "…"
    assert cut("short", 10) == "short"


def test_form_errors_become_inline_errors():
    form = Form(FormId.AWAY, "Away", (Input("until", "Until", InputKind.DATE),), errors={"until": "That date is in the past <!here>."})
    assert to_errors(form.errors, ["until"]) == {"response_action": "errors", "errors": {"until": "That date is in the past &lt;!here&gt;."}}


def test_an_error_for_an_input_the_modal_lacks_is_shown_on_its_first_input():
    modal = to_modal(Form(FormId.STORY, "Story", (Input("headline", "Headline"), Input("impact_metric", "Metric"))))
    answer = to_errors({"impact_value": "Give both.", "impact_metric": "Too long."}, [b["block_id"] for b in modal["blocks"]])
    assert check_errors(modal, answer) == []
    assert answer["errors"] == {"headline": "Give both.", "impact_metric": "Too long."}


def test_a_date_input_is_prefilled_only_with_a_real_date_and_pickers_with_slack_ids():
    form = Form(
        FormId.AWAY,
        "Away",
        (
            Input("a", "A", InputKind.DATE, initial="2026-02-30"),
            Input("b", "B", InputKind.DATE, initial="2026-02-03"),
            Input("c", "C", InputKind.PEOPLE, initial="ana,nobody,bo"),
            Input("d", "D", InputKind.PERSON, initial="bo"),
        ),
    )
    elements = [b["element"] for b in to_modal(form, {"ana": "UANA", "bo": "UBO"})["blocks"]]
    assert "initial_date" not in elements[0] and elements[1]["initial_date"] == "2026-02-03"
    assert elements[2]["initial_users"] == ["UANA", "UBO"] and elements[3]["initial_user"] == "UBO"


def test_a_cleared_optional_input_stays_cleared_when_the_form_comes_back():
    form = Form(FormId.STORY, "Story", (Input("impact_metric", "Metric", required=False, initial="Monthly churn"),), values={"impact_metric": ""})
    assert "initial_value" not in to_modal(form)["blocks"][0]["element"]


def test_the_checker_would_catch_a_bad_payload():
    bad = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}},
        {"type": "actions", "elements": []},
        {"type": "header", "text": {"type": "mrkdwn", "text": "h"}},
    ]
    assert len(check_blocks(bad, 50)) == 3
    assert check_blocks([{"type": "divider"}] * 51, 50) == ["more than 50 blocks (51)"]
    assert check_view({"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}, "blocks": []}) == ["title: text longer than 24 (25)"]
