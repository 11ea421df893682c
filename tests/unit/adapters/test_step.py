"""``seal_triton.step.PipelineStep``, the shared shape of the Python steps: per-request errors
and their Triton codes, admission leases given back on every path, and chunked BLS calls.

A probe step defined here does what each test asks in ``run``; the real steps are exercised in
test_step_models.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest

from seal_ocr import tensor_names as names
from seal_ocr.errors import InvalidImageError, InvalidOptionError
from seal_triton.admission import AdmissionGate
from seal_triton.step import PipelineStep, StepError, StepRefused, StepUnavailable
from tests.unit.adapters.conftest import execute_step, initialize, leases_held, outputs, request

X = "X"
CONFIG = {
    "input": [{"name": X}, {"name": names.ADMISSION_TICKET, "optional": True}],
    "output": [{"name": "Y"}],
    "parameters": {},
}


class Probe(PipelineStep):
    """Doubles ``X`` into ``Y`` unless the test gave it another ``behaviour``."""

    behaviour: Callable[[Probe, dict[str, Any]], Awaitable[dict[str, np.ndarray]]] | None = None
    runs = 0

    async def run(self, inputs):
        self.runs += 1
        if self.behaviour is not None:
            return await self.behaviour(self, inputs)
        return {"Y": inputs[X] * 2}


def probe(pb, behaviour=None, *, admits=False, final_step=False) -> Probe:
    step = initialize(Probe(), "probe", CONFIG)
    step.behaviour = behaviour
    step.admits, step.final_step = admits, final_step
    return step


def raising(error: Exception):
    async def behaviour(step, inputs):
        raise error

    return behaviour


def x_request(pb, ticket: str | None = None, value: float = 1.0):
    inputs = {X: np.full((2,), value, np.float32)}
    if ticket is not None:
        inputs[names.ADMISSION_TICKET] = np.array([ticket.encode()], dtype=object)
    return request(pb, **inputs)


# --- errors and their codes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (InvalidImageError("IMAGE is not an image"), "INVALID_ARG", "IMAGE is not an image"),
        (InvalidOptionError("unknown option 'foo'"), "INVALID_ARG", "unknown option 'foo'"),
        (StepUnavailable("text_rec: queue full"), "UNAVAILABLE", "probe: text_rec: queue full"),
        (StepError("text_rec: broken"), "INTERNAL", "probe: StepError: text_rec: broken"),
        (StepRefused("text_rec: bad shape"), "INTERNAL", "probe: StepRefused: text_rec: bad"),
        (RuntimeError("boom"), "INTERNAL", "probe: RuntimeError: boom"),
        (KeyError("PAGE"), "INTERNAL", "probe: KeyError: 'PAGE'"),
    ],
)
def test_an_error_stays_with_its_request_under_its_code(pb, error, code, message):
    [response] = execute_step(probe(pb, raising(error)), x_request(pb))
    assert response.has_error()
    assert response.error().code() == getattr(pb.TritonError, code)
    assert response.error().message().startswith(message)
    assert response.output_tensors() == []


def test_bad_input_is_logged_as_a_rejection_and_a_bug_as_an_error(pb):
    execute_step(probe(pb, raising(InvalidImageError("bad bytes"))), x_request(pb))
    execute_step(probe(pb, raising(ValueError("bug"))), x_request(pb))
    levels = [level for level, message in pb.Logger.records if "probe" in message]
    assert levels[-2:] == ["info", "error"]
    assert "rejected request: bad bytes" in pb.Logger.records[-2][1]


def test_each_request_of_one_execute_gets_its_own_answer_in_order(pb):
    async def fail_on_negative(step, inputs):
        if inputs[X][0] < 0:
            raise InvalidImageError("negative")
        return {"Y": inputs[X] + 1}

    step = probe(pb, fail_on_negative)
    answers = execute_step(step, *(x_request(pb, value=v) for v in (1.0, -1.0, 5.0)))
    assert outputs(pb, answers[0])["Y"].tolist() == [2.0, 2.0]
    assert answers[1].error().code() == pb.TritonError.INVALID_ARG
    assert outputs(pb, answers[2])["Y"].tolist() == [6.0, 6.0]


def test_outputs_are_made_contiguous_for_the_stub(pb):
    async def strided(step, inputs):
        return {"Y": np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]}

    [response] = execute_step(probe(pb, strided), x_request(pb))
    assert outputs(pb, response)["Y"].tolist() == [[0, 2], [4, 6], [8, 10]]


def test_a_step_without_a_required_parameter_is_refused_at_load(pb):
    step = probe(pb)
    with pytest.raises(pb.TritonModelException, match="probe: parameter seal_det_max_batch_size"):
        step.parameter("seal_det_max_batch_size")
    unset = dict(CONFIG, parameters={"limit": {"string_value": "${LIMIT}"}})
    assert initialize(Probe(), "probe", unset).parameter("limit", "7") == "7"


# --- admission leases ---------------------------------------------------------------------

OUTCOMES = {
    "success": None,
    "error": raising(InvalidImageError("bad")),
    "exception": raising(RuntimeError("bug")),
    "unavailable": raising(StepUnavailable("layout: queue full")),
}


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("final_step", [False, True])
def test_a_later_step_gives_the_lease_back_when_it_fails_or_ends_the_request(
    pb, lease_file, outcome, final_step
):
    ticket = AdmissionGate(lease_file, capacity=4).admit()
    step = probe(pb, OUTCOMES[outcome], final_step=final_step)
    [response] = execute_step(step, x_request(pb, ticket))
    assert response.has_error() == (outcome != "success")
    kept = outcome == "success" and not final_step  # a middle step passes it on
    assert leases_held(lease_file) == (1 if kept else 0)


def test_a_request_without_a_ticket_releases_nothing(pb, lease_file):
    other = AdmissionGate(lease_file, capacity=4).admit()
    execute_step(probe(pb, raising(RuntimeError("bug")), final_step=True), x_request(pb))
    execute_step(probe(pb, final_step=True), x_request(pb, ticket=""))
    assert leases_held(lease_file) == 1
    AdmissionGate(lease_file).release(other)


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_the_first_step_takes_a_lease_and_gives_it_back_unless_the_request_goes_on(
    pb, lease_file, outcome
):
    step = probe(pb, OUTCOMES[outcome], admits=True)
    step.gate = AdmissionGate(lease_file, capacity=2)
    [response] = execute_step(step, x_request(pb))
    if outcome == "success":
        ticket = outputs(pb, response)[names.ADMISSION_TICKET]
        assert ticket.dtype == object and ticket.shape == (1,) and ticket[0]
        assert leases_held(lease_file) == 1
        AdmissionGate(lease_file).release(ticket[0].decode())
    assert leases_held(lease_file) == 0


def test_the_first_step_refuses_overload_before_running_with_unavailable(pb, lease_file):
    held = AdmissionGate(lease_file, capacity=1).admit()
    step = probe(pb, admits=True)
    step.gate = AdmissionGate(lease_file, capacity=1)
    step.admission_wait_s = 0.05
    [response] = execute_step(step, x_request(pb))
    assert response.error().code() == pb.TritonError.UNAVAILABLE
    assert "server busy: waited 0.05 s" in response.error().message()
    assert step.runs == 0 and leases_held(lease_file) == 1
    AdmissionGate(lease_file).release(held)
    [response] = execute_step(step, x_request(pb))
    assert not response.has_error() and step.runs == 1


def test_the_first_step_ignores_a_ticket_it_was_sent(pb, lease_file):
    forged = AdmissionGate(lease_file, capacity=3).admit()
    step = probe(pb, raising(InvalidImageError("bad")), admits=True)
    step.gate = AdmissionGate(lease_file, capacity=3)
    execute_step(step, x_request(pb, forged))
    assert leases_held(lease_file) == 1  # its own lease given back, not the one it was sent


# --- BLS: infer and infer_items -----------------------------------------------------------


def doubler(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"out": inputs["in"] * 2}


def infer_items(step: PipelineStep, items, max_batch: int, spread: int = 1):
    return asyncio.run(step.infer_items("entry", "in", "out", items, max_batch, spread))


def test_infer_items_with_no_items_makes_no_call(pb):
    pb.serve("entry", doubler)
    assert infer_items(probe(pb), [], max_batch=4) == []
    assert pb.calls == []


def test_infer_items_splits_past_the_batch_limit_and_keeps_item_order(pb):
    pb.serve("entry", doubler)
    items = [np.full((2, 3), i, np.float32) for i in range(7)]
    results = infer_items(probe(pb), items, max_batch=3)
    batches = [call["in"].shape[0] for _, call in pb.calls]
    assert sorted(batches, reverse=True) == [3, 3, 1] and max(batches) <= 3
    for index, result in enumerate(results):
        np.testing.assert_array_equal(result, np.full((2, 3), 2 * index, np.float32))


def test_infer_items_stacks_only_equal_shapes(pb):
    pb.serve("entry", doubler)
    shapes = [(2, 3), (2, 5), (2, 3), (4, 1), (2, 5), (2, 3)]
    items = [np.full(shape, i, np.float32) for i, shape in enumerate(shapes)]
    results = infer_items(probe(pb), items, max_batch=8)
    assert sorted(tuple(call["in"].shape) for _, call in pb.calls) == [
        (1, 4, 1),
        (2, 2, 5),
        (3, 2, 3),
    ]
    for index, (shape, result) in enumerate(zip(shapes, results, strict=True)):
        assert result.shape == shape
        assert (result == 2 * index).all()


def test_infer_items_spreads_one_shape_over_the_instances(pb):
    pb.serve("entry", doubler)
    items = [np.full((1, 4), i, np.float32) for i in range(5)]
    results = infer_items(probe(pb), items, max_batch=16, spread=2)
    assert sorted(call["in"].shape[0] for _, call in pb.calls) == [2, 3]
    assert [int(r[0, 0]) for r in results] == [0, 2, 4, 6, 8]


def test_a_chunk_of_one_item_is_a_view_not_a_copy(pb):
    pb.serve("entry", doubler)
    page = np.zeros((3, 40, 40), np.float32)
    infer_items(probe(pb), [page], max_batch=4)
    [(_, call)] = pb.calls
    assert call["in"].shape == (1, 3, 40, 40) and np.shares_memory(call["in"], page)


@pytest.mark.parametrize(
    ("code", "raised"),
    [("UNAVAILABLE", StepUnavailable), ("INVALID_ARG", StepRefused), ("INTERNAL", StepError)],
)
def test_a_failed_model_call_raises_by_its_code(pb, code, raised):
    error = pb.TritonError("queue is full", getattr(pb.TritonError, code))
    pb.serve("entry", lambda inputs: pb.InferenceResponse(error=error))
    with pytest.raises(StepError, match=r"^entry: queue is full$") as caught:
        infer_items(probe(pb), [np.zeros(2, np.float32)], max_batch=4)
    assert type(caught.value) is raised


def test_a_model_refused_for_load_makes_the_step_answer_unavailable(pb, lease_file):
    error = pb.TritonError("exceeds maximum queue size", pb.TritonError.UNAVAILABLE)
    pb.serve("entry", lambda inputs: pb.InferenceResponse(error=error))

    async def call_entry(step, inputs):
        await step.infer_items("entry", "in", "out", [inputs[X]], 4)
        return {"Y": inputs[X]}

    ticket = AdmissionGate(lease_file, capacity=2).admit()
    [response] = execute_step(probe(pb, call_entry), x_request(pb, ticket))
    assert response.error().code() == pb.TritonError.UNAVAILABLE
    assert response.error().message() == "probe: entry: exceeds maximum queue size"
    assert leases_held(lease_file) == 0
