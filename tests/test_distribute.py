"""tfgan_orig.distribute: the one `is_chief` (used by training, checkpoints and the tests alike)."""

from tfgan_orig import checkpoints, distribute


def test_chief_is_chief_0_or_worker_0_without_a_chief():
    with_chief = {"chief": ["h0:1"], "worker": ["h1:1", "h2:1"]}
    assert distribute.is_chief_task(with_chief, "chief", 0)
    assert not distribute.is_chief_task(with_chief, "worker", 0)  # the chief task writes
    assert not distribute.is_chief_task(with_chief, "worker", 1)
    workers = {"worker": ["h1:1", "h2:1"]}
    assert distribute.is_chief_task(workers, "worker", 0)
    assert not distribute.is_chief_task(workers, "worker", 1)
    assert not distribute.is_chief_task({**workers, "evaluator": ["h3:1"]}, "evaluator", 0)
    assert distribute.is_chief_task({}, None, None)  # no cluster: one task, its own chief


def test_single_process_strategies_are_chief():
    assert distribute.is_chief()
    assert distribute.is_chief(distribute.get_strategy("default"))
    assert distribute.task_id() == 0


def test_checkpoints_use_the_same_is_chief():
    assert checkpoints.is_chief is distribute.is_chief
    assert checkpoints.task_id is distribute.task_id
