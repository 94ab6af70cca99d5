"""Objects alive at server start are kept out of later full garbage collections."""

from __future__ import annotations

import gc

from rasa_ext.server import freeze_startup_objects


def test_what_start_up_built_is_no_longer_walked_by_full_collections():
    model = [{"weights": [float(i)] * 4} for i in range(1000)]
    cycle: list = []
    cycle.append(cycle)  # start-up garbage: freed first, not kept for good
    del cycle
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > len(model)
        walked = {id(obj) for generation in range(3) for obj in gc.get_objects(generation)}
        assert id(model) not in walked and id(model[0]) not in walked
        assert not [obj for obj in gc.get_objects() if isinstance(obj, list) and obj and obj[0] is obj]
        later = [{"new": True}]  # what conversations allocate afterwards is still collected
        assert id(later) in {id(obj) for obj in gc.get_objects()}
    finally:
        gc.unfreeze()
