"""The SuperCircuit: one vector of angles shared by every subcircuit, trained one sampled subcircuit per step and
resumable from its checkpoint."""

from __future__ import annotations

import random

import pytest
import torch

import qml
from qml.data import Dataset
from qml.search.loader import load_space
from qml.search.samplers import make_sampler
from qml.search.supercircuit import SuperCircuit, SuperTrainConfig, train_supercircuit

GENE_A = (2, 1, 2, 3, 4)  # blocks used, then kept slots of (u3, cu3) in block 1 and block 2
GENE_B = (1, 4, 4, 1, 1)


@pytest.fixture(scope="module")
def space():
    return load_space("u3cu3", n_blocks=2)


def _data(n_train: int = 32) -> Dataset:
    g = torch.Generator().manual_seed(5)
    x = torch.rand(n_train + 16, 16, generator=g) * torch.pi
    y = torch.randint(0, 4, (n_train + 16,), generator=g)
    return Dataset("toy", x[:n_train], y[:n_train], x[n_train:n_train + 8], y[n_train:n_train + 8],
                   x[n_train + 8:], y[n_train + 8:], 4)


def _used(space, gene) -> set[int]:
    """Shared-angle indices the subcircuit of ``gene`` reads."""
    return {ref.index for op in space.circuit(gene).ops for ref in op.params if ref.kind == "trainable"}


def test_subnets_of_different_genes_share_the_supercircuits_angles(space):
    sc = SuperCircuit(space, 4)
    for gene in (GENE_A, GENE_B):
        torch.testing.assert_close(sc.subnet(gene).qmodule.theta.detach().float(), sc.theta.detach(), rtol=0, atol=0)


def test_subnet_gives_the_output_of_the_supercircuit_running_its_gene(space):
    sc, x = SuperCircuit(space, 4), _data().x_valid
    sc.gene = GENE_A
    with torch.no_grad():
        expected = sc(x)
        got = sc.subnet(GENE_A)(x)
    torch.testing.assert_close(got.float(), expected, rtol=1e-5, atol=1e-5)


def test_different_genes_give_different_outputs(space):
    sc, x = SuperCircuit(space, 4), _data().x_valid
    with torch.no_grad():
        assert not torch.allclose(sc.subnet(GENE_A)(x).float(), sc.subnet(GENE_B)(x).float())


def test_gradient_is_zero_on_angles_the_active_gene_does_not_use(space):
    sc, data = SuperCircuit(space, 4), _data()
    sc.gene = GENE_A
    torch.nn.functional.cross_entropy(sc(data.x_train), data.y_train).backward()
    used = sorted(_used(space, GENE_A))
    unused = sorted(set(range(space.n_trainable)) - set(used))
    assert torch.count_nonzero(sc.theta.grad[unused]) == 0
    assert torch.count_nonzero(sc.theta.grad[used]) > 0


def test_used_mask_marks_exactly_the_angles_of_the_gene(space):
    mask = SuperCircuit(space, 4).used(GENE_B)
    assert set(mask.nonzero().flatten().tolist()) == _used(space, GENE_B)


def test_a_training_step_changes_only_the_angles_of_the_sampled_gene(space):
    sc = SuperCircuit(space, 4)
    before = sc.theta.detach().clone()
    config = SuperTrainConfig(epochs=1, batch_size=32, seed=3)  # one batch: one step
    train_supercircuit(sc, _data(32), config, progress=False)
    gene = make_sampler(config.sampler, space, random.Random(config.seed)).sample(0, 1)
    changed = set((sc.theta.detach() != before).nonzero().flatten().tolist())
    assert changed and changed <= _used(space, gene)
    assert len(_used(space, gene)) < space.n_trainable  # the check above is not vacuous


def _train(space, checkpoint, kill_after: int | None = None, noise=None) -> tuple[torch.Tensor, list[dict]]:
    """Four epochs from the same initial angles; ``kill_after``: interrupted once that many epochs are saved;
    ``noise``: noise-aware, drawing from these noise models."""
    torch.manual_seed(0)
    sc = SuperCircuit(space, 4)

    def log(row: dict) -> None:
        if kill_after is not None and row["epoch"] == kill_after:  # logged after that epoch's checkpoint
            raise KeyboardInterrupt

    config = SuperTrainConfig(epochs=4, batch_size=8, seed=1, sampler="restricted",
                              noise_factor=1.0 if noise else 0.0)
    try:
        history = train_supercircuit(sc, _data(), config, checkpoint=checkpoint, progress=False, log=log,
                                     noise=noise)
    except KeyboardInterrupt:
        history = []
    return sc.theta.detach().clone(), history


def test_resumed_training_ends_with_the_angles_of_an_uninterrupted_one(space, tmp_path):
    straight, straight_history = _train(space, tmp_path / "straight.pt")
    _train(space, tmp_path / "killed.pt", kill_after=2)
    assert torch.load(tmp_path / "killed.pt", weights_only=True)["epoch"] == 2
    resumed, resumed_history = _train(space, tmp_path / "killed.pt")
    torch.testing.assert_close(resumed, straight, rtol=0, atol=0)
    assert [r["loss"] for r in resumed_history] == [r["loss"] for r in straight_history]


def test_resuming_a_finished_training_trains_no_more(space, tmp_path):
    first, _ = _train(space, tmp_path / "super.pt")
    again, history = _train(space, tmp_path / "super.pt")
    torch.testing.assert_close(again, first, rtol=0, atol=0)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]


def _pool(error_free_device: bool = False):
    from qml.device import Device
    from qml.noise import NoiseModel, load_snapshot
    from tests.reference import error_free

    snapshot = load_snapshot("ibm_quito")
    device = Device.load(error_free(snapshot) if error_free_device else snapshot)
    return [NoiseModel(device, layout) for layout in ((0, 1, 2, 3), (3, 1, 0, 2), (4, 3, 1, 2))]


def test_noise_aware_training_on_an_error_free_device_trains_as_noise_free_training_does(space, tmp_path):
    """Every injected Pauli is the identity and readout is perfect: the shared angles move exactly as without
    noise (the injectors run the SuperCircuit's own angles, not copies)."""
    plain, _ = _train(space, None)
    noisy, _ = _train(space, None, noise=_pool(error_free_device=True))
    torch.testing.assert_close(noisy, plain, rtol=0, atol=1e-5)


def test_noise_aware_training_with_the_devices_noise_trains_other_angles_and_resumes_exactly(space, tmp_path):
    plain, _ = _train(space, None)
    straight, straight_history = _train(space, tmp_path / "straight.pt", noise=_pool())
    assert (straight - plain).abs().max() > 1e-3
    _train(space, tmp_path / "killed.pt", kill_after=2, noise=_pool())
    resumed, resumed_history = _train(space, tmp_path / "killed.pt", noise=_pool())
    torch.testing.assert_close(resumed, straight, rtol=0, atol=0)
    assert [r["loss"] for r in resumed_history] == [r["loss"] for r in straight_history]


def test_more_classes_than_wires_is_an_input_error(space):
    with pytest.raises(qml.InputError, match="5 classes need at least as many wires; the space has 4"):
        SuperCircuit(space, 5)
