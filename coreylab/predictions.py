"""Predict, then see: a lesson asks for a prediction before the cell that shows the result.

    p = predict("02.one-to-two", "From 1 to 2 cores, what does throughput with threads do?",
                choices=["doubles", "stays about the same", "drops"])
    p                          # a widget: the student picks (or types a number) and locks it in
    ...                        # the run that shows the result
    p.compare("drops")         # "You predicted ... ; the simulation: drops." (what it measured)

What it keeps: the locked-in prediction, once (a second choice after locking needs `p.reset()`),
and a record of it in the notebook's own outputs (a display with the mimetype
`application/vnd.coreylab.prediction+json`), so a saved notebook shows what the student said
before seeing the result. Predictions are not graded as right or wrong; exercises are
(`coreylab.exercise`). Nothing here computes a result: `compare` is given what the simulation
measured, by the lesson's own run.

What it leaves out: the widget in a static export shows its text only (ipywidgets' usual
limit); `compare` then says no prediction was made.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .exercises.judging import parse_number

MIMETYPE = "application/vnd.coreylab.prediction+json"


class Prediction:
    """One question asked before a result: a choice among `choices`, or a number."""

    def __init__(
        self,
        key: str,
        question: str,
        choices: Sequence[str] | None = None,
        unit: str = "",
    ) -> None:
        if choices is not None and len(choices) < 2:
            raise ValueError(f"prediction {key!r} needs at least two choices")
        self.key = key
        self.question = question
        self.choices = tuple(choices) if choices is not None else None
        self.unit = unit
        self.value: Any = None  # the locked-in prediction
        self._widget = None
        self._record = None

    # -- what the student does -------------------------------------------------------------
    def lock(self, value: Any) -> str:
        """Record `value` as the prediction (what the widget's button does)."""
        if self.value is not None:
            return f"Already locked in: {self._say(self.value)}. (p.reset() to change it.)"
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"choose one of: {', '.join(self.choices)}")
        if self.choices is None:
            value = parse_number(value)
        self.value = value
        message = f"Locked in: {self._say(value)}."
        if self._record is not None:
            self._record.update(self._bundle(message), raw=True)
        return message

    def reset(self) -> None:
        self.value = None

    def compare(self, measured: Any) -> Said:
        """What was predicted beside what the simulation `measured`; printed and returned."""
        said = "the simulation gave " + self._say(measured)
        if self.value is None:
            text = f"No prediction was locked in above; {said}."
        elif self.choices is not None:
            verdict = "as you predicted" if self.value == measured else "not what you predicted"
            text = f"You predicted {self._say(self.value)}; {said}: {verdict}."
        else:
            ratio = float(measured) / self.value if self.value else float("inf")
            text = f"You predicted {self._say(self.value)}; {said} ({ratio:.2g}x your guess)."
        if self.value is not None or not _presenting():  # a presentation: no result unasked
            print(text)
        return Said(text)

    # -- how it shows ------------------------------------------------------------------------
    def widget(self):
        """The ipywidgets control: a choice (or a number) and a "Lock in" button."""
        import ipywidgets as w

        if self.choices is not None:
            field = w.RadioButtons(options=self.choices, value=None, layout={"width": "auto"})
        else:
            field = w.FloatText(description=self.unit or "value", value=0.0)
        button = w.Button(description="Lock in", button_style="primary")
        status = w.HTML("")

        def on_click(_):
            try:
                status.value = self.lock(field.value)
            except ValueError as e:
                status.value = f"<b>{e}</b>"
            button.disabled = self.value is not None

        button.on_click(on_click)
        title = w.HTML(f"<b>Predict ({self.key}):</b> {self.question}")
        self._widget = w.VBox([title, field, w.HBox([button, status])])
        return self._widget

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())
        self._record = display(self._bundle("No prediction yet."), raw=True, display_id=True)

    def _bundle(self, message: str) -> dict:
        record = {"key": self.key, "prediction": self.value, "time": time.time()}
        return {"text/plain": message, MIMETYPE: record}

    def _say(self, value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.3g}{' ' + self.unit if self.unit else ''}"
        return f"{value}{' ' + self.unit if self.unit and not isinstance(value, str) else ''}"


class Said(str):
    """compare()'s text, already printed: a cell ending in `p.compare(...)` shows it once (a
    trailing `;` does not hide a result when the kernel runs cells without history, as nbval
    does)."""

    def _ipython_display_(self) -> None:
        pass


def _presenting() -> bool:
    from .exercises.course import presenting

    return presenting()


def predict(key: str, question: str, choices: Sequence[str] | None = None, unit: str = ""):
    """A prediction to show before the result (see the module's docstring)."""
    return Prediction(key, question, choices, unit)
