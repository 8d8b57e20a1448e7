"""The timing protocol shared by the TensorFlow and PyTorch rows (no framework imports here).

A row subclasses `TimedSteps`, sets `self.cfg` (with "batch", "steps", "warmup_reps") and
implements `one_step()`, which runs one training step and returns its loss (a tensor whose
conversion to float waits for the step to finish).
"""

import math
import time


class TimedSteps:
    def one_step(self):
        raise NotImplementedError

    def _run(self, steps):
        t0 = time.perf_counter()
        loss = None
        for _ in range(steps):
            loss = self.one_step()
        loss = float(loss)  # waits for the last step
        dt = time.perf_counter() - t0
        if not math.isfinite(loss):
            raise RuntimeError(f"non-finite loss {loss}")
        return dt

    def warmup(self):
        self._run(self.cfg["steps"] * self.cfg["warmup_reps"])

    def rep(self):
        """(images, seconds) of one timed repetition."""
        return self.cfg["batch"] * self.cfg["steps"], self._run(self.cfg["steps"])

    def close(self):
        pass
