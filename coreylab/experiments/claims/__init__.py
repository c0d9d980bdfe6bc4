"""Model vs paper: each experiment's claims from the talk, the abstract or Corey's source, set
beside what the simulation gives at the default preset.

    from coreylab.experiments import claims
    verdicts = claims.check("fd-dup-close")      # runs the experiment at its defaults
    print(claims.markdown(verdicts))             # the box a lesson and the report show

A claim is the paper's statement in a student's words (or a later measurement of the same
benchmark on real hardware: MOSBENCH's memclone), where it comes from, how to read the
simulated figure off a Result, and a test of whether the model agrees. The figure is always
read from the run, never written here; only the paper's side is text. `calibrated` marks a
figure the model takes as an input (so agreement there is by construction, not a finding), and
`why` says, for a claim the model does not reproduce, what the model leaves out.

What it leaves out: claims about figures the paper draws but does not state in numbers are
checked for their shape (a drop, a plateau, a ranking), not against read-off values.
"""

from __future__ import annotations

from ..base import Result
from .reading import Claim, Verdict, ratio, value
from .table import ABOUT, CLAIMS

__all__ = ["ABOUT", "CLAIMS", "Claim", "Verdict", "check", "claims_of", "html", "markdown",
           "ratio", "value"]  # fmt: skip


def claims_of(experiment: str) -> tuple[Claim, ...]:
    return tuple(c for c in CLAIMS if c.experiment == experiment)


def check(experiment: str, result: Result | None = None, seed: int = 0) -> list[Verdict]:
    """Each claim of `experiment` beside the model's figure: from `result`, or from a run at
    the default preset, variants, core counts and parameters. A claim whose points the run
    does not have (fewer cores, other variants) says so instead of a figure."""
    if result is None:
        from .. import run

        result = run(experiment, seed=seed)
    return [_verdict(c, result) for c in claims_of(experiment)]


def _verdict(claim: Claim, result: Result) -> Verdict:
    try:
        return Verdict(claim, claim.figure(result), bool(claim.holds(result)))
    except (KeyError, StopIteration, ValueError, ZeroDivisionError):
        return Verdict(claim, "not measured by this run (it lacks the points)", False, False)


HEADER = ("the paper says", "source", "the model", "agrees?")


def _cells(v: Verdict) -> tuple[str, str, str, str]:
    if not v.measured:  # a "no" here would read as the model disagreeing
        return v.claim.says, v.claim.source, v.figure, "-"
    verdict = "yes" if v.agrees else "no"
    if v.claim.calibrated:
        verdict += " (an input of the model)"
    return v.claim.says, v.claim.source, v.figure, verdict


def _notes(verdicts: list[Verdict]) -> list[tuple[str, str]]:
    """The reasons under the box: for each claim the run measured and the model missed."""
    return [
        (v.claim.says, v.claim.why) for v in verdicts if v.measured and not v.agrees and v.claim.why
    ]


def markdown(verdicts: list[Verdict]) -> str:
    """The model-vs-paper box: one row per claim, then what the model leaves out where it
    disagrees."""
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---|---|---|"]
    for v in verdicts:
        says, source, figure, verdict = _cells(v)
        verdict = verdict if v.agrees else verdict.replace("no", "**no**", 1)
        lines.append(f"| {says} | {source} | {figure} | {verdict} |")
    notes = [f"- *{says}* {why}" for says, why in _notes(verdicts)]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def html(verdicts: list[Verdict]) -> str:
    """The same box as an HTML table (for the report)."""
    from html import escape

    head = "".join(f"<th>{escape(h)}</th>" for h in HEADER)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in _cells(v)) + "</tr>" for v in verdicts
    )
    notes = "".join(f"<li><i>{escape(s)}</i> {escape(w)}</li>" for s, w in _notes(verdicts))
    return (
        f"<p><b>Model vs paper</b></p><table border='1' cellpadding='4' "
        f"style='border-collapse:collapse'><tr>{head}</tr>{rows}</table>"
        + (f"<ul>{notes}</ul>" if notes else "")
    )
