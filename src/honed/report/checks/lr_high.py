"""A learning rate too high: divergence, oscillating epoch losses, or loss spikes."""

from __future__ import annotations

import math

from honed.report.checks.base import Finding, finite, fmt, relative_change
from honed.report.evidence import Evidence, series

__all__ = ["check"]

#: train loss this much (relative) above its first epoch at the end: the run went backwards
DIVERGED_RISE = 0.5
#: an epoch's train loss (or a batch loss) this many times the first epoch's: it blew up, even
#: if it came back down later (often as a dead network predicting one class)
BLOWUP = 10.0
#: an epoch whose train loss is this much above the previous one counts as a bounce
BOUNCE = 0.10
#: at least this many bounces, in at least this share of epoch transitions: oscillation, not a
#: single bad epoch
MIN_BOUNCES, BOUNCE_SHARE = 3, 0.3
#: epochs (after the first, where the loss falls fast anyway) with a batch loss over
#: SPIKE_FACTOR × the epoch median *and* above the first epoch's mean loss: training knocked
#: back to where it started
MIN_SPIKE_EPOCHS = 2


def check(evidence: Evidence) -> Finding | None:
    """Diverged (NaN/inf or rising loss), oscillating, or spiking training loss."""
    losses = finite(series(evidence.history, "train", "loss"))
    reasons = []
    stopped = evidence.stopped
    if stopped and "NonFinite" in stopped.get("error", ""):
        recent = ", ".join(fmt(v) for v in stopped.get("recent_losses", [])[-4:])
        reasons.append(f"the loss diverged: {stopped['error'].split(': ', 1)[-1].split(';')[0]}"
                       + (f"; last batch losses {recent}" if recent else ""))
    elif (blowup := _blowup(evidence, losses)) is not None:
        reasons.append(blowup)
    elif len(losses) >= 2 and relative_change(losses[0], losses[-1]) > DIVERGED_RISE:
        reasons.append(f"train loss rose from {fmt(losses[0])} (epoch 1) to {fmt(losses[-1])} "
                       f"(epoch {len(losses)})")
    bounces = sum(b > a * (1 + BOUNCE) for a, b in zip(losses, losses[1:], strict=False))
    if bounces >= MIN_BOUNCES and bounces >= BOUNCE_SHARE * (len(losses) - 1):
        reasons.append(f"train loss went up by over {BOUNCE:.0%} in {bounces} of "
                       f"{len(losses) - 1} epochs (oscillation)")
    spikes = _spike_epochs(evidence, losses)
    if len(spikes) >= MIN_SPIKE_EPOCHS:
        reasons.append(f"batch-loss spikes above the first epoch's loss in epochs "
                       f"{', '.join(str(e) for e in spikes[:8])}")
    if not reasons:
        return None
    lr = evidence.lr
    text = "; ".join(reasons) + (f" (lr {fmt(lr)})" if lr else "")
    return Finding("lr_high", "learning rate too high: training is unstable", text,
                   _changes(evidence, lr))


def _blowup(evidence: Evidence, losses: list[float]) -> str | None:
    """The loss diverged: the worst epoch (or batch) loss far above the first epoch's."""
    if len(losses) < 2:
        return None
    worst = max(range(1, len(losses)), key=lambda i: losses[i])
    if losses[worst] > BLOWUP * losses[0]:
        return (f"the loss diverged: train loss {fmt(losses[0])} in epoch 1, {fmt(losses[worst])}"
                f" in epoch {worst + 1}")
    peaks = [(line["epoch"], (line.get("loss") or {}).get("max", 0)) for line in evidence.epochs
             if line.get("epoch", 1) > 1]
    if peaks:
        epoch, peak = max(peaks, key=lambda item: item[1])
        if peak > BLOWUP * losses[0]:
            return (f"the loss diverged: a batch loss of {fmt(peak)} in epoch {epoch} against "
                    f"{fmt(losses[0])} for epoch 1")
    return None


def _spike_epochs(evidence: Evidence, losses: list[float]) -> list[int]:
    if not losses:
        return []
    out = []
    for line in evidence.epochs:
        stats = line.get("loss") or {}
        if line.get("epoch", 1) > 1 and stats.get("spikes", 0) > 0 and \
                stats.get("max", 0) > losses[0]:
            out.append(line["epoch"])
    return out


def _changes(evidence: Evidence, lr: float | None) -> list[str]:
    train = evidence.train
    changes = []
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
