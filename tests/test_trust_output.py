"""Output that never destroys input, baselines that are checked, output that never injects
(issue 13, classes 6, 8 and 9).

- `-o` never writes onto a file the command read: the spec under any spelling (relative,
  absolute, `..`, a symlink, a hard link), standard input redirected from it, a bundled spec,
  an `extends` base (and its base), a `--baseline`, a spec that failed to load, a glob's match.
  A missing folder, a folder, a read-only file or a full disk is exit 2 naming the path, and
  the old file is intact (a temporary file, then a rename). A hypothesis test draws specs
  (every bundled spec, random specs, random bytes), commands and targets.
- `check --baseline` validates the file field by field: exit 2 naming the file and the field.
- Control characters (C0 but newline, DEL, C1), U+2028/U+2029 and Unicode's Bidi_Control
  characters (UAX #9) never reach any output raw; no output line is a GitHub Actions command
  (the runner reads `::` at a line start and `##[` anywhere: actions/runner ActionCommand.cs),
  and every annotation is one line escaped as GitHub's toolkit escapes (`%25`, `%0D`, `%0A`,
  and `%3A`, `%2C` in properties).
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cnncalc.commands import app
from cnncalc.core.catalog import bundled

ROOT = Path(__file__).resolve().parent.parent
SPEC = "name: net\ninput: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 3}\n  - relu\n"
# The spec's params by hand: 3*3*3*4 weights + 4 biases = 112.
PARAMS = 112

#: Every command that reads a spec and takes -o, with arguments that make it succeed on SPEC.
READERS: dict[str, list[str]] = {
    "show": ["show", "{spec}"],
    "show-json": ["show", "{spec}", "-f", "json"],
    "scale": ["scale", "{spec}", "--width", "2"],
    "scale-yaml": ["scale", "{spec}", "--width", "2", "--yaml"],
    "compare": ["compare", "{spec}", "lenet5"],
    "check": ["check", "{spec}", "--max-params", "1M"],
    "memory": ["memory", "{spec}"],
    "fit": ["fit", "{spec}", "--by", "width", "--max-params", "1M", "--from", "1", "--to", "1"],
    "explain": ["explain", "{spec}"],
}


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def invoke(args: list[str], **kw: object):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, [str(a) for a in args], **kw)  # type: ignore[arg-type]
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args, result.output, result.exception)
    assert "Traceback" not in result.output
    return result


def args_for(command: str, spec: str | Path) -> list[str]:
    return [a.replace("{spec}", str(spec)) for a in READERS[command]]


def leftovers(folder: Path) -> list[str]:
    """Temporary files a write left behind (there must be none)."""
    return [p.name for p in folder.iterdir() if "cnncalc-tmp" in p.name]


def refused(result, path: str | Path) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert any(line.startswith(f"{Path(path)}: ") and "onto an input" in line
               for line in result.stderr.splitlines()), result.stderr


# --------------------------------------------------------------------------- class 6: -o

SPELLINGS = ["absolute", "relative", "dotdot", "symlink", "hardlink"]


def spelling(kind: str, spec: Path) -> str:
    """Another name for `spec` (the working directory is its folder)."""
    if kind == "absolute":
        return str(spec.resolve())
    if kind == "relative":
        return spec.name
    if kind == "dotdot":
        return f"../{spec.parent.name}/./{spec.name}"
    link = spec.parent / f"{kind}-{spec.name}"
    if not link.exists():
        (os.symlink if kind == "symlink" else os.link)(spec.name if kind == "symlink"
                                                       else spec, link)
    return link.name


@pytest.mark.parametrize("command", READERS)
@pytest.mark.parametrize("kind", SPELLINGS)
def test_output_onto_the_spec_under_any_name_is_refused(
        command: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    target = spelling(kind, spec)
    result = invoke([*args_for(command, "net.yaml"), "-o", target])
    refused(result, target)
    assert spec.read_text() == SPEC and leftovers(tmp_path) == []


def test_verify_refuses_too(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    refused(invoke(["verify", spec, "--device", "meta", "-o", spec]), spec)
    assert spec.read_text() == SPEC


@pytest.mark.parametrize("command", READERS)
def test_extends_bases_are_inputs(command: str, tmp_path: Path) -> None:
    """Reading a child reads its base and the base's base: none may be the output."""
    (tmp_path / "grand.yaml").write_text(SPEC)
    (tmp_path / "base.yaml").write_text("extends: grand.yaml\nname: base\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for target in ("base.yaml", "grand.yaml"):
        refused(invoke([*args_for(command, tmp_path / "child.yaml"), "-o",
                        tmp_path / target]), tmp_path / target)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_standard_input_redirected_from_the_output_is_refused(tmp_path: Path) -> None:
    """`cnncalc show - -o net.yaml < net.yaml`: the file behind stdin is an input."""
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    with open(spec, "rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "cnncalc", "show", "-", "-o", str(spec)],
                              stdin=stdin, capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert proc.returncode == 2 and "onto an input" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and spec.read_text() == SPEC


def test_standard_input_from_a_pipe_may_write_anywhere(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = invoke(["show", "-", "-o", out], input=SPEC)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["totals"]["params"] == PARAMS


def test_baseline_and_every_checked_spec_are_inputs(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    baseline = tmp_path / "base.json"
    assert invoke(["show", spec, "-f", "json", "-o", baseline]).exit_code == 0
    saved = baseline.read_bytes()
    refused(invoke(["check", spec, "--baseline", baseline, "-o", baseline]), baseline)
    # a quoted glob's match, and a spec that is not even UTF-8 (check reports it and goes on)
    broken = tmp_path / "broken.yaml"
    broken.write_bytes(b"name: \xe9\n")
    for target in (spec, broken):
        refused(invoke(["check", str(tmp_path / "*.yaml"), "-o", target]), target)
    assert baseline.read_bytes() == saved and spec.read_text() == SPEC
    assert broken.read_bytes() == b"name: \xe9\n"


@pytest.mark.parametrize("args", [["show", "lenet5"], ["specs"],
                                  ["compare", "vgg16", "lenet5"]])
def test_bundled_specs_are_inputs(args: list[str]) -> None:
    path = bundled()["lenet5"]
    saved = path.read_bytes()
    try:
        result = invoke([*args, "-o", path])
    finally:
        after = path.read_bytes()
        if after != saved:  # put the repository's file back before failing
            path.write_bytes(saved)
    assert after == saved
    refused(result, path)


@pytest.mark.parametrize("command", ["show", "check", "scale-yaml"])
def test_a_folder_a_missing_folder_and_a_read_only_file(command: str, tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    (tmp_path / "folder").mkdir()
    plain = tmp_path / "plain.txt"
    plain.write_text("keep me")
    locked = tmp_path / "locked.txt"
    locked.write_text("keep me")
    locked.chmod(0o444)
    cases = {tmp_path / "folder": "is a folder",
             tmp_path / "no" / "such" / "out.txt": "does not exist",
             plain / "out.txt": "",  # a path through a file
             locked: "read-only"}
    for target, words in cases.items():
        result = invoke([*args_for(command, spec), "-o", target])
        assert result.exit_code == 2 and result.stderr.startswith(f"{target}: "), result.stderr
        assert words in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert locked.read_text() == "keep me" and plain.read_text() == "keep me"
    assert not (tmp_path / "no").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("failing", ["replace", "write", "fsync"])
@pytest.mark.parametrize("command", ["show", "scale-yaml", "schema"])
def test_a_full_disk_leaves_the_old_file(command: str, failing: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out.json"
    out.write_text("the old report")

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, failing, full)
    args = ["schema"] if command == "schema" else args_for(command, spec)
    result = invoke([*args, "-o", out])
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"{out}: cannot write: No space left on device; "
                             "the old file is unchanged\n")
    assert out.read_text() == "the old report" and leftovers(tmp_path) == []


def test_a_write_keeps_the_mode_and_follows_a_symlink(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out.csv"
    out.write_text("old")
    out.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(out.name)
    assert invoke(["show", spec, "-o", link]).exit_code == 0
    assert link.is_symlink() and stat.S_IMODE(out.stat().st_mode) == 0o640
    rows = out.read_text().splitlines()
    assert rows[0].startswith("row,") and rows[-1].startswith("total,")
    # a new file gets the mode open() would give it: 0o666 less the umask
    fresh = tmp_path / "fresh.txt"
    assert invoke(["show", spec, "-o", fresh]).exit_code == 0
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~mask


def test_dash_and_devices_are_written_directly(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    shown = invoke(["show", spec, "-o", "-", "-f", "json"])
    assert json.loads(shown.stdout)["totals"]["params"] == PARAMS
    if Path("/dev/null").exists():
        assert invoke(["show", spec, "-o", "/dev/null"]).exit_code == 0
        assert Path("/dev/null").is_char_device()


def _bundled_texts() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in bundled().values()}


BUNDLED = _bundled_texts()
TARGETS = ["spec", "absolute", "dotdot", "symlink", "hardlink", "base", "new", "other",
           "folder", "missing", "read-only"]
#: Random specs: a valid one with a random name, random YAML-ish text, random bytes.
VALID = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20).map(
    lambda name: f"name: {json.dumps(name)}\n{SPEC.split(chr(10), 1)[1]}".encode())
SPECS = st.one_of(
    st.sampled_from(sorted(BUNDLED)).map(lambda name: BUNDLED[name]), VALID, VALID,
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=60),
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=SPECS, command=st.sampled_from(sorted(READERS)),
       target=st.sampled_from([*TARGETS, "base", "base", "symlink", "hardlink"]),
       child=st.booleans())
def test_property_no_output_changes_an_input(text: bytes, command: str, target: str,
                                             child: bool) -> None:
    """Any spec (every bundled one, random ones, random bytes), read directly or as the base of
    a child, any command, any target: every input keeps its bytes; a refused or failed write is
    exit 2 naming the path and leaves the target as it was."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "work"
        folder.mkdir()
        spec = folder / "net.yaml"
        spec.write_bytes(text)
        ref = spec
        if child:
            ref = folder / "child.yaml"
            ref.write_text("extends: net.yaml\nname: child\n")
        other = folder / "other.txt"
        other.write_text("other")
        locked = folder / "locked.txt"
        locked.write_text("locked")
        locked.chmod(0o444)
        (folder / "sub").mkdir()
        paths = {"spec": ref, "absolute": ref.resolve(),
                 "dotdot": folder / "sub" / ".." / ref.name, "base": spec,
                 "new": folder / "new.txt", "other": other, "folder": folder / "sub",
                 "missing": folder / "nowhere" / "out.txt", "read-only": locked}
        if target in ("symlink", "hardlink"):
            paths[target] = folder / f"{target}.yaml"
            if target == "symlink":
                paths[target].symlink_to(ref.name)
            else:
                os.link(ref, paths[target])
        out = paths[target]
        inputs = {p: p.read_bytes() for p in (spec, ref)}
        before = {p: p.read_bytes() for p in (other, locked)}
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            result = invoke([*args_for(command, ref.name), "-o", out])
        finally:
            os.chdir(cwd)
        assert {p: p.read_bytes() for p in inputs} == inputs, result.output
        assert leftovers(folder) == []
        if target in ("spec", "absolute", "dotdot", "symlink", "hardlink", "base"):
            # exit 2: refused, or the spec was invalid before anything was written (check
            # reports an invalid spec and writes its report: it must say why it did not)
            assert result.exit_code == 2, result.output
            if command == "check":
                assert "onto an input" in result.stderr, result.stderr
        elif target in ("folder", "missing", "read-only"):
            assert result.exit_code == 2, result.output
            assert {p: p.read_bytes() for p in (other, locked)} == before
            assert not (folder / "nowhere").exists()
        elif result.exit_code != 2 or command == "check":
            # written (check writes its report even when a spec is invalid)
            assert out.exists() and out.stat().st_size > 0, result.output


# --------------------------------------------------------------------------- class 8: baseline

GOOD = {"cnncalc": "0.1.0", "command": "show", "spec": "net", "batch": 1,
        "totals": {"params": PARAMS, "macs": 3888}}


def _with(path: str, value: object) -> dict:
    doc = json.loads(json.dumps(GOOD))
    *parents, last = path.split(".")
    here = doc
    for key in parents:
        here = here[key]
    if value is _MISSING:
        del here[last]
    else:
        here[last] = value
    return doc


_MISSING = object()

#: (what the file holds, text the message must contain), written from the rule: the file is
#: named, then the field and what it must be.
HOSTILE_BASELINES: list[tuple[bytes, str]] = [
    (b"null", "got null"),
    (b"[1, 2]", "got [1, 2]"),
    (b'"a report"', 'got "a report"'),
    (json.dumps(_with("batch", None)).encode(), "batch: must be a whole number, got null"),
    (json.dumps(_with("batch", "2")).encode(), 'batch: must be a whole number, got "2"'),
    (json.dumps(_with("batch", 2.5)).encode(), "batch: must be a whole number, got 2.5"),
    (json.dumps(_with("batch", True)).encode(), "batch: must be a whole number, got true"),
    (json.dumps(_with("batch", 0)).encode(), "batch: must be at least 1, got 0"),
    (json.dumps(_with("totals.params", -5)).encode(), "totals.params: must be at least 0, got -5"),
    (json.dumps(_with("totals.macs", 1.5)).encode(), "totals.macs: must be a whole number"),
    (json.dumps(_with("totals.macs", None)).encode(), "totals.macs: must be a whole number"),
    (json.dumps(_with("totals.macs", _MISSING)).encode(), "totals.macs: missing"),
    (json.dumps(_with("totals", _MISSING)).encode(), "totals: missing"),
    (json.dumps(_with("totals", [1, 2])).encode(), "totals: must be an object"),
    (json.dumps(_with("spec", 5)).encode(), "spec: must be text, got 5"),
    (json.dumps(_with("command", "check")).encode(), "a report of 'cnncalc check'"),
    (b'{"cnncalc": "0.1.0", "command": "compare", "specs": []}', "a report of 'cnncalc compare'"),
    (json.dumps(_with("command", 7)).encode(), "command: must be text, got 7"),
    (json.dumps(_with("totals.params", 10**101)).encode(),
     "totals.params: must be at most 10^100, got an integer of 102 digits"),
    (b'{"totals": {"params": ' + b"9" * 5000 + b', "macs": 1}}', "more than 4,300 digits"),
    (b'{"totals": {"params": 1e400, "macs": 1}}', "totals.params: must be a whole number"),
    (b'{"totals": {"params": NaN, "macs": 1}}', "totals.params: must be a whole number"),
    (b'{"totals": {"params": 1, "params": 2, "macs": 3}}', "duplicate key 'params'"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"spec": "\xe9t\xe9"}', "not UTF-8 text (byte 0xe9 at offset 10)"),
    (b"{'totals': 1}", "not JSON"),
    (b"", "not JSON"),
]


@pytest.mark.parametrize("content,words", HOSTILE_BASELINES, ids=lambda v: str(v)[:30])
def test_a_hostile_baseline_is_exit_2_with_the_file_and_the_field(
        content: bytes, words: str, tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    baseline = tmp_path / "base.json"
    baseline.write_bytes(content)
    result = invoke(["check", spec, "--baseline", baseline])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"{baseline}")]
    assert lines and any(words in line for line in lines), result.stderr


def test_a_baseline_folder_missing_file_and_endless_file(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    cases = {tmp_path: "is a folder", tmp_path / "none.json": "no such baseline file"}
    if Path("/dev/zero").exists():
        cases[Path("/dev/zero")] = "more than 8 MiB"
    for path, words in cases.items():
        result = invoke(["check", spec, "--baseline", path])
        assert result.exit_code == 2 and f"{path}: " in result.stderr, result.stderr
        assert words in result.stderr


def test_a_valid_baseline_still_gates() -> None:
    """The model accepts what `show --format json` writes: the spec passes at its own size and
    fails one parameter under it (growth 0%)."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "net.yaml"
        spec.write_text(SPEC)
        for params, code in ((PARAMS, 0), (PARAMS - 1, 1)):
            baseline = Path(tmp) / f"b{params}.json"
            baseline.write_text(json.dumps(_with("totals.params", params)))
            assert invoke(["check", spec, "--baseline", baseline]).exit_code == code


# --------------------------------------------------------------------------- class 9: injection

#: What no output may carry raw: C0 but newline, DEL, C1, the line and paragraph separators and
#: Unicode's Bidi_Control characters (UAX #9).
FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f"
                       "\u202a-\u202e\u2066-\u2069]")
ANNOTATION = re.compile(r"::error (file=[^,:\n]*,line=\d+,)?title=cnncalc[a-z ]*::")
HOSTILE = "\n\r\t\x1b\x07\x00\x7f\x85\x9b\u2028\u2029\u202e\u2066\u200f\u061c:#[%,"
NAMES = st.text(st.one_of(st.sampled_from(HOSTILE), st.characters(codec="utf-8")),
                min_size=1, max_size=12)
FORMATS = ["table", "markdown", "csv", "json", "html"]


def clean(text: str, annotations: bool = False) -> None:
    """No raw forbidden character; no line GitHub Actions would run but our annotations."""
    assert not FORBIDDEN.search(text), ascii(text)
    assert "##[" not in text, ascii(text)
    for line in text.splitlines():
        if line.lstrip().startswith("::"):
            assert annotations and ANNOTATION.match(line), ascii(line)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=NAMES, description=NAMES, filename=NAMES, fmt=st.sampled_from(FORMATS),
       command=st.sampled_from(["show", "memory", "explain", "compare", "check", "scale",
                                "fit"]),
       broken=st.sampled_from(["", "kind", "field", "extends"]), to_file=st.booleans())
def test_property_no_control_character_reaches_any_output(
        name: str, description: str, filename: str, fmt: str, command: str, broken: str,
        to_file: bool) -> None:
    """Random names, descriptions, file names, kinds and fields with control characters,
    through every command and format, on stdout, stderr, -o files and annotations."""
    layer = {"": "conv: {filters: 4, kernel: 3}",
             "kind": f"{json.dumps(name)}: {{filters: 4}}",
             "field": f"conv: {{filters: 4, kernel: 3, {json.dumps(name)}: 1}}",
             "extends": "conv: {filters: 4, kernel: 3}"}[broken]
    text = (f"name: {json.dumps(name)}\ndescription: {json.dumps(description)}\n"
            f"input: 8x8x3\nbudget: {{params: 100}}\nlayers:\n  - {layer}\n")
    if broken == "extends":
        text = f"extends: {json.dumps(name + '.yaml')}\nname: {json.dumps(name)}\n"
    file_name = "".join(c for c in filename if c not in "/\x00" and not 0xD800 <= ord(c) < 0xE000)
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / f"{file_name or 'x'}.yaml"
        spec.write_text(text, encoding="utf-8")
        args = {"show": ["show", spec], "memory": ["memory", spec],
                "explain": ["explain", spec], "compare": ["compare", spec, spec],
                "check": ["check", spec], "scale": ["scale", spec, "--width", "1"],
                "fit": ["fit", spec, "--by", "width", "--max-params", "1M", "--from", "1",
                        "--to", "1"]}[command]
        out = Path(tmp) / "out.txt"
        args = [*args, "-f", fmt, *(["-o", out] if to_file else [])]
        result = invoke(args, env={"GITHUB_ACTIONS": "true"})
        clean(result.stdout, annotations=command == "check")
        clean(result.stderr, annotations=command == "check")
        if to_file and out.exists():
            clean(out.read_text(encoding="utf-8"))
        if fmt == "json" and not to_file and result.exit_code == 0 and command != "compare":
            doc = json.loads(result.stdout)  # JSON keeps the true text: its escapes are lossless
            assert name in (doc.get("spec"), *(s.get("spec") for s in doc.get("specs", [])))


def test_the_rule_by_hand(tmp_path: Path) -> None:
    """The title of a spec named `a<LF>::error::x<ESC>[31m<RLO>` and described `##[error]`."""
    spec = tmp_path / "x.yaml"
    spec.write_text('name: "a\\n::error::x\\e[31m\\u202e"\ndescription: "##[error]"\n'
                    "input: 8x8x3\nlayers:\n  - relu\n")
    lines = invoke(["show", spec]).stdout.splitlines()
    assert lines[0] == "a\\n::error::x\\x1b[31m\\u202e: ##\\x5berror]"
    csv_rows = invoke(["show", spec, "-f", "csv"]).stdout
    assert "\x1b" not in csv_rows
    doc = json.loads(invoke(["show", spec, "-f", "json"]).stdout)
    assert (doc["spec"], doc["description"]) == ("a\n::error::x\x1b[31m\u202e", "##[error]")
    md = invoke(["show", spec, "-f", "markdown"]).stdout.splitlines()[0]
    assert md == "### a\\\\n::error::x\\\\x1b[31m\\\\u202e: ##\\\\x5berror]"


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=NAMES, description=NAMES)
def test_property_scale_yaml_is_clean_and_reads_back_the_same(name: str,
                                                              description: str) -> None:
    """`scale --yaml` prints a spec: nothing raw on stdout, and YAML's own escapes give the
    same name and description back when the printed spec is loaded."""
    from cnncalc import load_text

    text = (f"name: {json.dumps(name)}\ndescription: {json.dumps(description)}\n"
            f"{SPEC.split(chr(10), 1)[1]}")
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "net.yaml"
        spec.write_text(text, encoding="utf-8")
        result = invoke(["scale", spec, "--width", "1", "--yaml"])
    if result.exit_code != 0:
        clean(result.stderr)
        return
    clean(result.stdout)
    again = load_text(result.stdout)
    assert again.name == load_text(text).name
    assert again.description.startswith(description)


