"""What `jobs watch` draws on a terminal: the job's status, a bar over its training steps with the
time left, and a sparkline of its recent training losses."""

from collections import deque
from typing import Any

from rich.console import Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.text import Text

BLOCKS = "▁▂▃▄▅▆▇█"
SPARKLINE_WIDTH = 48
STATUS_STYLES = {
    "succeeded": "bold green",
    "failed": "bold red",
    "cancelled": "bold yellow",
    "paused": "yellow",
}


def sparkline(values: list[float]) -> str:
    """One block per value, its height the value's place between the smallest and the largest."""
    if not values:
        return ""
    low, high = min(values), max(values)
    top = len(BLOCKS) - 1
    if high == low:
        return BLOCKS[top // 2] * len(values)
    return "".join(BLOCKS[round((value - low) / (high - low) * top)] for value in values)


class TrainingView:
    """Fed the job as each poll reads it and its metrics events oldest first."""

    def __init__(self) -> None:
        self.job: dict[str, Any] | None = None
        self.losses: deque[float] = deque(maxlen=SPARKLINE_WIDTH)
        self.step = 0
        self.total_steps: int | None = None
        self.progress = Progress(
            TextColumn("steps"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        self._task: TaskID | None = None

    def add_metrics(self, data: dict[str, Any]) -> None:
        if isinstance(data.get("step"), int):
            self.step = max(self.step, data["step"])
        if isinstance(data.get("total_steps"), int):
            self.total_steps = data["total_steps"]
        if isinstance(data.get("train_loss"), int | float):
            self.losses.append(float(data["train_loss"]))

    def update_bar(self) -> None:
        """Called once per poll, after its events: the steps a poll caught up on before the watch
        began start the bar and do not count towards the speed the time left comes from."""
        if self.total_steps is None:
            return
        if self._task is None:
            self._task = self.progress.add_task("steps", total=self.total_steps, completed=self.step)
        else:
            self.progress.update(self._task, total=self.total_steps, completed=self.step)

    def __rich__(self) -> RenderableType:
        parts: list[RenderableType] = []
        if self.job is not None:
            status = self.job["status"]
            line = Text.assemble((self.job["id"], "bold"), "  ", (status, STATUS_STYLES.get(status, "cyan")))
            line.append(f"  {self.job['model']}", style="dim")
            parts.append(line)
        if self._task is not None:
            parts.append(self.progress)
        if self.losses:
            parts.append(
                Text.assemble("loss  ", (sparkline(list(self.losses)), "magenta"), f"  {self.losses[-1]:.4f}")
            )
        return Group(*parts)
