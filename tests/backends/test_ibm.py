"""The ``ibm`` executor and the IBM Quantum account, offline.

Local testing mode (``fake:ibm_quito``: qiskit-ibm-runtime's SamplerV2 in a Batch on a fake backend) runs the
real submission path; the live service is either really unreachable (this machine has no network) or a stub.
Every test runs with ``HOME`` in a temporary folder and no ``QISKIT_IBM_*`` variables, so the developer's saved
account is never read or written.
"""

from __future__ import annotations

import socket
import stat
import time

import numpy as np
import pytest
import torch

import qml
from qml.backends import account
from qml.backends.account import Credentials, classify, connect, describe_failure, find_credentials, save_login, scrub
from qml.backends.ibm import IBMExecutor, ibm_backend
from qml.backends.ibm_device import OpenedBackend, open_device, parse_spec
from qml.backends.jobs import HardwareFolder, JobRecord, Ledger
from qml.errors import IBMError, InputError, NoiseError

TOKEN = "fake-token-XYZ123-do-not-leak"


@pytest.fixture(autouse=True)
def isolated_account(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_CHANNEL", "QISKIT_IBM_URL",
                 account.ACCOUNT_FILE_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def flip_wire_2():
    """X on wire 2 only: ⟨Z⟩ = (1, 1, -1, 1) up to the device's errors."""
    return qml.QuantumModule(qml.Circuit(4).add("x", 2)).double()


# -- account -------------------------------------------------------------------------------------------------------
def test_no_token_anywhere_is_none_and_require_says_where_to_put_one():
    assert find_credentials() is None
    with pytest.raises(IBMError, match="no IBM Quantum token: set QISKIT_IBM_TOKEN, run `qml ibm login`"):
        account.require_credentials()


def test_token_file_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", "from-env")
    (tmp_path / "tok").write_text(TOKEN + "\n")
    creds = find_credentials(tmp_path / "tok")
    assert creds.token == TOKEN and creds.source.startswith("--token-file")
    assert find_credentials().token == "from-env"
    assert TOKEN not in repr(creds)


def test_login_saves_with_qiskit_ibm_runtime_into_the_home_in_use(tmp_path):
    path = save_login(TOKEN, instance="crn:v1:test")
    assert path == tmp_path / "home" / ".qiskit" / "qiskit-ibm.json"
    creds = find_credentials()
    assert creds.token == TOKEN and creds.instance == "crn:v1:test" and creds.account_file == path


def test_unreadable_or_empty_token_file_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(IBMError, match="is empty"):
        find_credentials(tmp_path / "empty")
    with pytest.raises(IBMError, match="cannot read --token-file"):
        find_credentials(tmp_path / "missing")


def test_login_saves_an_account_file_only_its_owner_can_read(tmp_path):
    path = save_login(TOKEN)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)  # written by an older qml, or by hand
    assert save_login(TOKEN, instance="crn:v1:other") == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert find_credentials().instance == "crn:v1:other"


def test_login_into_a_damaged_account_file_names_it_and_keeps_it(tmp_path):
    path = tmp_path / "home" / ".qiskit" / "qiskit-ibm.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(IBMError, match=f"^{path} is not valid JSON: .*; fix or remove it, then run `qml ibm login`"):
        save_login(TOKEN)
    assert path.read_text() == "{not json"


def test_a_token_file_others_can_read_is_used_with_one_warning_that_never_shows_the_token(tmp_path, capsys):
    path = tmp_path / "tok"
    path.write_text(TOKEN)
    path.chmod(0o640)
    assert find_credentials(path).token == TOKEN
    assert capsys.readouterr().err == (f"qml: warning: --token-file {path} can be read by other users (mode 0640); "
                                       f"restrict it with: chmod 600 {path}\n")
    path.chmod(0o600)
    assert find_credentials(path).token == TOKEN
    assert capsys.readouterr().err == ""


def test_a_token_file_not_in_utf8_is_a_one_line_error_without_its_content(tmp_path):
    (tmp_path / "tok").write_bytes(b"\xff\xfe" + TOKEN.encode("utf-16-le"))
    with pytest.raises(IBMError, match=r"^--token-file .*tok is not a UTF-8 text file \(expected the API token on "
                                       r"one line\)$"):
        find_credentials(tmp_path / "tok")


def _chained(top: BaseException, *causes: BaseException) -> BaseException:
    for outer, inner in zip((top, *causes[:-1]), causes, strict=True):
        outer.__cause__ = inner
    return top


def test_a_failed_name_lookup_under_invalid_account_error_is_a_network_failure():
    from qiskit_ibm_runtime.accounts.exceptions import InvalidAccountError
    from requests.exceptions import ConnectionError as RequestsConnectionError

    exc = _chained(InvalidAccountError("Unable to retrieve instances. Please check that you are using a valid API "
                                       "token."), RequestsConnectionError("Max retries"),
                   socket.gaierror(-2, "Name or service not known"))
    assert classify(exc) == "network"
    assert describe_failure(exc, TOKEN, "connecting").startswith("cannot reach IBM Quantum (network)")


