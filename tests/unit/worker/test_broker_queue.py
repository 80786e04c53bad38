"""What the reconciler sees of the embedded filesystem broker: the training jobs whose message
files are in the queue folder, written by kombu itself (the Redis side is tested against a
real Redis in tests/integration/worker/test_lost_messages.py)."""

from pathlib import Path

from broker.config import TRAIN_TASK, VALIDATE_TASK, make_celery
from models.settings import Settings
from worker.broker_queue import experiment_of, jobs_in_broker


def test_filesystem_broker_counts_visible_training_messages_only(tmp_path: Path) -> None:
    settings = Settings(
        mode="embedded",
        data_dir=tmp_path,
        broker_url="filesystem://",  # not the test run's Redis from the environment
        result_backend=f"file://{tmp_path / 'results'}",
    )
    app = make_celery(settings)
    assert jobs_in_broker(settings, delivered_since=0) == set()
    for experiment_id in (3, 5):
        app.send_task(TRAIN_TASK, args=[experiment_id], ignore_result=True)
    app.send_task(VALIDATE_TASK, args=[{}, [2]], ignore_result=True)  # not a training job
    assert jobs_in_broker(settings, delivered_since=0) == {3, 5}

    # A message still being written has a hidden name until it is renamed into place, and a
    # taken one has left the folder.
    queue = settings.broker_dir / "queue"
    [taken] = [path for path in queue.iterdir() if experiment_of(path.read_bytes()) == 3]
    (queue / f".{taken.name}.part").write_bytes(taken.read_bytes())
    taken.rename(settings.broker_dir / "processed" / taken.name)
    assert jobs_in_broker(settings, delivered_since=0) == {5}
