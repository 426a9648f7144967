"""Bot layer: the shell renderer, turning neutral views into terminal text.

Buttons are numbered so they can be pressed by typing the number; the numbering is
handed in, so one shell session can keep every button it showed pressable.
"""

from __future__ import annotations

from collections.abc import Callable

from handlers.views import Button, Form, Input, InputKind, Message

WIDTH = 78


def to_text(view: Message, number: Callable[[Button], int] | None = None) -> str:
    """Render a message as text, numbering its buttons with `number` (or not, where nothing can press them)."""

    def tag(button: Button) -> str:
        return f"[{number(button)}]" if number else "[ ]"

    lines = []
    if view.title:
        lines += [f"┌─ {view.title}", ""]
    if view.text:
        lines += view.text.splitlines()
    for section in view.sections:
        lines.append("")
        if section.text:
            lines += section.text.splitlines()
        if section.mentions:
            lines.append("   " + ", ".join(f"@{m.name}" for m in section.mentions))
        for field in section.fields:
            lines.append(f"   {field.label}: {field.value}")
        if section.buttons:
            lines.append("   " + "  ".join(f"{tag(b)} {b.label}" for b in section.buttons))
    if view.buttons:
        lines += ["", "  ".join(f"{tag(b)} {b.label}" for b in view.buttons)]
    if view.footer:
        lines += ["", f"  {view.footer}"]
    prefix = "│ " if view.title else ""
    return "\n".join((prefix + line).rstrip() for line in lines)


def describe_input(item: Input, error: str | None, previous: str | None) -> str:
    """Return the prompt text for one form input."""
    parts = [item.label]
    if item.kind == InputKind.CHOICE:
        parts.append("  " + "  ".join(f"{c.value}) {c.label}" for c in item.choices))
    if item.kind == InputKind.CHECKBOX:
        parts.append("  (y/n)")
    if previous:
        parts.append(f"  (now: {previous}; Enter keeps it, - clears it)")
    elif not item.required:
        parts.append("  (optional; Enter skips)")
    if error:
        parts.insert(0, f"  ⚠ {error}")
    return "\n".join(parts)


def form_header(form: Form) -> str:
    """Return the heading shown before a form's prompts."""
    return "\n".join(line for line in (f"┌─ {form.title} (form)", form.intro and f"│ {form.intro}") if line)
