"""epoch_metrics has no foreign key (migration 0009): deleting an experiment, or its study,
still deletes its epochs, by trigger, also those of a write that commits while the delete
waits for it; and a write for an experiment that is gone writes nothing."""

import threading

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text, update

from models.db import session_scope
from models.tables import EpochMetric, Experiment, MetricChunk, Study, utcnow
from tests.factories import add_experiment, add_study
from tests.helpers import poll
from worker.training import epoch_store


def recorded(epochs: int, study_id: int | None = None) -> int:
    experiment_id = add_experiment(epochs_total=100, status="running", study_id=study_id)
    rows = [(epoch, {"loss": 1 / epoch}) for epoch in range(1, epochs + 1)]
    assert epoch_store.write_epochs(experiment_id, None, rows) == "ok"
    return experiment_id


def stored(experiment_id: int) -> tuple[int, int]:
    """(epoch rows, chunk rows) of the experiment."""
    with session_scope() as session:
        return (
            session.scalar(select(func.count()).where(EpochMetric.experiment_id == experiment_id))
            or 0,
            session.scalar(select(func.count()).where(MetricChunk.experiment_id == experiment_id))
            or 0,
        )


def delete_experiment(experiment_id: int) -> None:
    with session_scope() as session:
        session.execute(delete(Experiment).where(Experiment.id == experiment_id))


def test_deleting_an_experiment_deletes_its_epochs_and_no_others(client: TestClient) -> None:
    gone, kept = recorded(5), recorded(3)
    delete_experiment(gone)
    assert stored(gone) == (0, 0)
    assert stored(kept) == (3, 1)


def test_deleting_a_study_deletes_its_experiments_epochs(client: TestClient) -> None:
    study_id = add_study(definition={})
    runs = [recorded(4, study_id), recorded(2, study_id)]
    with session_scope() as session:
        session.execute(delete(Study).where(Study.id == study_id))
    assert [stored(run) for run in runs] == [(0, 0), (0, 0)]


def test_a_write_for_a_deleted_experiment_writes_nothing(client: TestClient) -> None:
    experiment_id = recorded(2)
    delete_experiment(experiment_id)
    assert epoch_store.write_epochs(experiment_id, None, [(3, {"loss": 0.3})]) == "lost"
    assert stored(experiment_id) == (0, 0)


def test_a_delete_waiting_for_a_write_removes_the_epochs_it_committed(
    client: TestClient,
) -> None:
    experiment_id = recorded(2)
    deleter = threading.Thread(target=delete_experiment, args=(experiment_id,))
    with session_scope() as writer:
        # What write_epochs does in one transaction: the fence's UPDATE locks the row...
        writer.execute(
            update(Experiment).where(Experiment.id == experiment_id).values(heartbeat_at=utcnow())
        )
        epoch_store.store_epochs(writer, experiment_id, [(3, {"loss": 0.3})], replace=False)
        deleter.start()
        poll(lambda: lock_waits("DELETE FROM experiments"), bool, timeout=10, every=0.02)
    # ...so the delete waited for this commit, and its trigger saw the epoch it committed.
    deleter.join(timeout=30)
    assert not deleter.is_alive()
    assert stored(experiment_id) == (0, 0)


def lock_waits(statement: str) -> int:
    """Sessions running `statement` and waiting for a lock."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND query LIKE :statement"
    )
    with session_scope() as session:
        return session.scalar(query, {"statement": statement + "%"}) or 0
