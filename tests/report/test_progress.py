"""Progress of a report run: plain numbered lines off a terminal, a bar with time left on one,
and the time of each phase."""

import io

from gmm_bayes.report.progress import Progress, as_progress


def test_plain_lines_number_every_step_against_the_planned_total():
    lines = []
    progress = Progress(lines.append)
    progress.plan(3)
    progress.step("[galaxy] K=1: OK")
    progress.note("a result line, not a step")
    progress.step("[galaxy] K=2: OK")
    progress.plan(1)  # a later data set adds its steps
    progress.step("[galaxy] compared K")
    progress.step("written")
    assert lines == [
        "[1/3] [galaxy] K=1: OK",
        "a result line, not a step",
        "[2/3] [galaxy] K=2: OK",
        "[3/4] [galaxy] compared K",
        "[4/4] written",
    ]
    assert all("\n" not in line and "\x1b" not in line for line in lines)


def test_bar_shows_the_step_count_and_time_left():
    stream = io.StringIO()
    progress = Progress(bar=True, stream=stream)
    progress.plan(4)
    for k in range(3):
        progress.step(f"[galaxy] K={k + 1}")
    progress.close()
    text = stream.getvalue()
    assert "3/4" in text and "left" in text
    assert "[galaxy] K=3" in text  # shown as text, not read as a rich style


def test_phases_add_up_and_a_callable_becomes_a_progress():
    progress = as_progress(None)
    for _ in range(2):
        with progress.phase("EM"):
            pass
    assert set(progress.phases) == {"EM"} and progress.phases["EM"] >= 0
    assert as_progress(progress) is progress
    lines = []
    as_progress(lines.append).step("one")
    assert lines == ["[1/1] one"]