def test_invalid_account_error_with_an_http_400_under_it_is_a_rejected_token():
    from ibm_cloud_sdk_core import ApiException
    from qiskit_ibm_runtime.accounts.exceptions import InvalidAccountError

    exc = _chained(InvalidAccountError("Unable to retrieve instances."),
                   ApiException(400, message=f"Provided API key could not be found: {TOKEN}"))
    assert classify(exc) == "rejected"
    text = describe_failure(exc, TOKEN, "connecting", "$QISKIT_IBM_TOKEN")
    assert "rejected the token from $QISKIT_IBM_TOKEN" in text and TOKEN not in text


def test_other_service_errors_keep_their_message_without_the_token():
    text = describe_failure(RuntimeError(f"bad request for token={TOKEN}\nsecond line"), TOKEN, "submitting")
    assert text == "IBM Quantum failed while submitting: RuntimeError: bad request for token=*** second line"


def test_scrub_removes_the_raw_and_url_quoted_token():
    token = "a/b+c=d"
    assert scrub("x a/b+c=d y a%2Fb%2Bc%3Dd z a%2Fb%2Bc%3Dd", token) == "x *** y *** z ***"


def test_connecting_offline_fails_fast_with_a_clean_chainless_error():
    start = time.perf_counter()
    with pytest.raises(IBMError) as info:
        connect(Credentials(TOKEN, "$QISKIT_IBM_TOKEN"), timeout=20)
    assert time.perf_counter() - start < 20
    text = str(info.value)
    assert text.startswith(("cannot reach IBM Quantum (network)", "IBM Quantum rejected the token"))
    assert TOKEN not in text and "\n" not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_service_that_never_answers_times_out(monkeypatch):
    import qiskit_ibm_runtime

    monkeypatch.setattr(qiskit_ibm_runtime, "QiskitRuntimeService", lambda **kw: time.sleep(5))
    start = time.perf_counter()
    with pytest.raises(IBMError, match=r"no answer within 0.2 s"):
        connect(Credentials(TOKEN, "$QISKIT_IBM_TOKEN"), timeout=0.2)
    assert time.perf_counter() - start < 2


# -- backend names -------------------------------------------------------------------------------------------------
def test_backend_specs_name_a_fake_or_a_live_device():
    assert parse_spec("fake:quito") == ("fake:ibm_quito", True)
    assert parse_spec("fake:FakeTorino") == ("fake:ibm_torino", True)
    assert parse_spec("ibm_torino") == ("ibm_torino", False)
    with pytest.raises(InputError, match="expected an IBM device"):
        parse_spec("aer:ibm_quito")


def test_an_unknown_fake_device_gets_a_did_you_mean():
    with pytest.raises(NoiseError, match="did you mean 'ibm_quito'"):
        open_device("fake:ibm_quitto")


def test_the_entry_point_factory_needs_a_device():
    with pytest.raises(InputError, match="ibm:ibm_torino"):
        ibm_backend(None)


# -- local testing mode --------------------------------------------------------------------------------------------
def test_local_mode_reads_logical_wire_i_from_its_own_clbit_on_a_permuted_layout(flip_wire_2):
    executor = ibm_backend("fake:ibm_quito", layout=[4, 3, 1, 0], seed=3)
    z = executor.expectations(flip_wire_2, None, shots=512)
    assert z.shape == (1, 4)
    assert (z[0, [0, 1, 3]] > 0.7).all() and z[0, 2] < -0.7
    assert executor.last_transpiled.layout.initial_index_layout()[:4] == [4, 3, 1, 0]
    assert executor.ledger.jobs[0].job_id and executor.submitted == 1


def test_rows_are_split_into_jobs_within_the_limit_and_come_back_in_order(tmp_path):
    torch.manual_seed(4)
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")
    module = qml.QuantumModule(c.layer("u3")).double()
    x = torch.rand(10, 16, dtype=torch.float64) * 3
    folder = HardwareFolder(tmp_path, "fake:ibm_quito")
    executor = IBMExecutor(open_device("fake:ibm_quito"), folder=folder, max_rows_per_job=4, seed=1)
    z = executor.expectations(module, x, shots=256)
    assert [(j.start, j.stop) for j in executor.ledger.jobs] == [(0, 4), (4, 8), (8, 10)]
    with torch.no_grad():
        exact = module(x)
    # device noise shrinks ⟨Z⟩ but keeps each row's pattern: rows out of order would not correlate
    assert torch.corrcoef(torch.stack([z.double().flatten(), exact.flatten()]))[0, 1] > 0.9
    again = IBMExecutor(open_device("fake:ibm_quito"), folder=folder, max_rows_per_job=4, seed=1)
    torch.testing.assert_close(again.expectations(module, x, shots=256), z, rtol=0, atol=0)
    assert again.submitted == 0  # every result was stored: nothing runs twice


