import json
import math

import pytest
import torch

from honed.errors import CheckpointError, UserInputError
from honed.train.schedules import create_schedule, list_schedules

NAMES = ["constant", "step", "exponential", "cosine", "onecycle", "plateau"]


def _optimizer(*lrs: float) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr} for lr in lrs or (1.0,)]
    return torch.optim.SGD(groups, lr=1.0)


def _curve(schedule, steps: int) -> list[float]:
    lrs = []
    for _ in range(steps):
        lrs.append(schedule.optimizer.param_groups[0]["lr"])
        schedule.step()
    return lrs


def test_list_schedules_names_all_with_descriptions():
    assert [name for name, _ in list_schedules()] == NAMES
    assert all(description for _, description in list_schedules())


def test_constant():
    schedule = create_schedule(_optimizer(0.3), name="constant", epochs=5, steps_per_epoch=4)
    assert _curve(schedule, 25) == [0.3] * 25


def test_step_drops_by_gamma_every_step_size_epochs():
    schedule = create_schedule(_optimizer(), name="step", epochs=10, steps_per_epoch=10,
                               step_size=3, gamma=0.1)
    lrs = _curve(schedule, 100)
    assert lrs[0] == lrs[29] == 1.0
    assert lrs[30] == lrs[59] == pytest.approx(0.1)
    assert lrs[60] == pytest.approx(0.01) and lrs[90] == pytest.approx(0.001)


def test_exponential_is_gamma_per_epoch_and_smooth_within():
    schedule = create_schedule(_optimizer(), name="exponential", epochs=4, steps_per_epoch=10,
                               gamma=0.5)
    lrs = _curve(schedule, 40)
    assert lrs[0] == 1.0 and lrs[10] == pytest.approx(0.5) and lrs[20] == pytest.approx(0.25)
    assert lrs[5] == pytest.approx(math.sqrt(0.5))
    assert all(a > b for a, b in zip(lrs[:-1], lrs[1:], strict=True))


def test_cosine_reaches_min_lr_at_the_end():
    schedule = create_schedule(_optimizer(), name="cosine", epochs=10, steps_per_epoch=10,
                               min_lr=0.1)
    lrs = _curve(schedule, 101)
    assert lrs[0] == 1.0
    assert lrs[50] == pytest.approx(0.55)
    assert lrs[25] == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi / 4)) / 2)
    assert lrs[100] == pytest.approx(0.1) and schedule.lr_at(500) == pytest.approx(0.1)


def test_cosine_matches_torch_cosine_annealing():
    reference_opt = _optimizer(0.5)
    reference = torch.optim.lr_scheduler.CosineAnnealingLR(reference_opt, T_max=60, eta_min=0.01)
    schedule = create_schedule(_optimizer(0.5), name="cosine", epochs=6, steps_per_epoch=10,
                               min_lr=0.01)
    for step in range(60):
        assert schedule.current_lr() == pytest.approx(reference_opt.param_groups[0]["lr"],
                                                      rel=1e-9), step
        schedule.step()
        reference_opt.step()
        reference.step()


def test_onecycle_key_points():
    schedule = create_schedule(_optimizer(), name="onecycle", epochs=10, steps_per_epoch=10,
                               max_lr_factor=10.0, pct_start=0.3)
    lrs = _curve(schedule, 100)
    assert lrs[0] == pytest.approx(0.4)  # peak / 25
    assert max(lrs) == lrs[29] == pytest.approx(10.0)  # peak at pct_start * T - 1
    assert lrs[99] == pytest.approx(0.4 / 1e4)
    assert schedule.lr_at(150) == pytest.approx(0.4 / 1e4)


def test_onecycle_matches_torch_one_cycle():
    reference_opt = _optimizer(0.2)
    reference = torch.optim.lr_scheduler.OneCycleLR(
        reference_opt, max_lr=0.2 * 8, total_steps=57, pct_start=0.25, cycle_momentum=False
    )
    schedule = create_schedule(_optimizer(0.2), name="onecycle", epochs=3, steps_per_epoch=19,
                               max_lr_factor=8.0, pct_start=0.25)
    for step in range(57):
        assert schedule.current_lr() == pytest.approx(reference.get_last_lr()[0], rel=1e-12), step
        schedule.step()
        reference_opt.step()
        reference.step()


def test_onecycle_min_lr_sets_the_end():
    schedule = create_schedule(_optimizer(), name="onecycle", epochs=2, steps_per_epoch=10,
                               min_lr=0.05)
    assert schedule.lr_at(19) == pytest.approx(0.05)


def test_plateau_reduces_after_patience_bad_epochs():
    schedule = create_schedule(_optimizer(), name="plateau", epochs=10, steps_per_epoch=5,
                               factor=0.5, patience=2)
    for value in (1.0, 0.9, 0.95, 0.95):  # two bad epochs: tolerated
        schedule.on_validation(value, "min")
    assert schedule.current_lr() == 1.0
    schedule.on_validation(0.95, "min")  # the third in a row: reduce
    assert schedule.current_lr() == 0.5 and schedule.optimizer.param_groups[0]["lr"] == 0.5
    schedule.on_validation(0.8, "min")  # improvement resets the count
    for _ in range(3):
        schedule.on_validation(float("nan"), "min")  # never an improvement
    assert schedule.current_lr() == 0.25
    schedule.step()
    assert schedule.current_lr() == 0.25  # stepping does not undo reductions


