"""L-BFGS for a batch of independent problems, one evaluation at a time.

Each row of x (N, D) is its own problem: its own history of steps, its own step length and its own
Armijo backtracking, so a row's path does not depend on the rows it is batched with. The caller
evaluates every row at `trial()` in one batched pass (one forward + backward of the generator) and
hands the values and gradients to `tell`; a row whose trial was too long backtracks on the next
pass while the others go on. So one pass is one step, whatever the line search does.

    opt = BatchedLBFGS(x0, first_step=0.1)
    for _ in range(steps):
        f, g = evaluate(opt.trial())
        opt.tell(f, g)
    x = opt.best()
"""

from __future__ import annotations

import torch


class BatchedLBFGS:
    """Minimise N independent smooth functions of x (N, D) (float32 or float64)."""

    def __init__(self, x0: torch.Tensor, first_step: float, history: int = 10, armijo: float = 1e-4,
                 shrink: float = 0.5):
        """first_step: length (Euclidean, in x's units) of the first step along the negative gradient,
        and of the step after a reset. history: step pairs kept per row."""
        if x0.dim() != 2:
            raise ValueError(f"x0 must be (N, D), got {tuple(x0.shape)}")
        self.first_step, self.history, self.armijo, self.shrink = first_step, history, armijo, shrink
        n = x0.shape[0]
        self._x = x0.detach().clone()  # accepted points
        self._f = torch.full((n,), float("inf"), dtype=x0.dtype, device=x0.device)
        self._g = torch.zeros_like(self._x)
        self._d = torch.zeros_like(self._x)  # search directions
        self._alpha = torch.ones(n, dtype=x0.dtype, device=x0.device)
        self._pairs: list[list[tuple[torch.Tensor, torch.Tensor]]] = [[] for _ in range(n)]
        self._started = False

    def trial(self) -> torch.Tensor:
        """The points (N, D) to evaluate next."""
        return self._x + self._alpha[:, None] * self._d

    def best(self) -> torch.Tensor:
        """The accepted points (N, D): each row's lowest value so far."""
        return self._x.clone()

    def best_value(self) -> torch.Tensor:
        """Each row's lowest value so far (N,)."""
        return self._f.clone()

    def rebase(self, f: torch.Tensor) -> None:
        """The objective changed a little (gradients taken as unchanged): `f` (N,) are the new values
        at the accepted points. History and directions are kept."""
        self._f = f.detach().to(self._x.dtype).clone()

    def tell(self, f: torch.Tensor, g: torch.Tensor) -> None:
        """Values (N,) and gradients (N, D) at the last `trial()` points."""
        f, g = f.detach().to(self._x.dtype), g.detach().to(self._x.dtype)
        x_trial = self.trial()
        for i in range(self._x.shape[0]):
            if not self._started:
                self._accept(i, x_trial[i], f[i], g[i], keep_pair=False)
                continue
            slope = torch.dot(self._g[i], self._d[i])
            if torch.isfinite(f[i]) and f[i] <= self._f[i] + self.armijo * self._alpha[i] * slope:
                self._accept(i, x_trial[i], f[i], g[i], keep_pair=True)
            else:
                self._alpha[i] *= self.shrink
                if self._alpha[i] * self._d[i].norm() < 1e-7 * (1.0 + self._x[i].norm()):
                    self._restart(i)  # the direction gave nothing: start again from the gradient
        self._started = True

    def _accept(self, i: int, x: torch.Tensor, f: torch.Tensor, g: torch.Tensor, keep_pair: bool) -> None:
        if keep_pair:
            s, y = x - self._x[i], g - self._g[i]
            if torch.dot(s, y) > 1e-10 * s.norm() * y.norm():  # curvature condition, else skip the pair
                self._pairs[i].append((s, y))
                del self._pairs[i][:-self.history]
        self._x[i], self._f[i], self._g[i] = x, f, g
        self._alpha[i] = 1.0
        if self._pairs[i]:
            self._d[i] = -self._two_loop(i, g)
            if torch.dot(self._d[i], g) >= 0:  # not a descent direction (should not happen): restart
                self._restart(i)
        else:
            self._restart(i)

    def _restart(self, i: int) -> None:
        self._pairs[i] = []
        g = self._g[i]
        self._d[i] = -g * (self.first_step / g.norm().clamp_min(1e-30))
        self._alpha[i] = 1.0

    def _two_loop(self, i: int, g: torch.Tensor) -> torch.Tensor:
        """H g for row i: the standard L-BFGS two-loop recursion, initial scale s.y / y.y."""
        q = g.clone()
        coefficients = []
        for s, y in reversed(self._pairs[i]):
            rho = 1.0 / torch.dot(y, s)
            a = rho * torch.dot(s, q)
            q -= a * y
            coefficients.append((rho, a))
        s, y = self._pairs[i][-1]
        q *= torch.dot(s, y) / torch.dot(y, y)
        for (s, y), (rho, a) in zip(self._pairs[i], reversed(coefficients)):
            q += (a - rho * torch.dot(y, q)) * s
        return q