def test_annotations_are_one_line_escaped_as_github_does() -> None:
    """actions/toolkit command.ts: data escapes % CR LF; properties also : and ,."""
    from cnncalc.analyses.budget import CheckResult, LimitCheck, SpecCheck
    from cnncalc.errors import Problem
    from cnncalc.present.check import annotations

    spec = SpecCheck(ref="a,b:c.yaml", file="a,b:c.yaml", name="n\r\n::warning::x 5%",
                     rows=[LimitCheck("params", "count", 2, 1, "spec", 3)])
    broken = SpecCheck(ref="d.yaml", file="d.yaml",
                       problems=[Problem("bad\nvalue \x1b[2J", "d\n.yaml", 4, "'c' (conv)")])
    lines = annotations(CheckResult([spec, broken]))
    assert lines == [
        "::error file=a%2Cb%3Ac.yaml,line=3,title=cnncalc budget::n\\r\\n::warning::x 5%25: "
        "params 2 exceeds the budget 1 (200.0%25 of the limit)",
        "::error file=d\\n.yaml,line=4,title=cnncalc invalid spec::'c' (conv): "
        "bad\\nvalue \\x1b[2J"]


def _github_unescape(text: str) -> str:
    """What the runner makes of an escaped value (actions/runner ActionCommand.Unescape)."""
    for token, replacement in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","),
                               ("%25", "%")):
        text = text.replace(token, replacement)
    return text


