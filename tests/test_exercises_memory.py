"""Exercises of lessons 03-04 and the run they look inside (`memory_run`): answers come from the
simulated kernel, and small cases can be checked by hand."""

import pytest

import coreylab as lab
from coreylab.exercises import SPECS, exercise, memory_run
from coreylab.exercises.engine import solved
from coreylab.experiments import ExperimentError

KEYS = ["03.soft-faults", "03.mmap-sem", "04.table-pages", "04.cost-ratio"]


def answer_for(key, **variant):
    ex = exercise(key, "s0001", course="c1")
    ex.variant.update(variant)
    return ex, solved(SPECS[key], ex.variant)


@pytest.mark.parametrize("experiment", ["memclone", "mempass"])
def test_memory_run_measures_what_the_experiment_measures(experiment):
    """The same programs as experiments.memory: the same cycles per page, to the cycle."""
    for variant in ("linux-threads", "linux-procs", "corey-ar"):
        row = lab.run(experiment, variants=[variant], cores=[3], params={"pages": 5}).rows[0]
        run = memory_run(experiment, variant, 3, 5)
        assert run.cycles_per_page == row["cycles_per_page"]


@pytest.mark.parametrize("bad", [
    dict(experiment="fd-dup-close"), dict(variant="corey-shares"), dict(cores=0),
    dict(cores=17), dict(pages=0), dict(pages="4"),
])  # fmt: skip
def test_memory_run_refuses_bad_arguments_with_one_line(bad):
    args = dict(experiment="mempass", variant="linux-procs", cores=2, pages=4) | bad
    with pytest.raises(ExperimentError) as e:
        memory_run(**args)
    assert "\n" not in str(e.value)


def test_soft_faults_by_hand():
    """Processes: every core after the first fills its own entries: (cores - 1) x pages.
    Threads: one page table, so none."""
    assert answer_for("03.soft-faults", variant="linux-procs", cores=3, pages=4)[1] == 8
    assert answer_for("03.soft-faults", variant="linux-threads", cores=3, pages=4)[1] == 0


def test_mmap_sem_by_hand():
    """Two threads, three pages each: two mmaps (write) and six faults (read)."""
    ex, answer = answer_for("03.mmap-sem", cores=2, pages=3)
    assert answer == 8 and ex.check("8").correct and not ex.check(7).correct


@pytest.mark.parametrize("experiment,variant,cores,tables", [
    ("mempass", "linux-threads", 3, 4),  # one tree, one PT
    ("mempass", "linux-procs", 2, 8),  # two trees of four
    ("mempass", "corey-ar", 2, 6),  # two roots (PML4 + PDPT) and one shared PD + PT
    ("memclone", "linux-threads", 3, 6),  # one PML4, PDPT, PD and a PT per thread's region
    ("memclone", "corey-ar", 2, 8),  # per core: root PML4, PDPT, the range's PD and PT
])  # fmt: skip
def test_table_pages_by_hand(experiment, variant, cores, tables):
    v = dict(experiment=experiment, variant=variant, cores=cores)
    assert answer_for("04.table-pages", **v)[1] == tables


def test_shared_address_space_costs_more_per_page_with_more_cores():
    _, at_two = answer_for("04.cost-ratio", cores=2, pages=8)
    _, at_eight = answer_for("04.cost-ratio", cores=8, pages=8)
    assert at_eight > at_two and at_eight > 1.25  # every fault bounces the mm's lines


@pytest.mark.parametrize("key", KEYS)
def test_each_student_gets_a_variant_and_the_answer_is_accepted(key):
    questions = {exercise(key, f"student{i}", "c1").question for i in range(12)}
    assert len(questions) > 1
    ex = exercise(key, "grace", "c1")
    assert ex.check(ex._solution()).correct and ex.reveal().verdict == "The answer:"
    assert not ex.check("not a number").correct


def test_every_cost_ratio_variant_has_the_threads_clearly_dearer():
    """The question asks how many times more the threads spend, and the reveal explains why
    they spend more: every variant the draw can give must have that shape (ratio >= 1.2)."""
    from coreylab.exercises.memory import RATIO_CORES, RATIO_PAGES

    drawn = {tuple(sorted(exercise("04.cost-ratio", f"s{i}", "c1").variant.items()))
             for i in range(300)}  # fmt: skip
    offered = {(("cores", c), ("pages", p)) for c in RATIO_CORES for p in RATIO_PAGES}
    assert drawn <= offered and len(drawn) > 1
    for cores in RATIO_CORES:
        for pages in RATIO_PAGES:
            assert answer_for("04.cost-ratio", cores=cores, pages=pages)[1] >= 1.2, (cores, pages)
