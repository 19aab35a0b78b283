"""The error every reader of external files raises for malformed input."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


class DataFormatError(ValueError):
    """A file does not follow its format. Names the file and each bad line.

    ``problems`` holds ``(line_number, message)`` pairs (1-based physical line numbers, the
    header being line 1; 0 when a problem concerns the whole file). The message lists the first
    ``max_listed`` of them and says how many more there were, so a huge broken file still gives a
    readable error.
    """

    def __init__(
        self, path: str | Path, problems: Sequence[tuple[int, str]], max_listed: int = 20
    ) -> None:
        self.path = str(path)
        self.problems = list(problems)
        name = Path(path).name
        lines = [
            f"{name}:{line}: {message}" if line else f"{name}: {message}"
            for line, message in self.problems[:max_listed]
        ]
        hidden = len(self.problems) - len(lines)
        if hidden > 0:
            lines.append(f"... and {hidden} more problem(s)")
        super().__init__(f"{self.path} is not a valid file:\n" + "\n".join(lines))
