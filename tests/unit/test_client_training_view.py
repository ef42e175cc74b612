"""The loss sparkline and the step counts `jobs watch` draws from metrics events."""

from rich.console import Console

from gateway.client.training_view import BLOCKS, SPARKLINE_WIDTH, TrainingView, sparkline


def test_sparkline_spans_the_blocks_from_the_smallest_value_to_the_largest():
    assert sparkline([float(height) for height in range(8)]) == "▁▂▃▄▅▆▇█"
    assert sparkline([0.7, 0.0, 0.35, 0.7]) == "█▁▅█"
    assert sparkline([3.0, 3.0, 3.0]) == BLOCKS[3] * 3
    assert sparkline([]) == ""


def test_the_view_keeps_the_latest_step_and_the_recent_losses():
    view = TrainingView()
    for step in range(1, 61):
        view.add_metrics({"step": step, "total_steps": 100, "train_loss": 100.0 - step})
    view.add_metrics({"step": 59, "total_steps": 100})  # a late event never moves the bar back
    view.update_bar()
    assert (view.step, view.total_steps) == (60, 100)
    assert list(view.losses) == [100.0 - step for step in range(61 - SPARKLINE_WIDTH, 61)]

    view.job = {"id": "ftjob-abc", "status": "running", "model": "tiny-chat"}
    console = Console(width=100, record=True, color_system=None)
    console.print(view)
    drawn = console.export_text()
    assert "ftjob-abc  running  tiny-chat" in drawn
    assert "60/100" in drawn
    loss_line = drawn.splitlines()[-1]
    assert loss_line.startswith("loss  █") and loss_line.endswith("▁  40.0000")
    assert len(loss_line.split()[1]) == SPARKLINE_WIDTH
