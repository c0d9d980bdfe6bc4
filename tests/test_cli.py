"""The command line: output formats, and a one-line error with exit code 2 for every mistake."""

import json
import subprocess
import sys

import pytest

from coreylab.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_table_shows_the_ladder(capsys):
    code, out, err = run_cli(capsys, "run", "latency-ladder", "--preset", "amd16")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["variant", "cores", "source", "cycles"]
    assert any(line.split()[2:] == ["l1", "3"] for line in lines[2:])
    assert any(line.split()[2:] == ["same-chip-cache", "121"] for line in lines[2:])


def test_json_has_experiment_params_and_rows(capsys):
    code, out, _ = run_cli(capsys, "run", "latency-ladder", "--format", "json", "--seed", "3")
    data = json.loads(out)
    assert data["experiment"] == "latency-ladder"
    assert data["params"]["seed"] == 3
    assert {"variant", "cores", "source", "cycles"} <= set(data["rows"][0])


def test_csv_and_hardware_params(capsys):
    code, out, _ = run_cli(
        capsys, "run", "latency-ladder", "--format", "csv", "--param", "l3_latency=46"
    )
    assert out.splitlines()[0] == "variant,cores,source,cycles"
    assert "measured,16,l3,46" in out.splitlines()


def test_list_names_experiments_and_hardware_parameters(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    assert "latency-ladder" in out and "l3_latency" in out and "amd16" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "nope"], "unknown experiment 'nope'; experiments: latency-ladder"),
        (["run", "latency-ladder", "--preset", "big"], "unknown preset 'big'"),
        (["run", "latency-ladder", "--param", "foo=1"], "unknown parameter 'foo'"),
        (["run", "latency-ladder", "--param", "line_size=48"], "power of two"),
        (["run", "latency-ladder", "--param", "chips=0"], "chips must be positive"),
        (["run", "latency-ladder", "--param", "l1_size=32"], "smaller than one line"),
        (["run", "latency-ladder", "--param", "l1_latency=x"], "whole number"),
        (["run", "latency-ladder", "--param", "oops"], "NAME=VALUE"),
        (["run", "latency-ladder", "--variant", "x"], "no variant 'x'; its variants: measured"),
        (["run", "latency-ladder", "--jobs", "0"], "--jobs must be at least 1"),
        (["run", "latency-ladder", "--cores", "3"], "--cores does not apply to latency-ladder"),
        (["run", "memclone", "--cores", "1,,2"], "--cores has an empty item: '1,,2'"),
        (["run", "memclone", "--variant", "corey-ar,"], "--variant has an empty item"),
        (["run", "memclone", "--param", "pages=5", "--param", "pages=6"], "pages is given twice"),
        # Limits read as numbers, with thousands separators (not Python's 1_000).
        (["run", "latency-ladder", "--param", "chips=1000"], "between 1 and 64, not 1,000"),
        (["run", "memclone", "--param", "pages=100000"], "between 1 and 2,048, not 100,000"),
        # Every core a kernel core: no application core, so no point has a row to print.
        (
            ["run", "tcp-connections", "--variant", "corey-dedicated", "--cores", "1", "-q"],
            "tcp-connections gave no rows",
        ),
    ],
)
def test_mistakes_give_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("coreylab: error: ")
    assert message in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "memclone", "--seed", "1.5"], "argument --seed: invalid int value: '1.5'"),
        (["run", "memclone", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["run", "memclone", "--max-memory", "junk"], "--max-memory: takes a size such as 8G"),
        (["grade"], "required: SUBMISSION (see `coreylab grade --help`)"),
    ],
)
def test_argparse_mistakes_give_one_line_too(capsys, argv, message):
    """No usage block: one line like coreylab's own, saying where the usage is."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    out, err = capsys.readouterr()
    assert e.value.code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("coreylab: error: ") and message in err


def test_version_is_the_installed_distributions(capsys):
    import importlib.metadata

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out == f"coreylab {importlib.metadata.version('coreylab')}\n"


def test_the_installed_command_runs_without_a_traceback():
    """The console script, as a user types it, with a mistake."""
    proc = subprocess.run(
        [sys.executable, "-m", "coreylab.cli", "run", "latency-ladder", "--param", "chips=0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "coreylab: error: chips must be positive, not 0"


def test_lessons_are_found_with_or_without_their_suffix(tmp_path):
    """`coreylab lab --voila 00_tour` and `... 00_tour.ipynb` both find the lesson."""
    from coreylab.cli import CliError, lesson_path

    (tmp_path / "00_tour.ipynb").write_text("{}")
    assert lesson_path(tmp_path, "00_tour") == tmp_path / "00_tour.ipynb"
    assert lesson_path(tmp_path, "00_tour.ipynb") == tmp_path / "00_tour.ipynb"
    with pytest.raises(CliError, match="no lesson 'nope'; lessons: 00_tour"):
        lesson_path(tmp_path, "nope")


def test_no_command_prints_the_commands(capsys):
    """`coreylab` alone, a newcomer's first try: the help with every command, exit 2."""
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: coreylab")
    assert all(name in out for name in ("run", "claims", "report", "lab", "grade"))
