"""Back-propagation of §4.2 written out, for training (§2.3) and for the probes.

For hidden layers i = 1..L, ``s^i = z^{i-1} W^iᵀ + b^i`` and ``z^i = f(s^i)`` (z^0 the input), and
the output layer is linear. The backward is the paper's recursion:

- δ^top = ∂C/∂logits (softmax - onehot for the nll, see :class:`glorot.models.Cost`);
- δ^i = ∂C/∂s^i = f'(s^i) ⊙ (δ^{i+1} W^{i+1}), with f'(s^i) read from z^i (:class:`Activation`);
- ∂C/∂W^i = δ^iᵀ z^{i-1} and ∂C/∂b^i = Σ_rows δ^i.

In training the weight gradient is never formed: it is fused into the in-place update
``W^i ← W^i - ε δ^iᵀ z^{i-1}`` (one ``addmm_``), after δ^i W^i has been taken with the old weights.
Every intermediate lives in buffers allocated once for a batch size, so an update allocates no
large tensor, and the same code runs on any device.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from glorot.models import COSTS, MLP, lookup

# visit(i, δ^i, z^{i-1}) for each layer from the top, after δ^i W^i is taken
Visit = Callable[[int, Tensor, Tensor], None]


class Backprop:
    """Forward and hand-written backward of ``model`` for batches of ``rows`` examples.

    The buffers hold, after :meth:`backward`, ``s[i]`` and ``z[i]`` of every hidden layer, the
    logits, and ``delta[i]`` = ∂C/∂s of every layer (the last one ∂C/∂logits). They are
    overwritten by the next call. The model's parameters are read and updated in place, so the
    model always holds the current weights.
    """

    def __init__(self, model: MLP, cost: str, rows: int):
        self.act = model.activation
        self.cost = lookup(COSTS, "cost", cost)
        self.W = [layer.weight.detach() for layer in model.layers]
        self.b = [layer.bias.detach() for layer in model.layers]
        self.WT = [W.T for W in self.W]  # views, taken once: the weights change in place
        self.rows = rows
        w = self.W[0]
        empty = lambda n: torch.empty(rows, n, device=w.device, dtype=w.dtype)  # noqa: E731
        outs = [W.shape[0] for W in self.W]
        self.s = [empty(n) for n in outs[:-1]]
        self.z = [empty(n) for n in outs[:-1]]
        self.logits = empty(outs[-1])
        self.delta = [empty(n) for n in outs]
        self.deltaT = [d.T for d in self.delta]
        self.back = [empty(W.shape[1]) for W in self.W[1:]]  # δ^{i+1} W^{i+1}
        self.fprime = [empty(n) for n in outs[:-1]]
        self.ones = torch.ones(rows, device=w.device, dtype=w.dtype)
        self.minus = torch.full((rows, 1), -1.0, device=w.device, dtype=w.dtype)
        # What each step reads per layer, gathered once: the loops below do no indexing.
        hidden = range(len(self.s))
        self._forward = [(self.b[i], self.WT[i], self.s[i], self.z[i]) for i in hidden]
        self._below = [(self.back[i], self.z[i], self.fprime[i], self.delta[i]) for i in hidden]
        self._alpha = 0.0  # -ε of the update in progress

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """The mean cost over (x, y), keeping s and z of every layer and δ^top = ∂C/∂logits."""
        h, f = x, self.act.f
        for b, WT, s, z in self._forward:
            torch.addmm(b, h, WT, out=s)
            h = f(s, out=z)
        torch.addmm(self.b[-1], h, self.WT[-1], out=self.logits)
        loss, _ = self.cost.delta(self.logits, y, self.delta[-1], self.minus)
        return loss

    def backward(self, x: Tensor, visit: Visit) -> None:
        """δ of every layer below the top, after :meth:`forward` on the same ``x``; calls ``visit``
        at each layer from the top once δ^i W^i is taken, so that it may update W^i."""
        dz = self.act.dz
        for i in range(len(self.W) - 1, 0, -1):
            back, z, fprime, delta_below = self._below[i - 1]
            torch.mm(self.delta[i], self.W[i], out=back)
            visit(i, self.delta[i], z)
            torch.mul(back, dz(z, out=fprime), out=delta_below)
        visit(0, self.delta[0], x)

    def update(self, x: Tensor, lr: float) -> None:
        """The SGD update θ ← θ - ε ∂C/∂θ (§2.3) for the batch of the last :meth:`forward`."""
        self._alpha = -lr
        self.backward(x, self._sgd)

    def _sgd(self, i: int, delta: Tensor, below: Tensor) -> None:
        deltaT = self.deltaT[i]  # delta is self.delta[i]
        self.W[i].addmm_(deltaT, below, alpha=self._alpha)
        self.b[i].addmv_(deltaT, self.ones, alpha=self._alpha)

    def gradients(self, x: Tensor, y: Tensor) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """The cost and, per layer from the first, ∂C/∂W and ∂C/∂b, the weights left as they are."""
        loss = self.forward(x, y)
        dW: list[Tensor] = [torch.empty(0)] * len(self.W)
        db: list[Tensor] = [torch.empty(0)] * len(self.W)

        def keep(i: int, delta: Tensor, below: Tensor) -> None:
            dW[i], db[i] = delta.T @ below, delta.sum(dim=0)

        self.backward(x, keep)
        return loss, dW, db
