"""The batched L-BFGS (unmask.lbfgs): each row is its own problem."""

from __future__ import annotations

import torch

from unmask.lbfgs import BatchedLBFGS


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    """Rosenbrock's valley per row of x (N, D), minimum 0 at all ones."""
    return (100 * (x[:, 1:] - x[:, :-1].square()).square() + (1 - x[:, :-1]).square()).sum(dim=1)


def minimise(f, x0: torch.Tensor, steps: int) -> BatchedLBFGS:
    opt = BatchedLBFGS(x0, first_step=0.1)
    for _ in range(steps):
        x = opt.trial().requires_grad_(True)
        values = f(x)
        (grad,) = torch.autograd.grad(values.sum(), x)
        opt.tell(values, grad)
    return opt


def test_minimises_an_ill_conditioned_quadratic():
    scales = torch.logspace(0, 3, 20, dtype=torch.float64)  # condition number 1000, 20 dimensions
    opt = minimise(lambda x: (scales * (x - 1).square()).sum(dim=1), torch.zeros(2, 20, dtype=torch.float64), 200)
    assert torch.allclose(opt.best(), torch.ones(2, 20, dtype=torch.float64), atol=1e-4)


def test_finds_the_bottom_of_rosenbrocks_valley():
    opt = minimise(rosenbrock, torch.full((1, 6), -1.0, dtype=torch.float64), 300)
    assert opt.best_value().item() < 1e-8
    assert torch.allclose(opt.best(), torch.ones(1, 6, dtype=torch.float64), atol=1e-4)


def test_values_never_go_up_and_rows_do_not_depend_on_each_other():
    x0 = torch.tensor([[-1.2, 1.0, 0.5], [2.0, -0.5, 1.5]], dtype=torch.float64)
    opt = BatchedLBFGS(x0, first_step=0.1)
    alone = BatchedLBFGS(x0[1:], first_step=0.1)
    last = torch.full((2,), float("inf"), dtype=torch.float64)
    for _ in range(40):
        for o in (opt, alone):
            x = o.trial().requires_grad_(True)
            values = rosenbrock(x)
            (grad,) = torch.autograd.grad(values.sum(), x)
            o.tell(values, grad)
        assert (opt.best_value() <= last).all()
        last = opt.best_value()
    assert torch.allclose(opt.best()[1:], alone.best(), rtol=0, atol=1e-12)


def test_rebase_keeps_the_search_going_after_the_objective_moves():
    target = torch.tensor([[3.0, -2.0]], dtype=torch.float64)
    f = lambda x, t: (x - t).square().sum(dim=1)  # noqa: E731
    opt = BatchedLBFGS(torch.zeros(1, 2, dtype=torch.float64), first_step=0.5)
    for step in range(30):
        if step == 10:  # the objective gains a constant: same gradients, new values
            opt.rebase(f(opt.best(), target) + 5.0)
        shift = 5.0 if step >= 10 else 0.0
        x = opt.trial().requires_grad_(True)
        values = f(x, target) + shift
        (grad,) = torch.autograd.grad(values.sum(), x)
        opt.tell(values, grad)
    assert torch.allclose(opt.best(), target, atol=1e-8)
    assert abs(opt.best_value().item() - 5.0) < 1e-12
