"""Bot layer: the Teams app package (`mlpulse teams package`), a zip ready to upload.

It holds `manifest.json` (the bot's id, its scopes and the command list that Teams
shows in the compose box) and the two icons Teams requires: a 192×192 colour icon
and a 32×32 outline icon, white on transparent. The icons are drawn here, so the
package needs nothing but the bot's app id.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw

from handlers import router

MANIFEST_VERSION = "1.17"
SCHEMA = f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
ACCENT = "#2F6FDE"
# The pulse line the icons show, on a 0..1 square.
_PULSE = [(0.08, 0.55), (0.32, 0.55), (0.42, 0.28), (0.54, 0.78), (0.64, 0.45), (0.72, 0.55), (0.92, 0.55)]


def suggestions() -> list[dict]:
    """Return what Teams suggests in the compose box, from every command's own suggestions (at most 10, titles up to 32 characters)."""
    return [{"title": title, "description": about[:128]} for command in router.COMMANDS for title, about in command.suggestions][:10]


def build_manifest(app_id: str, version: str, website: str) -> dict:
    """Return manifest.json for the bot registered as `app_id`."""
    scopes = ["personal", "team", "groupChat"]
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": str(uuid.UUID(app_id)),
        "developer": {"name": "mlpulse", "websiteUrl": website, "privacyUrl": website, "termsOfUseUrl": website},
        "name": {"short": "mlpulse", "full": "mlpulse: keep ML models and their users in touch"},
        "description": {
            "short": "Check-ins, failure reports and review forums for ML models in use.",
            "full": "mlpulse asks the business teams that use your ML models whether they still use them and whether they still work, "
            "collects failure reports (anonymously if wished), runs review forums, posts success stories and a weekly digest.",
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": app_id,
                "scopes": scopes,
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [{"scopes": scopes, "commands": suggestions()}],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
    }


def _icon(size: int, outline: bool) -> bytes:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0) if outline else ACCENT)
    draw = ImageDraw.Draw(image)
    width = max(2, size // 14)
    draw.line([(x * size, y * size) for x, y in _PULSE], fill=(255, 255, 255, 255), width=width, joint="curve")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def write_package(path: Path, app_id: str, version: str = "1.0.0", website: str = "https://github.com/mlpulse/mlpulse") -> Path:
    """Write the Teams app package to `path` and return it."""
    manifest = build_manifest(app_id, version, website)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2))
        package.writestr("color.png", _icon(192, outline=False))
        package.writestr("outline.png", _icon(32, outline=True))
    return path
