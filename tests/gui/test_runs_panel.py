"""The Runs panel alone: replicate groups as one expandable row, selection semantics, in-place updates,
tooltips at a narrow width, and the neighbour to select after a delete.

The runs come from a small real project: a 3-replicate group (one replicate computed), a run alone in its
group (not started) and another computed single run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QTreeWidgetItem

from core.engine import RunSpec
from core.runner import create_runs, drive
from core.store import Project, RunInfo
from gui.panels.runs_panel import COL_GENS, COL_NAME, COL_PARAMS, COL_STATUS, COLUMNS, RunsPanel


@pytest.fixture(scope="module")
def project_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[RunInfo], list[int], int, int]:
    """(every run, the group's ids, the lone run's id, the last run's id)."""
    path: Path = tmp_path_factory.mktemp("runs_panel") / "p.collapse"
    with Project(path, create=True) as p:
        group = create_runs(p, RunSpec.build("gaussian", "replace", {}, 3, 40, 1), replicates=3, name="grp")
        (single,) = create_runs(p, RunSpec.build("gaussian", "mix", {}, 3, 40, 2), name="single")
        (last,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, 3, 40, 3), name="last")
        for rid in (group[0], last):
            for _ in drive(p, rid):
                pass
        return p.runs(), group, single, last


@pytest.fixture
def panel(qtbot, project_runs) -> RunsPanel:  # noqa: ANN001
    runs, *_ = project_runs
    w = RunsPanel()
    qtbot.addWidget(w)
    w.resize(300, 400)
    w.show()
    qtbot.waitExposed(w)
    w.set_runs(runs)
    return w


def click(qtbot, panel: RunsPanel, item: QTreeWidgetItem, column: int = COL_STATUS) -> None:  # noqa: ANN001
    tree = panel.tree
    rect = tree.visualRect(tree.indexFromItem(item, column))
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_a_group_is_one_expandable_row_and_a_lone_run_a_plain_one(qtbot, project_runs) -> None:  # noqa: ANN001
    runs, group, single, _ = project_runs
    w = RunsPanel()
    qtbot.addWidget(w)
    w.set_runs([r for r in runs if r.id in (*group, single)])
    tree = w.tree
    assert tree.topLevelItemCount() == 2
    g, s = tree.topLevelItem(0), tree.topLevelItem(1)
    assert g.text(COL_NAME) == "grp (3 replicates)" and g.childCount() == 3
    assert [g.child(i).text(COL_NAME) for i in range(3)] == ["grp #1", "grp #2", "grp #3"]
    assert g.text(COL_STATUS) == "1 finished, 2 not started"
    assert g.text(COL_GENS) == "0–3/3"
    assert not g.flags() & Qt.ItemFlag.ItemIsEditable  # the store renames runs, not groups
    assert s.text(COL_NAME) == "single" and s.childCount() == 0 and s.text(COL_STATUS) == "not started"
    assert [r.id for r in w.runs()] == [*group, single]
    w.set_pending([group[1]], [])
    assert g.text(COL_STATUS) == "1 finished, 1 queued, 1 not started"
    assert g.child(1).text(COL_STATUS) == "queued"


def test_selecting_the_group_row_selects_every_replicate(qtbot, panel, project_runs) -> None:  # noqa: ANN001
    _, group, _, _ = project_runs
    g = panel.tree.topLevelItem(0)
    with qtbot.waitSignal(panel.selection_changed):
        click(qtbot, panel, g)
    assert panel.selected_run_ids() == group
    assert panel.current_run_id() == group[0]
    assert not panel.rename_action.isEnabled() and panel.delete_action.isEnabled()
    assert panel.resumable_selected() == group[1:]

    g.setExpanded(True)
    with qtbot.waitSignal(panel.selection_changed):
        click(qtbot, panel, g.child(1))
    assert panel.selected_run_ids() == [group[1]] and panel.current_run_id() == group[1]
    assert panel.rename_action.isEnabled()
    click(qtbot, panel, g)  # back to the group: the replicate shown stays the one just picked
    assert panel.selected_run_ids() == group and panel.current_run_id() == group[1]


def test_select_runs_picks_the_group_row_or_its_children(panel, project_runs) -> None:  # noqa: ANN001
    _, group, single, _ = project_runs
    tree = panel.tree
    g = tree.topLevelItem(0)
    panel.select_runs(group, group[2])
    assert tree.selectedItems() == [g] and not g.isExpanded()
    assert panel.selected_run_ids() == group and panel.current_run_id() == group[2]
    panel.edit_current_name()  # a group has no name of its own to edit
    assert panel.tree.state() != QAbstractItemView.State.EditingState
    panel.select_runs([group[0], single], single)
    assert g.isExpanded() and [i.text(COL_NAME) for i in tree.selectedItems()] == ["grp #1", "single"]
    assert panel.selected_run_ids() == [group[0], single] and panel.current_run_id() == single
    panel.select_runs([])
    assert panel.selected_run_ids() == [] and panel.current_run_id() is None


