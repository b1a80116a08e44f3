"""The parse cache (cnncalc.core.parsecache): a spec read back from it is the spec PyYAML
parses, value for value and line for line, and the cache never changes a result or a message.

The truth is the parser itself with the cache off (`CNNCALC_CACHE_DIR=off`), compared by a
walk written here that checks types (True is not 1), floats bit for bit (nan, -0.0) and every
line a mapping, key or list item keeps.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cnncalc.core import parsecache
from cnncalc.core.loader import LineDict, LineList, load_yaml
from cnncalc.errors import CnnCalcError

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "specs").glob("*.yaml"))

TRICKY = {
    "anchors and merge keys": """
        base: &base {filters: 8, kernel: 3}
        layers:
          - conv: {<<: *base, filters: 16}
          - conv: *base
          - seq: [*base, {<<: [*base], stride: 2}]
    """,
    "keys that are not text": """
        7: seven
        true: yes-text
        null: nothing
        1.5: a float key
        -0.0: negative zero
        "2": text two
    """,
    "floats and integers": f"""
        values: [.inf, -.inf, .nan, -0.0, 0.0, 1e-300, 0x1f, 0o17, +010, 1.5e3]
        big: {"9" * 4300}
        negative: -{"9" * 4299}
    """,
    "text that looks like the cache's own layout": """
        m: {"m": 1, "k": [], "v": []}
        l: ["l", {"l": 2, "i": [], "v": []}]
        quoted: '{"m": 1}'
        empty_map: {}
        empty_list: []
        yes: no
        unicode: "é ✓ \\u2028 emoji 🎉"
    """,
    "nested lists": """
        - [[[1, [2, [3]]]], {a: [{b: [c]}]}]
        - - - deep
    """,
}


def same(a: object, b: object, where: str = "root") -> None:
    """Equal values of equal types, with equal lines (an assert naming the place)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a)
                                                      == math.copysign(1, b)), where
    elif isinstance(a, LineDict):
        assert a.line == b.line, f"{where}: line {a.line} != {b.line}"
        assert list(a.key_lines.items()) == list(b.key_lines.items()), where
        assert [repr(k) for k in a] == [repr(k) for k in b], where
        for (key, x), y in zip(a.items(), b.values(), strict=True):
            same(key, next(k for k in b if repr(k) == repr(key)), f"{where}.{key!r} (key)")
            same(x, y, f"{where}.{key!r}")
    elif isinstance(a, LineList):
        assert (a.line, a.item_lines) == (b.line, b.item_lines), where
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{index}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def parsed_without_cache(text: str, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as patch:
        patch.setenv("CNNCALC_CACHE_DIR", "off")
        return load_yaml(text, "t.yaml")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CNNCALC_CACHE_DIR", str(folder))
    return folder


@pytest.mark.parametrize("text", [p.read_text() for p in BUNDLED] + [
    textwrap.dedent(t) for t in TRICKY.values()],
    ids=[p.stem for p in BUNDLED] + list(TRICKY))
def test_a_spec_read_back_is_the_spec_parsed(text: str, cache: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = parsed_without_cache(text, monkeypatch)
    first = load_yaml(text, "t.yaml")  # parsed, and kept
    assert len(list(cache.glob("yaml-*.json"))) == 1
    kept = parsecache.get(text)
    assert kept is not None
    same(first, fresh)
    same(kept, fresh)
    same(load_yaml(text, "t.yaml"), fresh)  # read back through the front door


def test_a_second_show_reads_no_yaml_and_prints_the_same(cache: Path) -> None:
    script = ("import runpy, sys\nsys.argv = ['cnncalc', 'show', 'resnet18']\n"
              "try:\n    runpy.run_module('cnncalc', run_name='__main__')\n"
              "except SystemExit:\n    pass\nprint('yaml imported:', 'yaml' in sys.modules)\n")
    env = {**os.environ, "CNNCALC_CACHE_DIR": str(cache), "COLUMNS": "200"}

    def run() -> str:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=env, check=True)
        return done.stdout

    first, second = run(), run()
    assert first.endswith("yaml imported: True\n")
    assert second.endswith("yaml imported: False\n")
    assert first.removesuffix("yaml imported: True\n") == \
        second.removesuffix("yaml imported: False\n")


def test_a_text_with_the_same_checksum_is_parsed_afresh(cache: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsecache, "_path", lambda where, text: where / "yaml-same.json")
    load_yaml("a: 1\n", "t.yaml")
    assert load_yaml("a: 2\n", "t.yaml") == {"a": 2}
    assert load_yaml("a: 1\n", "t.yaml") == {"a": 1}


@pytest.mark.parametrize("damage", [
    "", "{", "[]", '{"version": 1}', "null",
    '{"version": "%s", "text": "a: 1\\n", "tree": {"m": 1, "k": [], "v": [[1, [2]]]}}',
    '{"version": "%s", "text": "a: 1\\n", "tree": {"l": 1}}',
    '{"version": "%s", "text": "a: 1\\n", "tree": {"m": 1, "k": [[[1], 1]], "v": []}}',
])
def test_a_damaged_entry_is_parsed_afresh_and_written_again(damage: str, cache: Path) -> None:
    text = "a: 1\n"
    load_yaml(text, "t.yaml")
    (entry,) = cache.glob("yaml-*.json")
    entry.write_text(damage.replace("%s", parsecache._parser_version()))
    assert parsecache.get(text) is None
    tree = load_yaml(text, "t.yaml")
    assert tree == {"a": 1} and tree.line_of("a") == 1
    assert parsecache.get(text) == {"a": 1}


def test_an_entry_of_another_parser_is_not_used(cache: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    load_yaml("a: 1\n", "t.yaml")
    monkeypatch.setattr(parsecache, "_version", "another parser")
    assert parsecache.get("a: 1\n") is None


def test_a_text_with_an_error_is_never_kept(cache: Path) -> None:
    text = "a: 1\na: 2\n"
    messages = []
    for _ in range(2):
        with pytest.raises(CnnCalcError) as error:
            load_yaml(text, "t.yaml")
        messages.append(str(error.value))
    assert messages[0] == messages[1] == "t.yaml:2: duplicate key 'a' (first on line 1)"
    assert not cache.exists() or not list(cache.glob("yaml-*.json"))


@pytest.mark.parametrize("setting", ["off", "", "OFF", "0", "none"])
def test_the_cache_can_be_turned_off(setting: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNNCALC_CACHE_DIR", setting)
    monkeypatch.chdir(tmp_path)
    assert load_yaml("a: 1\n", "t.yaml") == {"a": 1}
    assert parsecache.folder() is None
    assert list(tmp_path.iterdir()) == []


def test_the_default_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CNNCALC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert parsecache.folder() == tmp_path / "cnncalc"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert parsecache.folder() == tmp_path / "home" / ".cache" / "cnncalc"


def test_a_folder_that_cannot_be_written_changes_nothing(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CNNCALC_CACHE_DIR", str(blocker / "cache"))
    assert load_yaml("a: [1, 2]\n", "t.yaml") == {"a": [1, 2]}
    assert blocker.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a file"]


def test_the_oldest_entries_go_first(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsecache, "MAX_ENTRIES", 3)
    for n in range(5):
        load_yaml(f"a: {n}\n", "t.yaml")
        newest = max(cache.glob("yaml-*.json"), key=lambda p: p.stat().st_mtime_ns)
        os.utime(newest, ns=(n * 10**9, n * 10**9))  # distinct times, in the order written
    assert len(list(cache.glob("yaml-*.json"))) == 3
    assert parsecache.get("a: 0\n") is None and parsecache.get("a: 1\n") is None
    assert [parsecache.get(f"a: {n}\n") for n in (2, 3, 4)] == [{"a": 2}, {"a": 3}, {"a": 4}]


def test_a_long_text_is_not_kept(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsecache, "MAX_TEXT", 10)
    assert load_yaml("a: 1234567890\n", "t.yaml") == {"a": 1234567890}
    assert not cache.exists() or not list(cache.glob("yaml-*.json"))
    assert load_yaml("a: 1\n", "t.yaml") == {"a": 1}
    assert len(list(cache.glob("yaml-*.json"))) == 1
