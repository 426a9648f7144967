"""`mlpulse teams package`: a zip Teams accepts, naming the bot, listing the commands the bot understands."""

from __future__ import annotations

import io
import json
import zipfile

from PIL import Image

from bot.cli import main
from bot.teams.app import command_of, command_words
from handlers import router

APP_ID = "3f2b8c1e-0d4a-4c6e-9b7a-1e2f3a4b5c6d"


def test_the_package_holds_a_manifest_naming_the_bot_and_icons_of_the_required_sizes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    monkeypatch.setenv("MICROSOFT_APP_PASSWORD", "s3cr3t-from-azure")
    (tmp_path / "app.yaml").write_text("people: []\n")
    out = tmp_path / "pkg.zip"
    assert main(["--config", str(tmp_path / "app.yaml"), "teams", "package", "--out", str(out), "--version", "1.2.3"]) == 0
    assert "Upload an app" in capsys.readouterr().out
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        color = Image.open(io.BytesIO(package.read("color.png")))
        outline = Image.open(io.BytesIO(package.read("outline.png")))
    assert manifest["id"] == APP_ID and manifest["version"] == "1.2.3" and manifest["manifestVersion"] == "1.17"
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID and set(bot["scopes"]) == {"personal", "team", "groupChat"}
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80 and len(manifest["description"]["full"]) <= 4000
    assert (color.format, color.size) == ("PNG", (192, 192)) and (outline.format, outline.size) == ("PNG", (32, 32))
    # The outline icon is white on transparent, as Teams requires.
    rgba = outline.convert("RGBA")
    pixels = [rgba.getpixel((x, y)) for x in range(32) for y in range(32)]
    assert {(r, g, b) for r, g, b, a in pixels if a} == {(255, 255, 255)}
    assert {a for *_, a in pixels} >= {0, 255}

    [commands] = bot["commandLists"]
    assert len(commands["commands"]) <= 10
    for command in commands["commands"]:
        assert len(command["title"]) <= 32 and len(command["description"]) <= 128
        # Every suggested command is one the bot routes somewhere it knows.
        name, *rest = command_of(command["title"]).split()
        assert name in set(command_words().values())
        if name == "/mlpulse":
            assert rest[0] in {typed.split()[1] for typed, _ in router.MLPULSE.help}


def test_without_an_app_id_the_package_says_what_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MICROSOFT_APP_ID", raising=False)
    (tmp_path / "app.yaml").write_text("people: []\n")
    assert main(["--config", str(tmp_path / "app.yaml"), "teams", "package", "--out", str(tmp_path / "x.zip")]) == 2
    assert "set MICROSOFT_APP_ID" in capsys.readouterr().err and not (tmp_path / "x.zip").exists()
