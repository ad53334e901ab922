"""A learning rate too high: divergence, oscillating epoch losses, or loss spikes."""

from __future__ import annotations

import math

from honed.report.checks.base import Finding, finite, fmt, relative_change
from honed.report.evidence import Evidence, series

__all__ = ["check"]

#: train loss this much (relative) above its first epoch at the end: the run went backwards
DIVERGED_RISE = 0.5
#: a loss (an epoch's train or val loss, or one batch's) this many times the reference loss
#: (the larger of the chance loss and the first batch's): it blew up, even if it came back down
#: later, often as a dead network predicting one class. The reference is what an untrained
#: model scores, not the first epoch's mean, which a blow-up in epoch 1 already inflates.
BLOWUP = 10.0
#: an epoch whose train loss is this much above the previous one counts as a bounce
BOUNCE = 0.10
#: and the bounce is at least this share of the reference loss: at a loss of 1e-4 a rise of
#: 10% is noise, not instability
BOUNCE_FLOOR = 0.02
#: at least this many bounces, in at least this share of epoch transitions: oscillation, not a
#: single bad epoch
MIN_BOUNCES, BOUNCE_SHARE = 3, 0.3
#: epochs (after the first, where the loss falls fast anyway) with a batch loss over
#: SPIKE_FACTOR × the epoch median *and* above the reference loss: training knocked back to
#: where it started
MIN_SPIKE_EPOCHS = 2


def check(evidence: Evidence) -> Finding | None:
    """Diverged (NaN/inf, a blow-up, a collapse to chance), oscillating, or spiking loss."""
    losses = finite(series(evidence.history, "train", "loss"))
    reference = evidence.reference_loss
    reasons = []
    stopped = evidence.stopped
    if stopped and "NonFinite" in stopped.get("error", ""):
        recent = ", ".join(fmt(v) for v in stopped.get("recent_losses", [])[-4:])
        reasons.append(f"the loss diverged: {stopped['error'].split(': ', 1)[-1].split(';')[0]}"
                       + (f"; last batch losses {recent}" if recent else ""))
    elif (blowup := _blowup(evidence, reference)) is not None:
        reasons.append(blowup)
    elif (collapse := _collapse(evidence)) is not None:
        reasons.append(collapse)
    elif len(losses) >= 2 and relative_change(losses[0], losses[-1]) > DIVERGED_RISE:
        reasons.append(f"train loss rose from {fmt(losses[0])} (epoch 1) to {fmt(losses[-1])} "
                       f"(epoch {len(losses)})")
    floor = BOUNCE_FLOOR * (reference or 0.0)
    bounces = sum(b > a * (1 + BOUNCE) and b - a > floor
                  for a, b in zip(losses, losses[1:], strict=False))
    if bounces >= MIN_BOUNCES and bounces >= BOUNCE_SHARE * (len(losses) - 1):
        reasons.append(f"train loss went up by over {BOUNCE:.0%} in {bounces} of "
                       f"{len(losses) - 1} epochs (oscillation)")
    spikes = _spike_epochs(evidence, reference)
    if len(spikes) >= MIN_SPIKE_EPOCHS:
        reasons.append(f"batch-loss spikes above an untrained model's loss in epochs "
                       f"{', '.join(str(e) for e in spikes[:8])}")
    if not reasons:
        return None
    lr = evidence.lr
    text = "; ".join(reasons) + (f" (lr {fmt(lr)})" if lr else "")
    diverged = reasons[0].startswith(("the loss diverged", "the model collapsed"))
    verdict = ("learning rate too high: training diverged" if diverged else
               "learning rate too high: training is unstable")
    return Finding("lr_high", verdict, text, _changes(evidence, lr))


def _blowup(evidence: Evidence, reference: float | None) -> str | None:
    """The worst loss (epoch train or val, or batch) far above the reference loss."""
    if reference is None:
        return None
    candidates = [(v, f"train loss {fmt(v)} in epoch {i + 1}") for i, v in
                  enumerate(series(evidence.history, "train", "loss"))]
    candidates += [(v, f"val loss {fmt(v)} in epoch {i + 1}") for i, v in
                   enumerate(series(evidence.history, "val", "loss"))]
    candidates += [((line.get("loss") or {}).get("max", 0.0), f"a batch loss of "
                    f"{fmt((line.get('loss') or {}).get('max'))} in epoch {line.get('epoch')}")
                   for line in evidence.epochs]
    candidates = [(v, text) for v, text in candidates if math.isfinite(v)]
    if not candidates:
        return None
    worst, text = max(candidates, key=lambda item: item[0])
    if worst > BLOWUP * reference:
        return (f"the loss diverged: {text}, against {fmt(reference)} for an untrained model "
                f"({worst / reference:.3g}×)")
    return None


def _collapse(evidence: Evidence) -> str | None:
    """Val accuracy clearly above chance at some epoch, back at chance at the end."""
    from honed.report.checks.chance import at_chance

    accuracy = series(evidence.history, "val", "accuracy")
    losses = series(evidence.history, "val", "loss")
    if len(accuracy) < 2 or not math.isfinite(accuracy[-1]):
        return None
    best = max(range(len(accuracy)), key=lambda i: accuracy[i] if accuracy[i] == accuracy[i]
               else -1.0)
    if at_chance(evidence, accuracy[best]) or not at_chance(evidence, accuracy[-1], losses[-1]):
        return None
    return (f"the model collapsed: val accuracy {accuracy[best]:.3f} at epoch {best + 1}, "
            f"{accuracy[-1]:.3f} (chance) at epoch {len(accuracy)}")


def _spike_epochs(evidence: Evidence, reference: float | None) -> list[int]:
    if reference is None:
        return []
    out = []
    for line in evidence.epochs:
        stats = line.get("loss") or {}
        if line.get("epoch", 1) > 1 and stats.get("spikes", 0) > 0 and \
                stats.get("max", 0) > reference:
            out.append(line["epoch"])
    return out


def _changes(evidence: Evidence, lr: float | None) -> list[str]:
    train = evidence.train
    changes = []
    if lr and lr >= 1:  # far off: the LR range test finds the scale faster than steps of 10
        changes.append("train.optimizer.lr=auto")
    if lr:
        changes += [f"train.optimizer.lr={lr / 10:g}",
                    f"train.optimizer.lr={{float: [{lr / 1000:g}, {lr / 3:g}], log: true}}"]
    else:
        changes.append("train.optimizer.lr=auto")
    clip = train.get("clip") or {}
    if not (clip.get("norm") or clip.get("value")):
        changes.append("train.clip={norm: 1.0}")
    schedule = train.get("schedule") or {}
    if not schedule.get("warmup_epochs"):
        changes.append("train.schedule={name: cosine, warmup_epochs: 1}")
    return [c for c in changes if "nan" not in c and not math.isinf(lr or 0)]
