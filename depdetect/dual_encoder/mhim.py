"""Masked hard instance mining (MHIM) for the dual encoder (arXiv 2505.24609; after MHIM-MIL, Tang et al. 2023).

Phase 1 trains a donor plainly. Phase 2 trains a receiver on interviews whose turns are masked from the donor's
attention: of the top r = 2t turns by donor attention, t are masked at random (the "hard" part: the receiver
cannot lean on what the donor found easiest), and the b lowest-attention turns are masked too, N = t + b. The
donor is frozen (the paper) or an EMA of the receiver (MHIM-MIL's teacher).
"""

from __future__ import annotations

import copy
import logging
import math
import warnings

import torch

logger = logging.getLogger(__name__)

#: batch keys of the interview collator that are not model inputs: the dataset row, turn importance labels
META_KEYS = ("index", "importance")


def resolve_count(value: float, num_turns: int, name: str) -> int:
    """A count of turns (an int >= 0) or a ratio of the interview's turns (a float in [0, 1), rounded up)."""
    if isinstance(value, bool) or value < 0:
        raise ValueError(f"`{name}` must be a count >= 0 or a ratio in [0, 1), got {value!r}.")
    if isinstance(value, float) and not float(value).is_integer():
        if value >= 1:
            raise ValueError(f"`{name}` as a ratio must be < 1, got {value!r}.")
        return math.ceil(value * num_turns)
    return int(value)


def select_hard_instances(
    attention: torch.Tensor,
    turn_mask: torch.Tensor,
    mask_top: float,
    mask_bottom: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Choose the turns to hide from the receiver.

    Args:
        attention: (B, N) donor attention over turns.
        turn_mask: (B, N) real turns (1) vs padding (0).
        mask_top: t, as a count or a ratio of each interview's turns. t turns are drawn at random from the top
            r = 2t turns by attention.
        mask_bottom: b, as a count or a ratio: the b lowest-attention turns are masked too.
        generator: for the random draw (pass a seeded one for reproducible runs).

    Returns:
        (B, N) bool, True for masked turns. If t + b would leave no turn, b and then t are reduced so that one
        turn stays visible (with a warning); padding is never masked.
    """
    if attention.shape != turn_mask.shape:
        raise ValueError(f"attention {tuple(attention.shape)} and turn_mask {tuple(turn_mask.shape)} must match.")
    masked = torch.zeros_like(turn_mask, dtype=torch.bool)
    clamped = 0
    for row in range(attention.shape[0]):
        real = turn_mask[row].bool().nonzero().flatten()
        n = len(real)
        t = resolve_count(mask_top, n, "mask_top")
        b = resolve_count(mask_bottom, n, "mask_bottom")
        if t + b >= n:
            clamped += 1
            b = min(b, max(n - 1 - t, 0))
            t = min(t, max(n - 1 - b, 0))
        if n == 0 or t + b == 0:
            continue
        ranked = real[torch.argsort(attention[row, real].float(), descending=True, stable=True)]
        top = ranked[: min(2 * t, n - b)]
        pick = top[torch.randperm(len(top), generator=generator, device="cpu")[:t].to(top.device)]
        masked[row, pick] = True
        if b:
            masked[row, ranked[n - b :]] = True
    if clamped:
        # one constant message, so Python's warning filter shows it once rather than for every batch
        warnings.warn(
            "Some interviews are too short for mask_top + mask_bottom: fewer turns were masked so that at least "
            "one stays visible.",
            stacklevel=2,
        )
        logger.debug("%d interview(s) in this batch had their masks clamped.", clamped)
    return masked


@torch.no_grad()
def ema_update(teacher: torch.nn.Module, student: torch.nn.Module, decay: float) -> None:
    """teacher <- decay * teacher + (1 - decay) * student, over trainable parameters (MHIM-MIL's teacher)."""
    student_params = dict(student.named_parameters())
    for name, param in teacher.named_parameters():
        source = student_params[name]
        if source.requires_grad:
            param.mul_(decay).add_(source.detach().to(param.dtype), alpha=1 - decay)


class HardInstanceMasker:
    """Adds an MHIM `instance_mask` to each Phase-2 training batch.

    With a frozen donor, its attention over every training interview is computed once (no gradients) and looked
    up by the batch's `index`; with an EMA teacher, the teacher is updated from the receiver and run (no
    gradients) on each batch. The random draw is seeded from (seed, step), so a resumed run masks the same turns.
    """

    def __init__(
        self,
        donor: torch.nn.Module,
        mask_top: float,
        mask_bottom: float,
        seed: int = 0,
        teacher: str = "frozen",
        receiver: torch.nn.Module | None = None,
        ema_decay: float = 0.999,
    ):
        if teacher not in ("frozen", "ema"):
            raise ValueError(f"`teacher` must be 'frozen' or 'ema', got {teacher!r}.")
        if teacher == "ema" and receiver is None:
            raise ValueError("An EMA teacher needs the receiver model it follows.")
        if not 0 < ema_decay < 1:
            raise ValueError(f"`ema_decay` must be in (0, 1), got {ema_decay}.")
        # an EMA teacher moves, so it is a copy; a frozen donor is used as it is (no second model in memory)
        self.donor = (copy.deepcopy(donor) if teacher == "ema" else donor).eval().requires_grad_(False)
        self.mask_top, self.mask_bottom, self.seed = mask_top, mask_bottom, seed
        self.teacher, self.receiver, self.ema_decay = teacher, receiver, ema_decay
        self.cache: dict[int, torch.Tensor] = {}

    @torch.no_grad()
    def cache_attention(self, dataloader, prepare=None) -> None:
        """Run the frozen donor once over the (unshuffled) training interviews and keep each one's attention
        (`prepare(batch)`, if given, rewrites each batch first: e.g. adds cached sentence encodings)."""
        for batch in dataloader:
            batch = batch if prepare is None else prepare(batch)
            index = batch["index"]
            device = next(self.donor.parameters()).device
            inputs = {k: v.to(device) for k, v in strip_meta(batch, 0).items() if k != "labels"}
            attention = self.donor(**inputs).attentions.cpu()
            lengths = batch["turn_mask"].sum(1).tolist()
            for row, i in enumerate(index.tolist()):
                self.cache[i] = attention[row, : int(lengths[row])]

    @torch.no_grad()
    def __call__(self, batch: dict, step: int) -> dict:
        index = batch["index"]
        batch = strip_meta(batch, step)
        if self.teacher == "ema":
            ema_update(self.donor, self.receiver, self.ema_decay)
            inputs = {k: v for k, v in batch.items() if k != "labels"}
            attention = self.donor.to(batch["input_ids"].device)(**inputs).attentions
        else:
            missing = [i for i in index.tolist() if i not in self.cache]
            if missing:
                raise RuntimeError(f"No cached donor attention for training rows {missing[:5]}; call cache_attention "
                                   "first.")
            attention = torch.zeros(batch["turn_mask"].shape)
            for row, i in enumerate(index.tolist()):
                attention[row, : len(self.cache[i])] = self.cache[i]
            attention = attention.to(batch["turn_mask"].device)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        batch["instance_mask"] = select_hard_instances(
            attention, batch["turn_mask"], self.mask_top, self.mask_bottom, generator
        )
        return batch


def strip_meta(batch: dict, step: int) -> dict:
    """Phase 1 / evaluation: drop the keys the interview collator adds for MHIM and metrics (not model inputs)."""
    return {k: v for k, v in batch.items() if k not in META_KEYS}
