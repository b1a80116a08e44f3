"""The wheel, and the CI snippets of docs/ci.md run as written against it.

A wheel is built from the checkout (`pip wheel . --no-deps`, offline: the build backend is the
one installed, as the test extra installs hatchling) and must hold the completion scripts and
the JSON Schema. The GitHub Actions steps of docs/ci.md run, word for word, in a scratch
repository with the wheel in its `wheels/` folder, in a fresh virtual environment; the
pre-commit config runs with the real `pre-commit`, and so does `pre-commit try-repo` on the
checkout.

Offline: the environments see the interpreter's own packages (`--system-site-packages`,
`VIRTUALENV_SYSTEM_SITE_PACKAGES`) and pip reads no index (`PIP_NO_INDEX`), so cnncalc's
dependencies come from there instead of PyPI; cnncalc itself always comes from the wheel or
the checkout (`PIP_FORCE_REINSTALL` with `PIP_NO_DEPS`, even where an editable install of the
checkout is there too). On a GitHub runner the same steps fetch the dependencies from PyPI.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from cnncalc.commands.completion import FILES, script

ROOT = Path(__file__).resolve().parent.parent
CI_PAGE = ROOT / "docs" / "ci.md"
OFFLINE = {"PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1", "PIP_FORCE_REINSTALL": "1",
           "PIP_NO_BUILD_ISOLATION": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "VIRTUALENV_SYSTEM_SITE_PACKAGES": "1"}
BUDGET = "budget:\n  params: 65k\n  macs: 700k\n"


def _require(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is not installed; the test extra installs it")
        pytest.skip(f"{module} is not installed (pip install the test extra)")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "GITHUB_ACTIONS", "VIRTUAL_ENV")
           and not k.startswith(("PIP_", "PRE_COMMIT"))}
    return {**env, **OFFLINE, **extra}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                           "--no-build-isolation", "-w", str(out)], capture_output=True,
                          text=True, timeout=600, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    (found,) = out.glob("cnncalc-*.whl")
    return found


def test_the_wheel_ships_the_completions_and_the_schema(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for shell, name in FILES.items():
            inside = archive.read(f"cnncalc/completions/{name}").decode()
            assert inside == script(shell) == (ROOT / "completions" / name).read_text(), shell
        schema = archive.read("cnncalc/schema/cnncalc.schema.json")
        assert schema == (ROOT / "schema" / "cnncalc.schema.json").read_bytes()
        data = {n.split(".data/data/", 1)[1] for n in names if ".data/data/" in n}
        assert {"share/bash-completion/completions/cnncalc", "share/zsh/site-functions/_cnncalc",
                "share/fish/vendor_completions.d/cnncalc.fish"} <= data
        assert any(n.startswith("cnncalc/specs/") and n.endswith("lenet5.yaml") for n in names)


# --------------------------------------------------------------------------- the snippets

def _blocks(language: str) -> list[str]:
    text = CI_PAGE.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def _workflow() -> dict:
    (found,) = [yaml.safe_load(b) for b in _blocks("yaml") if re.search(r"^jobs:", b, re.M)]
    return found


def _scratch_repository(folder: Path, wheel: Path) -> Path:
    """A repository of the user's: specs with budgets, cnncalc's wheel in wheels/, a commit."""
    repo = folder / "user"
    (repo / "specs").mkdir(parents=True)
    (repo / "wheels").mkdir()
    shutil.copy(wheel, repo / "wheels" / wheel.name)
    spec = (ROOT / "specs" / "lenet5.yaml").read_text() + BUDGET
    (repo / "specs" / "lenet5.yaml").write_text(spec)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "specs"], cwd=repo, check=True)
    return repo


def _venv(folder: Path) -> Path:
    """A fresh environment, as setup-python leaves one: no cnncalc in it."""
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=300)
    return venv / "bin"


def _step(command: str, repo: Path, bin_dir: Path, **extra: str) -> subprocess.CompletedProcess:
    """One `run:` step: bash -e, as GitHub runs it, in the repository."""
    env = _env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **extra)
    return subprocess.run(["bash", "-e", "-c", command], cwd=repo, env=env, text=True,
                          capture_output=True, timeout=600)


def test_the_github_actions_steps_run_as_written(wheel: Path, tmp_path: Path) -> None:
    steps = _workflow()["jobs"]["cnncalc"]["steps"]
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    assert uses == ["actions/checkout", "actions/setup-python"]  # the scratch repo and venv
    runs = [s["run"] for s in steps if "run" in s]
    assert [r.split()[:2] for r in runs] == [["pip", "install"], ["cnncalc", "check"]]
    repo = _scratch_repository(tmp_path, wheel)
    bin_dir = _venv(tmp_path)
    install = _step(runs[0], repo, bin_dir)
    assert install.returncode == 0, install.stdout + install.stderr
    where = _step("command -v cnncalc; python -c 'import cnncalc; print(cnncalc.__file__)'",
                  repo, bin_dir)
    assert where.stdout.splitlines()[0] == str(bin_dir / "cnncalc"), where.stdout
    assert str(tmp_path / "venv") in where.stdout.splitlines()[1], where.stdout
    passed = _step(runs[1], repo, bin_dir, GITHUB_ACTIONS="true")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "::error" not in passed.stdout
    spec = repo / "specs" / "lenet5.yaml"
    spec.write_text(spec.read_text().replace("params: 65k", "params: 60k"))
    failed = _step(runs[1], repo, bin_dir, GITHUB_ACTIONS="true")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert re.search(r"^::error file=specs/lenet5\.yaml,line=\d+,title=cnncalc budget::",
                     failed.stdout, re.M), failed.stdout


def _pre_commit(args: list[str], repo: Path, bin_dir: Path, home: Path
                ) -> subprocess.CompletedProcess:
    env = _env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", PRE_COMMIT_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo, env=env,
                          text=True, capture_output=True, timeout=600)


def test_the_pre_commit_config_runs_as_written(wheel: Path, tmp_path: Path) -> None:
    _require("pre_commit")
    (config,) = [b for b in _blocks("yaml") if re.search(r"^repos:", b, re.M)]
    repo = _scratch_repository(tmp_path, wheel)
    (repo / ".pre-commit-config.yaml").write_text(config)
    bin_dir = _venv(tmp_path)
    install = _step("pip install wheels/cnncalc-*.whl", repo, bin_dir)
    assert install.returncode == 0, install.stdout + install.stderr
    home = tmp_path / "pre-commit-home"
    passed = _pre_commit(["run", "--all-files"], repo, bin_dir, home)
    assert passed.returncode == 0 and "Passed" in passed.stdout, passed.stdout + passed.stderr
    spec = repo / "specs" / "lenet5.yaml"
    spec.write_text(spec.read_text().replace("params: 65k", "params: 60k"))
    failed = _pre_commit(["run", "--files", "specs/lenet5.yaml"], repo, bin_dir, home)
    assert failed.returncode == 1 and "FAIL" in failed.stdout, failed.stdout + failed.stderr


def test_pre_commit_try_repo_runs_as_written(wheel: Path, tmp_path: Path) -> None:
    """`pre-commit try-repo ../cnncalc cnncalc-check`: pre-commit clones the checkout (with its
    uncommitted changes) and installs it into an environment of its own (`language: python`)."""
    _require("pre_commit")
    (line,) = [c for b in _blocks("console") for c in b.splitlines()
               if c.startswith("$ pre-commit try-repo")]
    argv = shlex.split(line[2:])
    assert argv[:3] == ["pre-commit", "try-repo", "../cnncalc"]
    repo = _scratch_repository(tmp_path, wheel)
    (tmp_path / "cnncalc").symlink_to(ROOT)  # a clone of cnncalc beside the user's repository
    bin_dir = tmp_path / "no-cnncalc"  # nothing of cnncalc on the PATH: the hook brings its own
    bin_dir.mkdir()
    home = tmp_path / "pre-commit-home"
    passed = _pre_commit(argv[1:], repo, bin_dir, home)
    assert passed.returncode == 0 and "Passed" in passed.stdout, passed.stdout + passed.stderr
    spec = repo / "specs" / "lenet5.yaml"
    spec.write_text(spec.read_text().replace("params: 65k", "params: 60k"))
    failed = _pre_commit(argv[1:], repo, bin_dir, home)
    assert failed.returncode == 1 and "FAIL" in failed.stdout, failed.stdout + failed.stderr


def test_the_hook_repository_definition() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (config,) = [yaml.safe_load(b) for b in _blocks("yaml") if re.search(r"^repos:", b, re.M)]
    (local,) = config["repos"][0]["hooks"]
    assert hook["id"] == local["id"] == "cnncalc-check"
    assert hook["entry"] == local["entry"] == "cnncalc check"
    assert hook["files"] == local["files"] and hook["language"] == "python"
    files = re.compile(hook["files"])
    assert files.search("specs/lenet5.yaml") and files.search("models/a.cnn.yml")
    assert not files.search(".github/workflows/ci.yml")