def test_update_run_keeps_selection_and_an_open_rename_editor(qtbot, panel, project_runs) -> None:  # noqa: ANN001
    runs, group, single, _ = project_runs
    by_id = {r.id: r for r in runs}
    panel.select_runs(group, group[0])
    panel.update_run(dataclasses.replace(by_id[group[1]], status="running", last_generation=2))
    g = panel.tree.topLevelItem(0)
    assert g.text(COL_STATUS) == "1 finished, 1 running, 1 not started" and g.text(COL_GENS) == "0–3/3"
    assert panel.selected_run_ids() == group and panel.current_run_id() == group[0]

    s = panel.tree.topLevelItem(1)
    click(qtbot, panel, s, COL_NAME)  # as a real double-click starts: press, release, then the double-click
    rect = panel.tree.visualRect(panel.tree.indexFromItem(s, COL_NAME))
    qtbot.mouseDClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.tree.state() == QAbstractItemView.State.EditingState
    editor = QApplication.focusWidget()
    editor.selectAll()
    qtbot.keyClicks(editor, "renamed")
    panel.update_run(dataclasses.replace(by_id[single], status="running", last_generation=1))
    assert panel.tree.state() == QAbstractItemView.State.EditingState and editor.text() == "renamed"
    assert s.text(COL_STATUS) == "running" and panel.selected_run_ids() == [single]
    with qtbot.waitSignal(panel.rename_requested) as sig:
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert sig.args == [single, "renamed"]
    assert s.text(COL_NAME) == "single"  # the stored name until the window renames it


def test_set_runs_regroups_in_place(panel, project_runs) -> None:  # noqa: ANN001
    runs, group, single, last = project_runs
    panel.select_runs([single], single)
    panel.set_runs([r for r in runs if r.id not in group[1:]])  # the group's other replicates deleted
    tree = panel.tree
    assert [tree.topLevelItem(i).text(COL_NAME) for i in range(tree.topLevelItemCount())] == [
        "grp #1", "single", "last"]
    assert panel.selected_run_ids() == [single]
    panel.set_runs(runs)
    assert tree.topLevelItemCount() == 3 and tree.topLevelItem(0).childCount() == 3
    assert panel.selected_run_ids() == [single] and panel.run(last).name == "last"
    panel.select_runs([group[1], single], group[1])
    moved = [r for r in runs if r.id == single] + [r for r in runs if r.id != single][::-1]
    panel.set_runs(moved)  # rows reordered: selection, current row and expansion follow them
    assert [tree.topLevelItem(i).text(COL_NAME) for i in range(3)] == ["single", "last", "grp (3 replicates)"]
    assert [r.id for r in panel.runs()] == [single, last, *group[::-1]]
    assert panel.selected_run_ids() == [single, group[1]] and panel.current_run_id() == group[1]
    assert tree.topLevelItem(2).isExpanded()


def test_every_cell_has_its_full_text_in_its_tooltip_at_a_narrow_width(panel) -> None:  # noqa: ANN001
    tree = panel.tree
    tree.topLevelItem(0).setExpanded(True)
    items = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    items += [items[0].child(i) for i in range(items[0].childCount())]
    for item in items:
        for col in range(len(COLUMNS)):
            assert item.text(col) and item.text(col) in item.toolTip(col), (item.text(COL_NAME), col)
    assert "M=40" in items[1].toolTip(COL_PARAMS)
    header = tree.header()
    assert tree.viewport().width() <= 300
    assert sum(header.sectionSize(c) for c in (COL_NAME, COL_STATUS, COL_GENS)) <= tree.viewport().width()
    assert tree.textElideMode() == Qt.TextElideMode.ElideRight


def test_neighbour_of_deleted_runs(panel, project_runs) -> None:  # noqa: ANN001
    _, group, single, last = project_runs
    assert panel.neighbour_of(group) == single  # start: the row after
    assert panel.neighbour_of([single]) == last  # middle
    assert panel.neighbour_of([last]) == single  # end: the row before
    assert panel.neighbour_of([single, last]) == group[0]  # a group stands for its first replicate
    assert panel.neighbour_of([group[0]]) == group[1]  # one replicate: the next replicate
    assert panel.neighbour_of([group[0], last]) == single  # after the last deleted row: none, so before it
    assert panel.neighbour_of([*group, single, last]) is None
    assert panel.neighbour_of([]) is None
