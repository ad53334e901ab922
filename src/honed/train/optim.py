"""Optimizers by name, with decoupled weight decay for every one of them.

``create_optimizer(model, name="adamw", lr=1e-3, weight_decay=1e-4)`` builds a plain
``torch.optim.Optimizer``. Weight decay is *decoupled* (AdamW semantics, Loshchilov & Hutter):
before each update every decayed parameter is shrunk as ``p <- p - lr * weight_decay * p``,
with ``lr`` the group's *current* learning rate, so a schedule scales the decay too. ``adamw``
uses torch's own implementation; the others get the same rule from a step pre-hook that reads
the rate from the param group key ``"decoupled_wd"``, which ``state_dict()`` carries, so a
resumed optimizer decays exactly like the original.

Parameters are split into two groups: weights (``ndim > 1``) are decayed, biases and
normalization scales (``ndim <= 1``) are not, as is standard practice. Every parameter is
handed to the optimizer, frozen ones included: torch skips parameters whose ``grad`` is
``None``, and a parameter unfrozen later (``model.unfreeze_after``) trains without a rebuild.

Fine-tuning: with ``backbone`` (the parameters a checkpoint filled) and ``backbone_lr_factor``
below 1, each of the two groups is split again, the head's first: the backbone's carry
``lr = lr * backbone_lr_factor`` and the key ``"backbone_lr_factor"``. A schedule scales every
group from its own base rate and floors a backbone group at ``min_lr`` x its factor, so the
ratio holds at every step. At factor 1 the groups are exactly the ones above.

Example:
    >>> model = torch.nn.Linear(3, 1)
    >>> opt = create_optimizer(model, name="momentum", lr=0.1, weight_decay=1e-4)
    >>> [len(g["params"]) for g in opt.param_groups]
    [1, 1]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from honed.errors import UserInputError
from honed.registry import Registry

__all__ = ["create_optimizer", "list_optimizers", "DECOUPLED_WD_KEY", "BACKBONE_KEY"]

#: Param group key holding the decoupled weight decay rate applied by the pre-hook.
#: (Not ``"decoupled_weight_decay"``: torch's Adam already uses that key for a bool.)
DECOUPLED_WD_KEY = "decoupled_wd"
#: Param group key marking the groups of a fine-tuned backbone; its value is the factor (< 1).
BACKBONE_KEY = "backbone_lr_factor"

_Groups = list[dict[str, Any]]
_Factory = Callable[..., torch.optim.Optimizer]
_OPTIMIZERS: Registry[_Factory] = Registry("optimizer")


@_OPTIMIZERS.register("sgd", description="plain stochastic gradient descent")
def _sgd(groups: _Groups, *, lr: float, **_: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(groups, lr=lr, momentum=0.0)


@_OPTIMIZERS.register("momentum", description="SGD with heavy-ball momentum (knob: momentum)")
def _momentum(groups: _Groups, *, lr: float, momentum: float, **_: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(groups, lr=lr, momentum=momentum)


@_OPTIMIZERS.register("nesterov", description="SGD with Nesterov momentum (knob: momentum)")
def _nesterov(groups: _Groups, *, lr: float, momentum: float, **_: float) -> torch.optim.Optimizer:
    if momentum <= 0.0:
        raise UserInputError(
            f"train.optimizer.momentum must be > 0 for nesterov; got {momentum}"
        )
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=True)


@_OPTIMIZERS.register(
    "rmsprop", description="RMSprop, alpha 0.99 and no momentum, as in torch and Keras"
)
def _rmsprop(groups: _Groups, *, lr: float, eps: float, **_: float) -> torch.optim.Optimizer:
    # The conventional RMSprop (Hinton's lecture, torch/Keras defaults) has no momentum term;
    # the shared `momentum` knob (0.9 by default for SGD) is deliberately not passed here.
    return torch.optim.RMSprop(groups, lr=lr, alpha=0.99, eps=eps, momentum=0.0)


@_OPTIMIZERS.register("adam", description="Adam (knobs: beta1, beta2, eps)")
def _adam(
    groups: _Groups, *, lr: float, beta1: float, beta2: float, eps: float, **_: float
) -> torch.optim.Optimizer:
    return torch.optim.Adam(groups, lr=lr, betas=(beta1, beta2), eps=eps)


@_OPTIMIZERS.register("adamw", description="Adam with torch's own decoupled weight decay")
def _adamw(
    groups: _Groups, *, lr: float, beta1: float, beta2: float, eps: float, **_: float
) -> torch.optim.Optimizer:
    # Hand the decay over to torch's AdamW (one fused update) instead of the pre-hook.
    for group in groups:
        group["weight_decay"] = group.pop(DECOUPLED_WD_KEY)
    return torch.optim.AdamW(groups, lr=lr, betas=(beta1, beta2), eps=eps)


def list_optimizers() -> list[tuple[str, str]]:
    """``(name, description)`` of every optimizer, for ``honed list optimizers``."""
    return _OPTIMIZERS.items()


def create_optimizer(
    model_or_params: nn.Module | Iterable[torch.Tensor] | Iterable[dict[str, Any]],
    *,
    name: str,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    backbone: Iterable[torch.Tensor] = (),
    backbone_lr_factor: float = 1.0,
) -> torch.optim.Optimizer:
    """Build the optimizer ``name`` over a model's parameters.

    Args:
        model_or_params: A module, an iterable of parameters, or torch-style param group
            dicts. Modules and plain parameters are split into a decayed group (``ndim > 1``)
            and an undecayed one; a dict keeps its params together and may set its own
            ``weight_decay`` (and ``lr``, or any option the optimizer accepts).
        name: One of :func:`list_optimizers`.
        lr: Learning rate (the base rate a schedule scales).
        weight_decay: Decoupled decay rate: ``p <- p - lr * weight_decay * p`` per step.
        momentum: Momentum of ``momentum`` and ``nesterov``; ignored by the others.
        beta1: First-moment decay of ``adam`` and ``adamw``.
        beta2: Second-moment decay of ``adam`` and ``adamw``.
        eps: Denominator epsilon of ``adam``, ``adamw`` and ``rmsprop``.
        backbone: Parameters of ``model_or_params`` that train at ``lr * backbone_lr_factor``
            (those a checkpoint filled); the others (the head) train at ``lr``.
        backbone_lr_factor: In (0, 1]; at 1 ``backbone`` is ignored and nothing changes.

    Returns:
        A ``torch.optim.Optimizer``; its ``state_dict()`` round-trips the decay settings.

    Raises:
        UserInputError: ``name`` is unknown, nesterov with zero momentum, a factor outside
            (0, 1], or a factor below 1 without both a backbone and a head.
    """
    factory = _OPTIMIZERS.get(name)
    if not 0.0 < backbone_lr_factor <= 1.0:  # nan too
        raise UserInputError(f"train.backbone_lr_factor must be in (0, 1]; got {backbone_lr_factor}")
    groups = _param_groups(model_or_params, weight_decay)
    if backbone_lr_factor != 1.0:
        groups = _split_backbone(groups, backbone, lr, backbone_lr_factor)
    optimizer = factory(groups, lr=lr, momentum=momentum, beta1=beta1, beta2=beta2, eps=eps)
    if any(DECOUPLED_WD_KEY in group for group in optimizer.param_groups):
        optimizer.register_step_pre_hook(_decoupled_decay_hook)
    return optimizer


def _param_groups(
    source: nn.Module | Iterable[torch.Tensor] | Iterable[dict[str, Any]], weight_decay: float
) -> _Groups:
    items = list(source.parameters() if isinstance(source, nn.Module) else source)
    if items and all(isinstance(item, dict) for item in items):
        groups = []
        for item in items:
            group = dict(item)
            group["params"] = list(group["params"])
            group[DECOUPLED_WD_KEY] = float(group.pop("weight_decay", weight_decay))
            groups.append(group)
        return groups
    # nn.Module.parameters() already drops shared (tied) parameters; keep list order stable.
    decay = [p for p in items if p.ndim > 1]
    no_decay = [p for p in items if p.ndim <= 1]
    groups = [
        {"params": decay, DECOUPLED_WD_KEY: float(weight_decay)},
        {"params": no_decay, DECOUPLED_WD_KEY: 0.0},
    ]
    return [group for group in groups if group["params"]]


def _split_backbone(groups: _Groups, backbone: Iterable[torch.Tensor], lr: float,
                    factor: float) -> _Groups:
    """The head's groups, then the same groups' backbone parameters at their rate x factor."""
    marked = {id(p) for p in backbone}
    head = [{**g, "params": [p for p in g["params"] if id(p) not in marked]} for g in groups]
    body = [{**g, "params": [p for p in g["params"] if id(p) in marked],
             "lr": g.get("lr", lr) * factor,
             BACKBONE_KEY: factor} for g in groups]
    counts = [sum(p.numel() for g in part for p in g["params"]) for part in (body, head)]
    if not all(counts):
        raise UserInputError(
            f"train.backbone_lr_factor {factor} needs a backbone and a head; got {counts[0]} "
            f"backbone and {counts[1]} head weights (the backbone is what model.init_from "
            "fills: every parameter model.init_exclude does not match)")
    return [g for g in head + body if g["params"]]


@torch.no_grad()
def _decoupled_decay_hook(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
    """Shrink decayed parameters by ``lr * wd`` just before the optimizer's own update."""
    for group in optimizer.param_groups:
        rate = group.get(DECOUPLED_WD_KEY, 0.0)
        if rate == 0.0:
            continue
        # Same condition torch uses to update a parameter: a frozen one must not decay.
        params = [p for p in group["params"] if p.grad is not None]
        if params:
            torch._foreach_mul_(params, 1.0 - group["lr"] * rate)
