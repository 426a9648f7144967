"""Handlers layer: the one place for action and form ids.

A Slack `action_id`, a Teams `Action.Submit` payload and a numbered shell button all
carry one of these strings, and `handlers.router` sends each to its handler.
"""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    CHECKIN_WORKS = "checkin.works"
    CHECKIN_PROBLEMS = "checkin.problems"
    CHECKIN_STOPPED = "checkin.stopped"
    CHECKIN_NOT_ME = "checkin.not_me"
    CHECKIN_DETAILS = "checkin.details"
    CHECKIN_CHANGE = "checkin.change"
    CHECKIN_SNOOZE = "checkin.snooze"
    STATUS_PAGE = "status.page"
    STATUS_MODEL = "status.model"
    STATUS_UNIT = "status.unit"
    MODEL_RETIRE = "model.retire"
    MODEL_RETIRE_CONFIRM = "model.retire_confirm"
    MODEL_RESTORE = "model.restore"
    MY_CHECKINS = "me.checkins"
    SHARE = "share"
    AWAY_SET = "me.away"
    REPORT_OPEN = "report.open"
    REPORT_VIEW = "report.view"
    REPORT_MOVE = "report.move"
    STORY_OPEN = "story.open"
    STORY_APPROVE = "story.approve"
    STORY_EDIT = "story.edit"
    STORY_DECLINE = "story.decline"
    STORY_FROM_CHECKIN = "story.from_checkin"
    FORUM_RSVP_GOING = "forum.going"
    FORUM_RSVP_NOT_GOING = "forum.not_going"
    FORUM_NOTES = "forum.notes"
    FORUM_PROPOSE = "forum.propose"
    FORUM_CANCEL = "forum.cancel"
    FORUM_CANCEL_CONFIRM = "forum.cancel_confirm"
    FORUM_STOP = "forum.stop"
    ACTION_ITEM_DONE = "action_item.done"


class FormId(StrEnum):
    CHECKIN_FOLLOWUP = "checkin.followup"
    CHECKIN_REASSIGN = "checkin.reassign"
    AWAY = "me.away"
    REPORT = "report.file"
    REPORT_UPDATE = "report.update"
    STORY = "story.submit"
    STORY_DECLINE = "story.decline"
    FORUM_SCHEDULE = "forum.schedule"
    FORUM_NOTES = "forum.notes"
    FORUM_TOPIC = "forum.topic"
