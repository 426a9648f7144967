"""The shell driven end to end: typed lines in, printed text out."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.clock import ManualClock
from bot.config import Settings
from bot.runtime import Runtime
from bot.shell.messenger import ShellMessenger
from bot.shell.repl import INTERRUPTED, LineReader, Shell, resolve_person
from storage.migrate import upgrade
from storage.models import FailureReport
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]
MONDAY = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Terminal:
    """Feeds lines to the shell; a line may be a function of everything printed so far."""

    def __init__(self, script: list[str | Callable[[str], str]]):
        self.script = list(script)
        self.output: list[str] = []

    @property
    def text(self) -> str:
        return "\n".join(self.output)

    async def read(self, prompt: str) -> str | None:
        self.output.append(prompt)
        if not self.script:
            return None
        line = self.script.pop(0)
        return line(self.text) if callable(line) else line

    def write(self, text: str) -> None:
        self.output.append(text)


def button(label: str) -> Callable[[str], str]:
    """Press the most recently shown button with this label."""

    def press(printed: str) -> str:
        numbers = re.findall(rf"\[(\d+)\] {re.escape(label)}", printed)
        assert numbers, f"no button {label!r} on screen"
        return numbers[-1]

    return press


@pytest.fixture
async def shell_runtime(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'shell.db'}"
    await asyncio.to_thread(upgrade, url)
    portfolio = f.small_portfolio().model_dump()
    portfolio["checkins"] = {"every": "week", "on": ["tue"], "at": "10:00", "remind_after": "1d", "reminders": 1}
    clock = ManualClock(MONDAY)
    runtime = await Runtime.start(Settings(app=f.decl(**portfolio)), ShellMessenger(), clock, url=url)
    yield runtime, clock
    await runtime.close()


async def run(runtime, clock, who: str, script) -> Terminal:
    terminal = Terminal(script)
    shell = Shell(runtime, clock, await resolve_person(runtime, who), terminal.read, terminal.write)
    await shell.run()
    return terminal


async def test_a_stakeholder_answers_a_checkin_in_the_shell(shell_runtime):
    runtime, clock = shell_runtime
    t = await run(
        runtime,
        clock,
        "ana@example.com",
        [
            "help",
            "advance 1d",
            button("Yes, but with problems"),
            button("Add details"),
            "A new CRM went live.",
            "9",
            "",
            "2",
            "checkins",
            button("Remind me tomorrow"),
            "advance 1d",
            "quit",
        ],
    )
    text = t.text
    assert "mlpulse shell: you are Ana (ana)." in text
    assert "advance 3d | tick" in text and "/mlstatus unit <name>" in text  # help lists both
    assert "⏱  Tue 3 Mar 2026, 01:00 (your time): 1 check-in sent." in text  # Cy, in Tokyo
    assert "⏱  Tue 3 Mar 2026, 10:00 (your time): 3 check-ins sent." in text
    assert "📨 new message #2 from mlpulse:\n│ ┌─ Check-in: Churn predictor" in text
    assert "📨 new message #4 from mlpulse:\n│ ┌─ Check-in: Demand forecast" in text
    # The last button of that label is on the Demand forecast message, which updates in place.
    assert "✏️  message #4 updated:\n│ ┌─ Check-in: Demand forecast\n│\n│ ✅ Recorded: Yes, but with problems, by Ana, Tue 3 Mar 2026, 12:00 (UTC)." in text
    assert "📨 sent to Lead: Demand forecast: Yes, but with problems" in text
    # The follow-up form: the bad rating comes back inline, the rest is kept.
    assert "  ⚠ Choose a number from 1 to 5." in text
    assert "│    What changed in your business: A new CRM went live." in text
    assert "│    Satisfaction: 2 of 5" in text
    assert "1 check-in waiting for your answer." in text
    assert "Snoozed: I'll ask again Wed 4 Mar 2026, 10:00 (UTC)." in text
    assert re.search(r"📨 message #\d+, in the thread of #2:\n│ ┌─ Check-in: Churn predictor\n│\n│ As you asked, here it is again.", text)
    assert "⏩ It is now Wed 4 Mar 2026, 12:00 (your time)." in text


async def test_reminders_expiry_and_status_for_a_lead(shell_runtime):
    runtime, clock = shell_runtime
    t = await run(
        runtime,
        clock,
        None,
        [
            "whoami",
            "advance 3d",
            "/mlstatus",
            "/mlstatus frud",
            "/mlstatus unit finance",
            "as TOKYO",  # a last name, in any case: matched as every form matches people
            "/mlstatus churn",
            "inbox",
            "as nobody",
            "advance soon",
            "7777",
            "quit",
        ],
    )
    text = t.text
    assert "You are Lead (lead, ML lead)" in text
    assert "⏱  Wed 4 Mar 2026, 01:00 (your time): 1 reminder." in text
    assert "📨 reply in thread to Bo: Check-in: Churn predictor" in text
    assert "⏱  Wed 4 Mar 2026, 10:00 (your time): 3 reminders." in text
    assert "⏱  Thu 5 Mar 2026, 10:00 (your time): 3 expired without an answer." in text
    assert "│ 🟢 0 healthy · 🟠 0 degraded · 🔴 0 abandoned · ⚪ 3 silent · ❔ 0 unknown" in text
    assert "│ ┌─ ⚪ Invoice fraud screen (fraud) · silent" in text
    assert "│ ┌─ Finance: 1 active model" in text
    assert "You are now Cy Tokyo (cy)." in text
    assert "Churn predictor belongs to a unit you are not part of" in text
    # Cy's inbox holds the question and its reminder, both showing that it expired since (and still taking a late answer).
    inbox = text.split("You are now Cy Tokyo (cy).")[1].split("[cy")[2]
    assert inbox.count("This check-in about Invoice fraud screen expired without an answer. A late answer is still welcome:") == 2
    assert "Reminder 1 of 1." not in inbox and "Remind me tomorrow" not in inbox
    assert "Nobody called “nobody” is known to mlpulse. Try their key or email address. Type people to see everyone." in text
    assert "invalid duration “soon”: use e.g. 30m, 2h, 3d or 1w. For example: advance 3d" in text
    assert "There is no button [7777]." in text


async def test_reassign_and_away_in_the_shell(shell_runtime):
    runtime, clock = shell_runtime
    t = await run(
        runtime,
        clock,
        "bo",
        [
            "away until 2026-03-01",
            "advance 1d",
            button("Not me / not sure"),
            "zed",
            "n",
            "",
            "Cy Tokyo",
            "away until 2026-03-20",
            "advance 7d",
            "quit",
        ],
    )
    text = t.text
    assert "is in the past" in text
    assert "  ⚠ Nobody called “zed” is known to mlpulse. Try their key or email address." in text
    assert "│ Handed over to Cy Tokyo. Thanks for pointing us the right way." in text
    assert "📨 sent to Cy Tokyo: Check-in: Churn predictor" in text
    assert "You are away until Fri 20 Mar 2026." in text
    assert "⏱  Tue 10 Mar 2026, 10:00 (your time): 2 check-ins sent, 1 skipped (away)." in text


def test_demo_command_runs_from_a_clean_directory(tmp_path):
    (tmp_path / "app.yaml").write_text((ROOT / "app.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "DATABASE_URL", "MLPULSE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "shell", "--demo"],
        input="/mlstatus\n/mlstatus churn\nas dana\ncheckins\nquit\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"Demo: mlpulse-demo.db seeded from app.yaml with \d+ past check-ins over 12 weeks.", out)
    assert "you are Priya Raman (priya, ML lead)" in out
    health = re.search(r"🟢 (\d+) healthy · 🟠 (\d+) degraded · 🔴 (\d+) abandoned · ⚪ (\d+) silent · ❔ (\d+) unknown", out)
    assert health and all(int(n) >= 1 for n in health.groups()), health
    assert "Churn predictor (churn)" in out and "Recent check-ins:" in out
    assert "You are now Dana Kim (dana)." in out and "check-ins waiting for your answer" in out
    assert (tmp_path / "mlpulse-demo.db").exists()


def receipt_status(printed: str) -> str:
    """Type /mlreport status with the last receipt code shown."""
    return f"/mlreport status {re.findall(r'R-[A-Z0-9]{4}-[A-Z0-9]{4}', printed)[-1]}"


async def test_a_failure_report_is_filed_fixed_inline_and_triaged_in_the_shell(shell_runtime):
    runtime, clock = shell_runtime
    t = await run(
        runtime,
        clock,
        "ana",
        [
            "/mlreport churn",
            "",
            "Scores went flat after the CRM migration.",
            "2030-01-01",
            "major",
            "often",
            "n",
            "2026-02-28",
            receipt_status,
            "as owner",
            "inbox",
            button("Triage…"),
            "",
            "bo",
            "",
            "",
            "",
            "as ana",
            "inbox",
            "quit",
        ],
    )
    text = t.text
    assert "  ⚠ That date is in the future. When did you first notice the problem?" in text
    assert "Your report about Churn predictor is with its owner" in text
    assert "│ ┌─ Report R-" in text and "│    Status: Open" in text
    assert "📨 sent to Owner: New report about Churn predictor: major impact" in text
    assert "│    Reported by: Ana" in text
    assert "│    Status: Triaged" in text and "│    Assignee: Bo" in text
    assert "│ Your report about Churn predictor (R-" in text and "is now triaged, moved by Owner." in text


async def test_an_anonymous_report_in_the_shell_gives_a_code_that_follows_it(shell_runtime):
    runtime, clock = shell_runtime
    t = await run(
        runtime,
        clock,
        "bo",
        [
            "/mlreport",
            "fraud",
            "It flags every invoice.",
            "",
            "critical",
            "",
            "y",
            receipt_status,
            "quit",
        ],
    )
    text = t.text
    assert "was filed anonymously: your name was not stored anywhere" in text
    assert "│ It flags every invoice." in text and "│    Impact: critical" in text
    async with runtime.sessions() as session:
        report = (await session.exec(select(FailureReport))).one()
    assert (report.anonymous, report.reporter_id) == (True, None)


async def test_a_forum_is_announced_answered_and_written_up_in_the_shell(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'forum.db'}"
    await asyncio.to_thread(upgrade, url)
    portfolio = f.small_portfolio().model_dump()
    portfolio["units"][0].update(channel="#sales", forum={"every": "1 week", "on": "wed", "at": "15:00", "duration": "30m", "announce": "1d"})
    clock = ManualClock(MONDAY)
    runtime = await Runtime.start(Settings(app=f.decl(**portfolio)), ShellMessenger(), clock, url=url)
    try:
        t = await run(
            runtime,
            clock,
            "ana",
            [
                "/mlforum",
                "advance 2d",
                "channel #sales",
                button("Going"),
                "/mlforum propose Seasonal staffing",
                "as lead",
                "advance 1d",
                "inbox",
                button("Record notes"),
                "Agreed to retrain.",
                "Retrain on February data",
                "owner",
                "2026-03-11",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "quit",
            ],
        )
    finally:
        await runtime.close()
    text = t.text
    assert "Sales × ML review forum: every week on Wednesday at 15:00 (UTC), 30 minutes, announced 1 day ahead" in text
    assert "📨 sent to #sales: 📅 Sales × ML review forum · Wed 4 Mar 2026, 15:00 (UTC) (type: channel #sales)" in text
    assert "You're going ✅" in text
    assert "📨 updated for #sales" in text
    assert "“Seasonal staffing” is on the agenda of the next Sales × ML review forum on Wed 4 Mar 2026, 15:00 (your time)." in text
    assert "How did the Sales × ML review forum go?" in text
    assert "Notes saved with 1 action item; each owner has been told." in text
    assert "📨 sent to Owner: Action item: Retrain on February data" in text


async def test_a_refused_value_in_a_form_asks_again_for_that_field_and_keeps_the_rest(shell_runtime):
    runtime, clock = shell_runtime
    t = await run(
        runtime,
        clock,
        "bo",
        [
            "/mlreport",
            "fraud",
            "It flags \x00 every invoice.",
            "",
            "major",
            "",
            "",
            "It flags every invoice.",  # asked again for that field alone
            "quit",
        ],
    )
    assert "⚠️  This contains a character that cannot be saved" in t.text
    async with runtime.sessions() as session:
        report = (await session.exec(select(FailureReport))).one()
    assert (report.what_happened, report.impact) == ("It flags every invoice.", "major")


async def test_live_messages_in_the_shell_a_checkin_answered_from_its_reminder_and_a_report_closed(shell_runtime):
    runtime, clock = shell_runtime
    t = await run(
        runtime,
        clock,
        "bo",
        [
            "advance 1d",
            "advance 1d",
            button("Yes, works well"),  # on the reminder, the last one shown
            "/mlreport churn",
            "",  # the model, as chosen
            "Scores are all 0.5 since Monday.",
            "2026-03-02",
            "major",
            "always",
            "n",
            "as owner",
            "inbox",
            button("Won't fix…"),
            "",
            "",
            "",
            "",
            "The scores are right: the customers did churn.",
            "quit",
        ],
    )
    text = t.text
    # The answer given on the reminder (#7, rewritten by the press) shows on the first question (#3) too, which loses its answer buttons.
    assert text.count("✏️  message #7 updated:") == 1
    first = text.split("✏️  message #3 updated:")[1].split("\n\n[")[0]
    assert "Recorded: Yes, works well, by Bo" in first and "Change answer" in first and "Yes, works well " not in first
    # The owner's copy of the report is rewritten once it is closed: no Triage…, just Reopen.
    shown = text.split("Report updated")[1]
    assert "updated:" in shown
    card = shown.split("updated:")[1].split("\n\n[")[0]
    assert "Status: Won't fix" in card and "Reopen" in card and "Triage…" not in card


async def test_live_messages_in_the_shell_a_forum_that_has_passed(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'forum.db'}"
    await asyncio.to_thread(upgrade, url)
    portfolio = f.small_portfolio().model_dump()
    portfolio["units"][0].update(channel="#sales", timezone="America/New_York")
    portfolio["units"][0]["forum"] = {"every": "1 month", "on": "first tue", "at": "15:00", "duration": "60m", "announce": "7d"}
    clock = ManualClock(MONDAY)  # the forum is on Tuesday 3 March, so it is announced at once
    runtime = await Runtime.start(Settings(app=f.decl(**portfolio)), ShellMessenger(), clock, url=url)
    try:
        t = await run(runtime, clock, "ana", ["channel #sales", "advance 2d", "channel #sales", "quit"])
    finally:
        await runtime.close()
    before, after = t.text.split("⏩ It is now")
    assert "Going" in before and "Can't make it" in before
    # The announcement and its reminder, as they stand after the forum: no RSVP buttons on either.
    posts = after.split("[ana · ")[1]
    assert posts.count(" in #sales") == 2 and "Going" not in posts and "Can't make it" not in posts
    assert "This forum has taken place." in posts and "RSVPs are closed" in posts


async def test_at_a_form_prompt_a_command_is_refused_help_explains_and_a_bad_value_can_be_erased(shell_runtime):
    runtime, clock = shell_runtime
    t = await run(
        runtime,
        clock,
        "bo",
        [
            "/mlreport",
            "/mlstatus",  # refused; the same question again
            "fraud",
            "help",
            "It flags every invoice.",
            "last week",
            "major",
            "",
            "maybe",
            "n",
            "-",  # the refused date, erased
            "quit",
        ],
    )
    assert "/mlstatus is a command, not an answer. Finish this form first, or type cancel to leave it." in t.text
    assert "cancel (or Ctrl-C) leaves the form" in t.text and "Answer y or n." in t.text
    assert "“last week” is not a date" in t.text
    async with runtime.sessions() as session:
        report = (await session.exec(select(FailureReport))).one()
    assert (report.what_happened, report.since, report.impact, report.anonymous) == ("It flags every invoice.", None, "major", False)


async def test_ctrl_c_or_cancel_leaves_the_form_and_not_the_shell(shell_runtime):
    runtime, clock = shell_runtime
    t = await run(runtime, clock, "bo", ["/mlreport", "fraud", INTERRUPTED, "/mlstory", "cancel", INTERRUPTED, "whoami", "help", "quit"])
    assert t.text.count("Form cancelled; nothing was saved.") == 2
    assert "(Type quit to leave the shell.)" in t.text and "You are Bo (bo)" in t.text
    assert "cancel (or Ctrl-C) leaves the form without saving anything" in t.text.split("whoami")[-1]
    async with runtime.sessions() as session:
        assert (await session.exec(select(FailureReport))).all() == []


async def test_the_line_reader_answers_ctrl_c_at_once_and_keeps_the_line_being_typed():
    read_end, write_end = os.pipe()
    with os.fdopen(read_end) as stream, os.fdopen(write_end, "w") as typing:
        reader = LineReader(stream, write=lambda text: None)
        waiting = asyncio.ensure_future(reader("> "))
        await asyncio.sleep(0)  # the read is under way
        reader.interrupt()
        assert await waiting == INTERRUPTED
        typing.write("fraud\n")
        typing.flush()
        assert await reader("> ") == "fraud"
        typing.close()
        assert await reader("> ") is None


async def test_the_shell_takes_a_command_a_feature_adds_with_no_change_of_its_own(shell_runtime, monkeypatch):
    from handlers import router
    from tests.handlers.test_commands import HELLO

    monkeypatch.setattr(router, "COMMANDS", (*router.COMMANDS, HELLO))
    monkeypatch.setattr(router, "BY_NAME", {**router.BY_NAME, HELLO.name: HELLO})
    runtime, clock = shell_runtime
    t = await run(runtime, clock, "ana", ["/mlhello", "quit"])
    assert "Hello Ana" in t.text and "I don't know" not in t.text
