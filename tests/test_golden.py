"""The golden rows: every experiment's JSON rows (three seeds) and the digests of a few traced
runs are what `tools/golden.py --write` stored. A refactor must leave them byte for byte; a
behaviour change stores them again on purpose, in its own commit."""

from repo_tools import load_tool


def test_every_experiment_gives_its_stored_rows_and_traces():
    """A diff names the file: `python tools/golden.py` shows which; store again only on purpose."""
    assert load_tool("golden").compare() == []


def test_a_changed_row_is_caught(tmp_path, monkeypatch):
    """The comparison is not vacuous: one changed digit in a stored file is reported."""
    golden = load_tool("golden")
    stored = (golden.GOLDEN / "latency-ladder.json").read_text()
    (tmp_path / "latency-ladder.json").write_text(stored.replace('"cycles": 3', '"cycles": 4', 1))
    monkeypatch.setattr(golden, "GOLDEN", tmp_path)
    monkeypatch.setattr(
        golden, "current", lambda: {"latency-ladder.json": golden.rows("latency-ladder")}
    )
    assert golden.compare() == ["latency-ladder.json"]
