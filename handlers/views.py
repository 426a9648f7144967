"""Handlers layer: the neutral views that every handler returns.

A view says what to show, never how: plain text, fields, buttons and form inputs.
Each platform's renderer in `bot/` turns it into Block Kit, an Adaptive Card or
terminal text, and enforces that platform's limits there. Text in a view is plain:
renderers escape it, so a user's words can never become markup or a mention.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from handlers.actions import ActionId, FormId

# Lists longer than this are split into pages; small enough for every platform's limits.
PAGE_SIZE = 8


class Style(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True)
class Button:
    """Something the user can press; `value` travels back to the handler unchanged."""

    action: ActionId
    label: str
    value: str = ""
    style: Style = Style.DEFAULT


@dataclass(frozen=True)
class Field:
    """A labelled value, shown in a compact grid where the platform has one."""

    label: str
    value: str


@dataclass(frozen=True)
class Mention:
    """A person to name so that the platform notifies them (Slack's @-mention); `name` is the fallback."""

    person_id: int
    name: str


@dataclass(frozen=True)
class Section:
    """A block of a message: some text, people to mention, some fields, and buttons that act on it."""

    text: str = ""
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    mentions: tuple[Mention, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a message: a chart, a calendar invite."""

    filename: str
    content: bytes
    title: str = ""


@dataclass(frozen=True)
class Message:
    """A message: a title, text, sections, buttons for the whole message, a footer and files."""

    title: str
    text: str = ""
    sections: tuple[Section, ...] = ()
    buttons: tuple[Button, ...] = ()
    footer: str = ""
    attachments: tuple[Attachment, ...] = ()

    def all_buttons(self) -> tuple[Button, ...]:
        """Return every button in reading order."""
        return tuple(b for s in self.sections for b in s.buttons) + self.buttons

    def all_mentions(self) -> tuple[Mention, ...]:
        """Return every mention in reading order."""
        return tuple(m for s in self.sections for m in s.mentions)


class InputKind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    CHOICE = "choice"
    PERSON = "person"
    PEOPLE = "people"
    DATE = "date"
    CHECKBOX = "checkbox"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Input:
    """One field of a form."""

    name: str
    label: str
    kind: InputKind = InputKind.TEXT
    required: bool = True
    choices: tuple[Choice, ...] = ()
    initial: str | None = None
    max_length: int | None = None
    hint: str = ""


@dataclass(frozen=True)
class Form:
    """A form to fill in; `state` travels back with the submission, `errors` name bad inputs."""

    form: FormId
    title: str
    inputs: tuple[Input, ...]
    submit_label: str = "Submit"
    state: str = ""
    intro: str = ""
    errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


class ReplyMode(StrEnum):
    REPLACE = "replace"
    """Update the message whose button was pressed, in place."""
    EPHEMERAL = "ephemeral"
    """Show only to the person acting."""
    MESSAGE = "message"
    """Post in the conversation where the person acted."""
    FORM = "form"
    """Open the form (or show it again with its errors)."""
    RETRY = "retry"
    """Nothing was done: show why to the person acting, and leave what they acted on as it
    was (a form stays open with what they typed), so that they can try again."""


@dataclass(frozen=True)
class Reply:
    """What a handler answers with: a view and how to show it."""

    view: Message | Form
    mode: ReplyMode = ReplyMode.EPHEMERAL
    input: str | None = None
    """For RETRY of a form: the input at fault, where the platform can show the reason beside it."""


YES = ("1", "true", "yes", "y", "on")
NO = ("", "0", "false", "no", "n", "off")


def yes_no(value: str | None) -> bool | None:
    """Read a submitted checkbox (or a typed yes or no); None when it is neither, e.g. "maybe"."""
    answer = (value or "").strip().lower()
    return True if answer in YES else False if answer in NO else None


def checked(value: str | None) -> bool:
    """Tell whether a submitted checkbox (or a typed yes) is ticked."""
    return yes_no(value) is True


def unclear_yes_no(values: Mapping[str, str], *names: str) -> dict[str, str]:
    """Return an error for each yes/no input among `names` whose answer is neither yes nor no."""
    return {name: "Answer yes or no." for name in names if yes_no(values.get(name)) is None}


def notice(text: str, title: str = "") -> Reply:
    """Return a short ephemeral message, for confirmations and polite refusals."""
    return Reply(Message(title=title, text=text), ReplyMode.EPHEMERAL)


def retry(text: str, input: str | None = None) -> Reply:
    """Return a refusal that changed nothing and keeps the person's form (see `ReplyMode.RETRY`)."""
    return Reply(Message(title="", text=text), ReplyMode.RETRY, input)


def form_errors(form: Form, errors: Mapping[str, str], values: Mapping[str, str]) -> Reply:
    """Return the same form again with errors shown beside the inputs they concern."""
    return Reply(replace(form, errors=MappingProxyType(dict(errors)), values=MappingProxyType(dict(values))), ReplyMode.FORM)
