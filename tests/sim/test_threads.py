"""The engine's thread policy: small states run single-threaded forward and backward whatever torch is set to, the
caller's count comes back afterwards, a user can override it, and bad settings are one-line errors."""

from __future__ import annotations

import pytest
import torch

import qml
from qml.cli.main import main
from qml.sim import kernels, threads


@pytest.fixture(autouse=True)
def restore():
    before = torch.get_num_threads()
    yield
    threads.set_threads("auto")
    torch.set_num_threads(before)


def qnn(n: int = 4) -> qml.QuantumModule:
    c = qml.Circuit(n)
    c.encode("4x4_ryzxy")
    c.layer("u3").ring("cu3")
    return qml.QuantumModule(c)


def recorded_threads(monkeypatch, module, x) -> tuple[list[int], list[int]]:
    """Threads torch had in each block application of the forward pass, and when each block's gradient was
    computed in the backward pass."""
    forward, backward = [], []

    def recording(apply):
        def wrapped(*args, **kwargs):
            forward.append(torch.get_num_threads())
            out = apply(*args, **kwargs)
            if out.requires_grad:
                out.register_hook(lambda grad: backward.append(torch.get_num_threads()))
            return out
        return wrapped

    monkeypatch.setattr(kernels, "apply_batched", recording(kernels.apply_batched))
    monkeypatch.setattr(kernels, "apply_unbatched", recording(kernels.apply_unbatched))
    module(x).sum().backward()
    return forward, backward


def test_a_small_state_runs_single_threaded_forward_and_backward_and_gives_the_caller_its_threads_back(monkeypatch):
    torch.manual_seed(0)
    module, x = qnn(), torch.rand(8, 16)
    torch.set_num_threads(2)
    forward, backward = recorded_threads(monkeypatch, module, x)
    assert forward and backward
    assert set(forward) == {1} and set(backward) == {1}
    assert torch.get_num_threads() == 2


def test_a_large_state_runs_with_the_threads_torch_is_set_to(monkeypatch):
    monkeypatch.setattr(threads, "SMALL_STATE", 64)  # 8 x 2^4 = 128 amplitudes count as large
    torch.set_num_threads(2)
    forward, backward = recorded_threads(monkeypatch, qnn(), torch.rand(8, 16))
    assert set(forward) == {2} and set(backward) == {2}
    assert torch.get_num_threads() == 2


def test_set_threads_overrides_the_policy_and_the_results_do_not_change(monkeypatch):
    torch.manual_seed(0)
    module, x = qnn(), torch.rand(8, 16)
    module(x).sum().backward()
    auto_grad = module.theta.grad.clone()
    module.theta.grad = None
    qml.set_threads(2)
    assert qml.get_threads() == 2
    forward, backward = recorded_threads(monkeypatch, module, x)
    assert set(forward) == {2} and set(backward) == {2}
    torch.testing.assert_close(module.theta.grad, auto_grad, rtol=0, atol=1e-6)


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", ""])
def test_bad_thread_settings_are_input_errors(value):
    with pytest.raises(qml.InputError, match="threads must be 'auto' or a positive integer"):
        qml.set_threads(value)


def test_the_cli_takes_threads_and_refuses_bad_ones_in_one_line(monkeypatch, capsys):
    monkeypatch.delenv("QML_THREADS", raising=False)  # restored afterwards: main() exports its --threads
    assert main(["--threads", "1", "passes", "list"]) == 0
    assert qml.get_threads() == 1
    assert main(["--threads", "none", "passes", "list"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        "qml: error: threads must be 'auto' or a positive integer, got 'none'"
    monkeypatch.setenv("QML_THREADS", "0")
    monkeypatch.setattr(threads, "_policy", threads._UNSET)
    assert main(["passes", "list"]) == 2
    assert capsys.readouterr().err.strip() == "qml: error: QML_THREADS must be 'auto' or a positive integer, got '0'"
