"""`coreylab report`: one standalone page, BokehJS inline, every figure's parameters and seed."""

import subprocess
import sys

from coreylab import experiments, report
from coreylab.cli import main


def test_report_is_standalone_and_names_its_parameters():
    page = report.build(["latency-ladder"], seed=7, preset="tiny")
    assert "latency-ladder" in page  # (Div text sits JSON-escaped in the document)
    assert "seed=7" in page and "hardware=tiny" in page
    assert "cdn.bokeh.org" not in page, "the page must open offline"
    assert "Bokeh" in page and len(page) > 500_000  # BokehJS itself is inlined


def test_cli_writes_the_report(tmp_path, capsys):
    out = tmp_path / "r.html"
    code = main(["report", "-o", str(out), "--experiment", "latency-ladder", "--jobs", "1"])
    assert code == 0 and out.exists()
    assert "wrote" in capsys.readouterr().out


def test_cli_refuses_a_bad_experiment_or_folder_before_running(tmp_path, capsys):
    assert main(["report", "--experiment", "nope"]) == 2
    assert main(["report", "-o", str(tmp_path / "missing" / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'nope'" in err and "no writable folder" in err


def test_a_section_names_the_locks_each_variant_waited_for():
    """fd-dup-close on `duo` (2 chips x 2 cores): a shared table's file_lock is waited for by the
    threads; each process's own lock is taken but never contended."""
    result = experiments.run("fd-dup-close", variants=["linux-threads", "linux-procs"],
                             preset="duo", params={"ops": 2, "warmup": 1})  # fmt: skip
    title, table = report._locks(result)
    data = table.source.data
    assert "Locks waited for most" in title.text
    assert data["lock"][0] == "files[0].file_lock" and data["variant"][0] == "linux-threads"
    assert data["contended"][0] != "0%"
    procs = [i for i, v in enumerate(data["variant"]) if v == "linux-procs"]
    assert procs and all(data["contended"][i] == "0%" for i in procs)
    assert report._locks(experiments.run("latency-ladder", preset="tiny")) == []


def test_the_same_run_gives_the_same_page(tmp_path):
    """Two processes, the same experiments, seed and preset: the same bytes. The page holds
    no clock time, and Bokeh's random ids (a uuid4 each) come out renamed in order."""
    pages = []
    for name in ("a.html", "b.html"):
        out = tmp_path / name
        argv = ["report", "-q", "--experiment", "latency-ladder,shares", "--preset", "tiny"]
        subprocess.run([sys.executable, "-m", "coreylab", *argv, "-o", str(out)], check=True)
        pages.append(out.read_bytes())
    assert pages[0] == pages[1]
    page = pages[0].decode()
    assert report.BOKEH_UUID.search(page) is None
    assert page.count("coreylab-2") >= 2  # the element's id, and where the script finds it


def test_a_pages_layout_passes_bokehs_integrity_checks():
    """The report writes its page with Bokeh's checks off (a fifth of the page's time), so
    they run here: no error and no warning on the layout of every kind of section."""
    from bokeh.core.validation.check import check_integrity
    from bokeh.settings import settings

    names = ["latency-ladder", "fd-dup-close", "tcp-connections"]
    results = experiments.run_many(names, preset="tiny")
    layout = report._layout([experiments.get(n) for n in names], results, 0, "tiny")
    issues = check_integrity(layout.references())
    assert issues.error == [] and issues.warning == []
    assert settings.perform_document_validation()  # (and the setting is left as it was)
    report._page(layout)
    assert settings.perform_document_validation()