# -- live resume, against a stub service ---------------------------------------------------------------------------
class StubJob:
    def __init__(self, job_id: str, rows: int, shots: int) -> None:
        self.id, self.rows, self.shots = job_id, rows, shots

    def job_id(self) -> str:
        return self.id

    def status(self) -> str:
        return "DONE"

    def wait_for_final_state(self, poll_interval=None) -> None:
        pass

    def result(self):
        from qiskit.primitives.containers import BitArray

        class Pub:
            pass

        pub = Pub()
        pub.data = Pub()
        pub.data.meas = BitArray(np.zeros((self.rows, self.shots, 1), np.uint8), 4)
        return [pub]


class StubService:
    def __init__(self) -> None:
        self.fetched: list[str] = []
        self.tag_queries: list[list[str]] = []

    def job(self, job_id: str) -> StubJob:
        self.fetched.append(job_id)
        return StubJob(job_id, 2, 8)

    def jobs(self, job_tags=None, backend_name=None, limit=None):
        self.tag_queries.append(job_tags)
        return [StubJob("found-by-tag", 2, 8)]


def test_a_resumed_live_run_fetches_every_job_by_id_and_submits_nothing(tmp_path, flip_wire_2, monkeypatch):
    from qiskit_ibm_runtime.fake_provider import FakeQuitoV2

    service = StubService()
    device = OpenedBackend("ibm_stub", FakeQuitoV2(), service, TOKEN)
    folder = HardwareFolder(tmp_path, "ibm_stub")
    executor = IBMExecutor(device, folder=folder)
    circuit = executor.transpile(flip_wire_2)
    rows = np.zeros((4, 0))
    jobs = [JobRecord(0, 0, 2, "id-0", "QUEUED", tag="t0"), JobRecord(1, 2, 4, None, "SUBMITTING", tag="t1")]
    folder.save(Ledger("ibm_stub", "fake_quito", False, 8, "test", 4, None, [0, 1, 2, 3], 2,
                       executor._digest(rows, 8), jobs=jobs))
    monkeypatch.setattr(IBMExecutor, "_submit", lambda *a: pytest.fail("a live job was submitted twice"))
    bits = executor.sample(circuit, rows, 8, 4)
    assert bits.shape == (4, 8, 4) and not bits.any()
    assert service.tag_queries == [["t1"]]  # the job whose id never reached disk was found by its tag
    assert service.fetched == ["id-0", "found-by-tag"]
    assert [j.job_id for j in folder.load().jobs] == ["id-0", "found-by-tag"]
    assert all(folder.has_bits(k) for k in (0, 1))


def test_a_ledger_for_other_inputs_is_not_resumed(tmp_path, flip_wire_2):
    folder = HardwareFolder(tmp_path, "fake:ibm_quito")
    folder.save(Ledger("fake:ibm_quito", "fake_quito", True, 8, "test", 1, None, [0, 1, 2, 3], 1, "other"))
    executor = IBMExecutor(open_device("fake:ibm_quito"), folder=folder)
    with pytest.raises(InputError, match="holds jobs for other inputs or settings"):
        executor.expectations(flip_wire_2, None, shots=8)


def test_an_unknown_live_device_lists_the_accounts_devices_with_a_did_you_mean():
    class Named:
        def __init__(self, name: str) -> None:
            self.name = name

    class Service:
        def backends(self):
            return [Named("ibm_torino"), Named("ibm_fez")]

    with pytest.raises(IBMError, match=r"no device 'ibm_torin' for this account \(did you mean 'ibm_torino'\?\); "
                                       r"available: ibm_fez, ibm_torino"):
        account.live_backend(Service(), "ibm_torin", TOKEN)


def test_a_live_job_that_ended_in_error_stops_the_run_and_is_resubmitted_only_on_request(tmp_path, flip_wire_2):
    from qiskit_ibm_runtime.fake_provider import FakeQuitoV2

    class FailedJob(StubJob):
        def status(self) -> str:
            return "ERROR"

        def result(self):
            raise RuntimeError(f"failed on the device (token {TOKEN})")

    service = StubService()
    service.job = lambda job_id: FailedJob(job_id, 2, 8)
    device = OpenedBackend("ibm_stub", FakeQuitoV2(), service, TOKEN)
    folder = HardwareFolder(tmp_path, "ibm_stub")
    executor = IBMExecutor(device, folder=folder)
    circuit, rows = executor.transpile(flip_wire_2), np.zeros((2, 0))
    folder.save(Ledger("ibm_stub", "fake_quito", False, 8, "test", 2, None, [0, 1, 2, 3], 2,
                       executor._digest(rows, 8), jobs=[JobRecord(0, 0, 2, "id-0", "QUEUED")]))
    with pytest.raises(IBMError, match=r"^job 0 \(id-0\) ended ERROR on fake_quito; submit it again with "
                                       r"--resubmit-failed$"):
        executor.sample(circuit, rows, 8, 4)
    assert folder.load().jobs[0].status == "ERROR"
    assert IBMExecutor(device, folder=folder)._todo(folder.load()) == []
    todo = IBMExecutor(device, folder=folder, resubmit_failed=True)._todo(folder.load())
    assert [(r.index, r.job_id, r.previous_ids) for r in todo] == [(0, None, ["id-0"])]
