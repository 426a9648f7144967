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
    MODEL_KEEP = "model.keep"
    MY_CHECKINS = "me.checkins"
    SHARE = "share"
    AWAY_SET = "me.away"


class FormId(StrEnum):
    CHECKIN_FOLLOWUP = "checkin.followup"
    CHECKIN_REASSIGN = "checkin.reassign"
    AWAY = "me.away"
