"""Plans: fixed order as written, seeded random order reproducible and stored."""

from __future__ import annotations

import json
from collections import Counter
from itertools import pairwise

import pytest

from mimicsync.protocols.plan import plan_trials
from mimicsync.protocols.schema import load_protocol, loads_protocol


def _order(plan) -> list[str]:
    return [t.step_id for t in plan.trials]


def test_functional_plan_is_the_fixed_order_with_consecutive_repetitions() -> None:
    p = load_protocol("functional")
    plan = plan_trials(p, seed=1)
    assert len(plan.trials) == 1 + 10 * 3
    assert _order(plan)[:4] == ["rest", "forehead", "forehead", "forehead"]
    assert _order(plan) == _order(plan_trials(p, seed=2))  # the seed does not matter for "fixed"
    forehead = [t for t in plan.trials if t.step_id == "forehead"]
    assert [t.repetition for t in forehead] == [1, 2, 3]
    assert [t.show_instruction for t in forehead] == [True, False, False]  # repeat_instruction = false
    assert forehead[0].step_number == 2 and [t.index for t in plan.trials] == list(range(31))
    assert forehead[0].planned_duration == pytest.approx(3 + 6.5) and forehead[1].planned_duration == pytest.approx(6.5)
    assert plan.planned_duration == pytest.approx(255.5)


def test_same_seed_same_order_and_different_seeds_differ() -> None:
    p = load_protocol("emotions")
    a, b = plan_trials(p, seed=12345), plan_trials(p, seed=12345)
    assert a == b and _order(a) == _order(b)
    orders = {tuple(_order(plan_trials(p, seed=s))) for s in range(20)}
    assert len(orders) == 20


def test_emotion_plan_has_every_emotion_four_times_never_twice_in_a_row() -> None:
    p = load_protocol("emotions")
    for seed in range(200):
        plan = plan_trials(p, seed=seed)
        order = _order(plan)
        assert Counter(order) == {e: 4 for e in ("anger", "disgust", "fear", "happiness", "sadness", "surprise")}
        assert all(x != y for x, y in pairwise(order)), (seed, order)
        for step_id in set(order):
            assert [t.repetition for t in plan.trials if t.step_id == step_id] == [1, 2, 3, 4]
        assert all(t.show_instruction for t in plan.trials)
    assert plan.planned_duration == pytest.approx(160.0)


def test_no_repeat_order_works_at_the_limit_of_feasibility() -> None:
    """3 x a, 2 x b: only a b a b a is possible; drawing greedily would dead-end."""
    text = load_protocol("emotions").source.read_text(encoding="utf-8")
    text = text.split("[[steps]]")[0] + "".join(
        f'[[steps]]\nid = "{i}"\nlabel = {{ en = "{i}", de = "{i}" }}\ninstruction = {{ en = "{i}", de = "{i}" }}\n'
        f"repetitions = {n}\n"
        for i, n in (("a", 3), ("b", 2))
    )
    p = loads_protocol(text, "emotions.toml")
    assert {tuple(_order(plan_trials(p, seed=s))) for s in range(30)} == {("a", "b", "a", "b", "a")}


def test_plain_random_order_is_a_seeded_shuffle() -> None:
    text = load_protocol("emotions").source.read_text(encoding="utf-8").replace('"random-no-repeat"', '"random"')
    p = loads_protocol(text, "emotions.toml")
    plans = [plan_trials(p, seed=s) for s in range(50)]
    assert plans[3] == plan_trials(p, seed=3)
    assert any(x == y for plan in plans for x, y in pairwise(_order(plan)))  # repeats are allowed here


def test_plan_is_stored_as_json_with_its_seed() -> None:
    plan = plan_trials(load_protocol("emotions"), seed=99)
    d = json.loads(json.dumps(plan.to_dict()))
    assert d["seed"] == 99 and d["protocol"] == "emotions" and d["order"] == "random-no-repeat"
    assert [t["step"] for t in d["trials"]] == _order(plan)
    assert d["trials"][0] == {
        "index": 0, "step": plan.trials[0].step_id, "step_number": plan.trials[0].step_number, "repetition": 1,
        "repetitions": 4, "show_instruction": True, "instruction": 1.5, "countdown": 1.0, "hold": 2.5, "relax": 1.0,
    }


def test_fresh_seed_is_drawn_and_kept() -> None:
    p = load_protocol("emotions")
    plan = plan_trials(p)
    assert 0 <= plan.seed < 2**32 and plan_trials(p, seed=plan.seed) == plan
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        plan_trials(p, seed=-1)
