"""Bot layer: configuration, read once from app.yaml and the environment.

`Settings` is the one object that holds it. Secrets come only from the environment;
the portfolio comes only from app.yaml. A bad file stops start-up with a
`ConfigError` that names the file, the line, the field and what is wrong. No other
module reads `os.environ`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from handlers.context import Policy
from handlers.declarations import SECRET_KEYS, PortfolioDecl, find_reference_errors

DEFAULT_CONFIG = Path("app.yaml")
APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
PLACEHOLDERS = ("changeme", "change-me", "your-", "xoxb-your", "xapp-your", "todo", "placeholder", "<", "...")


class _Loader(yaml.SafeLoader):
    """YAML with 1.2 booleans: only true/false, so `on: [tue]` keeps its key "on"."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


class ConfigError(Exception):
    """app.yaml (or the environment) is wrong; the message says where and how."""


class Settings(BaseSettings):
    """Everything mlpulse is configured with."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    app: PortfolioDecl = PortfolioDecl()
    database_url: str | None = None
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    microsoft_app_id: str | None = None
    microsoft_app_password: SecretStr | None = None
    microsoft_app_tenant_id: str | None = None
    microsoft_app_type: str = "MultiTenant"
    teams_emulator: bool = Field(
        default=False, exclude=True, description="serve Teams with no app id (set by `mlpulse run --teams-emulator`, never by the environment)"
    )
    mlpulse_config: Path = DEFAULT_CONFIG

    @field_validator("slack_bot_token", "slack_app_token", "slack_signing_secret", "microsoft_app_password")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            raw = value.get_secret_value().strip().lower()
            if not raw or any(raw.startswith(p) or raw == p.strip("-") for p in PLACEHOLDERS):
                raise ValueError("looks like a placeholder, not a real secret")
        return value

    @field_validator("microsoft_app_type")
    @classmethod
    def _app_type(cls, value: str, info: ValidationInfo) -> str:
        """Accept the three Azure Bot app types, and insist on what each needs to get tokens."""
        kind = {t.lower(): t for t in APP_TYPES}.get(value.strip().lower())
        if kind is None:
            raise ValueError(f"must be one of {', '.join(APP_TYPES)} (the app type of the Azure Bot resource)")
        if info.data.get("microsoft_app_id"):
            if kind != "UserAssignedMSI" and info.data.get("microsoft_app_password") is None:
                raise ValueError(f"{kind} needs MICROSOFT_APP_PASSWORD (the client secret of the bot's app registration)")
            if kind != "MultiTenant" and not info.data.get("microsoft_app_tenant_id"):
                raise ValueError(f"{kind} needs MICROSOFT_APP_TENANT_ID (the directory the bot's app registration lives in)")
        return kind

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        # app.yaml reaches Settings through init arguments (see load_settings), so that
        # only the secrets and DATABASE_URL come from the environment.
        return (init_settings, _SecretsOnlyEnv(env_settings))

    @property
    def has_slack(self) -> bool:
        return self.slack_bot_token is not None and (self.slack_app_token is not None or self.slack_signing_secret is not None)

    @property
    def has_teams(self) -> bool:
        return bool(self.microsoft_app_id) or self.teams_emulator

    @property
    def platforms(self) -> tuple[str, ...]:
        """Return the chat platforms `mlpulse run` connects to."""
        return tuple(name for name, on in (("slack", self.has_slack), ("teams", self.has_teams)) if on)

    def policy(self) -> Policy:
        """Return the handler-facing policy this configuration implies."""
        c = self.app.checkins
        return Policy(
            timezone=self.app.workspace.timezone,
            default_cadence=c.to_cadence(),
            reminder_after=c.reminder_delay,
            max_reminders=c.reminders,
            digest_cron=self.app.digest.cron,
            digest_channel=self.app.digest.channel,
            stories_channel=self.app.stories.channel or self.app.digest.channel,
            platforms=self.platforms,
        )


class _SecretsOnlyEnv(PydanticBaseSettingsSource):
    def __init__(self, env: PydanticBaseSettingsSource):
        super().__init__(env.settings_cls)
        self._env = env

    def get_field_value(self, field, field_name):  # pragma: no cover - __call__ does the work
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._env().items() if k not in ("app", "teams_emulator")}


def load_settings(path: str | Path | None = None) -> Settings:
    """Read app.yaml (or `path`) and the environment into `Settings`, or raise ConfigError."""
    try:
        base = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"environment variable {str(first['loc'][0]).upper()}: {first['msg']}") from None
    config = Path(path) if path else base.mlpulse_config
    return base.model_copy(update={"app": load_portfolio(config), "mlpulse_config": config})


def load_portfolio(path: Path) -> PortfolioDecl:
    """Read and check a portfolio file, or raise ConfigError naming file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found. Copy the app.yaml from the mlpulse repository and edit it, or pass --config.") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        root = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: not valid YAML: {exc.problem or exc.context}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the file must be a mapping of sections (workspace, checkins, people, units, models, ...)")
    for key in data:
        if SECRET_KEYS.search(str(key)):
            raise ConfigError(f"{path}:{_line(root, (key,))}: {key}: secrets do not belong in app.yaml; set them in the environment (e.g. SLACK_BOT_TOKEN)")
    try:
        decl = PortfolioDecl.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and _UNION_TAG.match(p)))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; see the comments in the example app.yaml)"
        elif error["type"] == "missing":
            message = "required field is missing"
        raise ConfigError(f"{path}:{_line(root, loc)}: {_dotted(loc)}: {message}") from None
    problems = find_reference_errors(decl)
    if problems:
        loc, message = problems[0]
        raise ConfigError(f"{path}:{_line(root, loc)}: {_dotted(loc)}: {message}")
    return decl


# pydantic puts the union member or validator it tried into an error's location.
_UNION_TAG = re.compile(r"^(str|int|float|bool|date|list\[.*\]|function-.*)$")


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _line(node: yaml.Node | None, loc: tuple) -> int:
    """Return the 1-based line of the deepest node along `loc` that exists."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    line, child = key.start_mark.line + 1, value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
