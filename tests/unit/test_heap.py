import gc

from config.heap import freeze_loaded_objects


def test_objects_alive_at_the_freeze_leave_the_collectors_generations() -> None:
    kept = [object() for _ in range(10)] + [[] for _ in range(10)]
    before = gc.get_freeze_count()
    try:
        freeze_loaded_objects()
        assert gc.get_freeze_count() >= before + 10
        walked = {id(o) for o in gc.get_objects()}
        assert not any(id(k) in walked for k in kept[10:])
    finally:
        gc.unfreeze()


def test_first_time_only_does_nothing_in_a_process_that_froze_before() -> None:
    try:
        freeze_loaded_objects()
        frozen = gc.get_freeze_count()
        late = [[] for _ in range(100)]
        freeze_loaded_objects(first_time_only=True)
        assert gc.get_freeze_count() == frozen
        assert len(late) == 100
    finally:
        gc.unfreeze()