@settings(max_examples=60, deadline=None)
@given(name=NAMES, file=NAMES, message=NAMES, layer=NAMES, line=st.none() | st.integers(1, 99))
def test_property_annotations_are_one_line(name: str, file: str, message: str, layer: str,
                                           line: int | None) -> None:
    """Every annotation is one line of the form GitHub reads, and what GitHub shows after
    unescaping it (file and message) carries no line break and no control character."""
    from cnncalc.analyses.budget import CheckResult, LimitCheck, SpecCheck
    from cnncalc.errors import Problem
    from cnncalc.present.check import annotations

    over = SpecCheck(ref=file, file=file, name=name,
                     rows=[LimitCheck("macs", "count", 5, 4, "cli", line)])
    broken = SpecCheck(ref=file, file=file, name=name,
                       problems=[Problem(message, file, line, layer)])
    lines = annotations(CheckResult([over, broken], problems=[Problem(message, file, line)]))
    assert len(lines) == 3
    for text in lines:
        match = ANNOTATION.match(text)
        assert match and "\n" not in text and "\r" not in text, ascii(text)
        shown = _github_unescape(text[match.end():])
        props = _github_unescape(match.group(1) or "")
        for part in (shown, props):
            assert "\n" not in part and "\r" not in part and not FORBIDDEN.search(part), ascii(text)
            assert "##[" not in part


def test_problem_lines_are_one_line() -> None:
    from cnncalc.errors import Problem

    line = Problem("unknown kind 'x\u2028y'", "::error::f\n.yaml", 3, "'c\x1b' (conv)").format()
    assert line == "\\x3a:error::f\\n.yaml:3: 'c\\x1b' (conv): unknown kind 'x\\u2028y'"


def test_compare_csv_header_escapes_spec_names(tmp_path: Path) -> None:
    """compare's CSV header holds the spec names: a carriage return in one stays an escape
    (found by the property test above: the header row bypassed the cell escaping)."""
    spec = tmp_path / "cr.yaml"
    spec.write_text('name: "a\\rb"\ninput: 4x4x3\nlayers:\n  - conv: [2, 1]\n')
    result = invoke(["compare", spec, spec, "-f", "csv"])
    assert result.exit_code == 0
    header = result.stdout.split("\n")[0]
    assert "\r" not in result.stdout and header.startswith("metric,a\\rb,")
