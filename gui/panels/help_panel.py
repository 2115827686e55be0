"""The "What am I seeing?" dock: model collapse in plain words, each view, each metric, and the papers.

The metric explanations come from the current scenario's ``metric_infos`` and the policy text from the
policies' summaries, so the help always matches what the charts show.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from core.policies import POLICIES
from core.scenarios import SCENARIOS, scenario_class
from core.scenarios.base import LOOP_METRICS

PAPERS = (
    ("Shumailov et al., Nature 631 (2024)", "AI models collapse when trained on recursively generated data",
     "the Gaussian refit: expected variance sigma0^2 ((M-1)/M)^n with the MLE (the theory curves of fitted "
     "variance, fitted std and variance ratio); tails vanish first."),
    ("Seddik et al. (2024)", "How bad is training on synthetic data? A statistical analysis of language model "
     "collapse", "resampling categories is neutral drift: diversity 1 - sum p^2 shrinks by (1 - 1/M) per "
     "generation and categories are lost for good."),
    ("Gerstgrasser et al. (2024)", "Is Model Collapse Inevitable? Breaking the Curse of Recursion by "
     "Accumulating Real and Synthetic Data", "replacing data makes the error grow without bound; accumulating "
     "all data keeps it bounded."),
    ("Alemohammad et al., ICLR 2024", "Self-Consuming Generative Models Go MAD",
     "fresh real data every generation reaches a steady state, a fixed real pool only delays the decline; "
     "sampling bias (temperature below 1, truncation) keeps quality but loses coverage faster."),
    ("Feng et al. (2024)", "Beyond Model Collapse: Scaling Up with Synthesized Data Requires Verification",
     "keeping only synthetic samples a verifier accepts avoids collapse, even with an imperfect verifier."),
    ("Kazdan et al. (2024)", "Collapse or Thrive? Perils and Promises of Synthetic Data in a Self-Generating World",
     "accumulating then subsampling to a fixed training size degrades slowly, then plateaus."),
    ("Dohmatob et al., ICML 2024", "A Tale of Tails: Model Collapse as a Change of Scaling Laws",
     "cutting the tails each generation (top-k, top-p, truncation) changes the scaling law: the error plateaus."),
)

INTRO = """
<h3>Model collapse</h3>
<p>Train a generative model on data, sample from it, train the next model on those samples, and repeat.
Each generation learns from a finite sample of the one before, so small estimation errors pile up:
rare values (<i>the tails</i>) are missed first, then the spread shrinks and the mean wanders, until the
model produces a narrow, repetitive version of the original data. That loss of diversity is
<b>model collapse</b>. Mixing in real data, keeping all data, or filtering synthetic data slows or stops it.</p>
<p><b>Generation 0</b> is always real data; generation <i>n</i> is the <i>n</i>-th model fitted in the loop.
Use the slider (or Left/Right, Home/End, Space to play) to move through the generations; every view shows
the same generation.</p>
<h3>The views</h3>
<ul>
<li><b>Distribution</b>: the samples of the current generation, drawn the way the scenario's data needs:
a histogram over fixed bins for numbers (generation 0 as a faint ghost, the fitted model's density on top),
a 2-D histogram for points, rank-frequency bars for words and categories, sample sentences for text, a grid
of images for digits, fitted lines for regression. Watch it narrow and lose its rare values.</li>
<li><b>Drift heatmap</b>: one column per generation, colour = how many samples fall in each bin. Collapse
looks like a band that narrows and drifts; the line marks the current generation. Click it to jump there.</li>
<li><b>Timelines</b>: one metric across all generations, for every selected run (select several runs in
the Runs panel to compare them). Where a closed form exists, the expected curve from theory is drawn too
(dashed). Click a timeline to jump to that generation.</li>
</ul>
"""


def _metrics_html(scenario: str | None) -> str:
    if scenario is None or scenario not in SCENARIOS:
        cls = SCENARIOS["gaussian"]
        head = "<h3>Metrics (1-D scenarios)</h3>"
    else:
        cls = scenario_class(scenario)
        head = f"<h3>Metrics of the {html.escape(cls.title)} scenario</h3>"
    items = "".join(f"<li><b>{html.escape(m.label)}</b> (<code>{html.escape(m.name)}</code>"
                    f"{', log scale' if m.log_scale else ''}): {html.escape(m.help)}</li>" for m in (*cls.metric_infos, *LOOP_METRICS))
    return f"{head}<p>{html.escape(cls.summary)}</p><ul>{items}</ul>"


def _policies_html() -> str:
    items = "".join(f"<li><b>{html.escape(p.title)}</b> (<code>{name}</code>): {html.escape(p.summary)}</li>"
                    for name, p in POLICIES.items())
    return f"<h3>Policies: how each training set is built</h3><ul>{items}</ul>"


def _papers_html() -> str:
    items = "".join(f"<li><b>{html.escape(who)}</b>, <i>{html.escape(title)}</i>: {html.escape(what)}</li>"
                    for who, title, what in PAPERS)
    return f"<h3>The papers behind the theory</h3><ul>{items}</ul>"


def help_html(scenario: str | None = None) -> str:
    """The whole help text for a scenario (None: the generic 1-D metrics)."""
    return INTRO + _metrics_html(scenario) + _policies_html() + _papers_html()


class HelpPanel(QWidget):
    """A read-only browser with the help text; follows the current run's scenario."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.browser = QTextBrowser()
        self.browser.setObjectName("help_browser")
        self.browser.setOpenExternalLinks(True)
        self.browser.setToolTip("What the views and metrics mean, and the papers behind the theory curves.")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.browser)
        self._scenario: str | None = "unset"
        self.set_scenario(None)

    def set_scenario(self, scenario: str | None) -> None:
        """Explain the metrics of this scenario (kept scrolled where the reader was)."""
        if scenario == self._scenario:
            return
        self._scenario = scenario
        bar = self.browser.verticalScrollBar()
        pos = bar.value()
        self.browser.setHtml(help_html(scenario))
        bar.setValue(pos)

    def text(self) -> str:
        """The help as plain text."""
        return self.browser.toPlainText()