def test_plateau_mode_max_and_patience_zero():
    schedule = create_schedule(_optimizer(), name="plateau", epochs=10, steps_per_epoch=5,
                               factor=0.1, patience=0, min_lr=0.005)
    schedule.on_validation(0.5, "max")
    schedule.on_validation(0.6, "max")
    assert schedule.current_lr() == 1.0
    schedule.on_validation(0.6, "max")  # equal is not better
    assert schedule.current_lr() == pytest.approx(0.1)
    for _ in range(3):
        schedule.on_validation(0.1, "max")
    assert schedule.current_lr() == 0.005  # min_lr floors the decay


def test_other_schedules_ignore_validation():
    schedule = create_schedule(_optimizer(), name="cosine", epochs=2, steps_per_epoch=5)
    for _ in range(10):
        schedule.on_validation(1.0, "min")
    assert schedule.current_lr() == 1.0


def test_warmup_is_linear_and_set_at_creation():
    optimizer = _optimizer(0.6)
    schedule = create_schedule(optimizer, name="cosine", epochs=10, steps_per_epoch=10,
                               warmup_epochs=0.5)  # 5 steps
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)  # step 0 already warms up
    lrs = _curve(schedule, 101)
    assert lrs[:6] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    # after warmup the cosine runs from its own start over the remaining 95 steps
    assert lrs[5 + 95] == pytest.approx(0.0, abs=1e-15)
    assert lrs[5 + 19] == pytest.approx(0.6 * (1 + math.cos(math.pi * 19 / 95)) / 2)


def test_warmup_rises_to_the_schedules_start():
    schedule = create_schedule(_optimizer(), name="onecycle", epochs=10, steps_per_epoch=10,
                               warmup_epochs=0.3)  # 3 steps, towards onecycle's start 0.4
    assert _curve(schedule, 4) == pytest.approx([0.1, 0.2, 0.3, 0.4])


def test_each_param_group_keeps_its_base():
    optimizer = _optimizer(1.0, 0.1)
    schedule = create_schedule(optimizer, name="step", epochs=4, steps_per_epoch=2,
                               step_size=1, gamma=0.5)
    schedule.step()
    schedule.step()
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.5, 0.05])


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_through_json_resumes_identically(name):
    kwargs = dict(name=name, epochs=6, steps_per_epoch=7, warmup_epochs=1.5, step_size=2,
                  gamma=0.5, factor=0.5, patience=1)
    original = create_schedule(_optimizer(0.3, 0.03), **kwargs)
    for step in range(17):
        original.step()
        if step % 7 == 6:
            original.on_validation(1.0, "min")
    state = json.loads(json.dumps(original.state_dict(), allow_nan=False))
    resumed = create_schedule(_optimizer(0.3, 0.03), **kwargs)
    resumed.load_state_dict(state)
    for _ in range(30):
        assert [g["lr"] for g in resumed.optimizer.param_groups] == [
            g["lr"] for g in original.optimizer.param_groups
        ]
        original.on_validation(2.0, "min")
        resumed.on_validation(2.0, "min")
        original.step()
        resumed.step()


def test_load_state_of_another_schedule_fails():
    state = create_schedule(_optimizer(), name="cosine", epochs=2, steps_per_epoch=2).state_dict()
    schedule = create_schedule(_optimizer(), name="step", epochs=2, steps_per_epoch=2)
    with pytest.raises(CheckpointError, match="'cosine'"):
        schedule.load_state_dict(state)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("warmup", [0.0, 0.1, 1.0, 2.5, 40.0])
def test_every_schedule_and_warmup_keeps_lr_finite_and_non_negative(name, warmup):
    schedule = create_schedule(_optimizer(0.01), name=name, epochs=5, steps_per_epoch=3,
                               warmup_epochs=warmup, step_size=1, gamma=0.01)
    for step in range(5 * 3 + 10):  # past the planned end, as a longer resume would
        lr = schedule.optimizer.param_groups[0]["lr"]
        assert math.isfinite(lr) and lr >= 0.0 and lr == schedule.lr_at(step)
        schedule.step()
        if step % 3 == 2:
            schedule.on_validation(1.0, "min")
    json.dumps(schedule.state_dict(), allow_nan=False)


@pytest.mark.parametrize("name", NAMES)
def test_single_step_runs(name):
    schedule = create_schedule(_optimizer(), name=name, epochs=1, steps_per_epoch=1)
    schedule.step()
    assert math.isfinite(schedule.current_lr())


def test_bad_arguments():
    with pytest.raises(UserInputError, match="unknown schedule 'linear'; choose one of: constant"):
        create_schedule(_optimizer(), name="linear", epochs=1, steps_per_epoch=1)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        create_schedule(_optimizer(), name="cosine", epochs=1, steps_per_epoch=0)
