"""The peer for transitions: the same process as BPMN, run by SpiffWorkflow 3.

bench/peers/vastbas.bpmn is workflows/vastbas.yaml's ten steps as user tasks with
exclusive gateways. Each instance is stored as its users store one: the whole workflow
serialized to JSON (BpmnWorkflowSerializer, spec included, as serialize_json makes it)
in a row of its own table, read and written back in one transaction per step. Measured
like ours: N instances waiting in step 3 (offer), and for each, one committed
transaction that loads the row (FOR UPDATE on PostgreSQL), deserializes it, completes
the user task with `family_accepts`, runs the engine to the next user task, serializes
and writes it back. `spiffworkflow_ratio_transitions` is ours / SpiffWorkflow in
transitions per second (> 1: ours is faster). The peer writes no audit event of its own
and starts no timers: the completed tasks in its JSON are its history.
"""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.util.task import TaskState

from bench.common import Figures, Scale, percentile, ratio, say
from bench.databases import Database
from vastbas import clock
from vastbas.models.base import UTCDateTime

BPMN = Path(__file__).with_name("vastbas.bpmn")
PREFIX = "spiffworkflow"
METADATA = sa.MetaData()
INSTANCES = sa.Table(
    "spiff_instances",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.String(20), unique=True, nullable=False),
    sa.Column("serialization", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
# The answers each user task gives in the benchmark's walk (read by the gateways).
ANSWERS = {"assessment": {"vastbas_case": True}, "offer": {"family_accepts": True}}


def load_spec() -> BpmnProcessSpec:
    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN))
    return parser.get_spec("vastbas")


def complete(workflow: BpmnWorkflow, step: str) -> None:
    """Complete the ready user task of `step` and run the engine to the next one."""
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    if task is None or task.task_spec.name != step:
        found = task.task_spec.name if task is not None else None
        raise RuntimeError(f"expected the user task {step}, found {found}")
    task.data.update(ANSWERS.get(step, {}))
    task.run()
    workflow.do_engine_steps()


def ready_step(workflow: BpmnWorkflow) -> str | None:
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    return task.task_spec.name if task is not None else None


def run(database: Database, scale: Scale, figures: Figures, ours_per_s: float | None) -> None:
    engine = database.engine
    serializer = BpmnWorkflowSerializer()
    workflow = BpmnWorkflow(load_spec())
    workflow.do_engine_steps()
    for step in ("request", "assessment"):
        complete(workflow, step)
    waiting = serializer.serialize_json(workflow)
    n = scale.transitions
    METADATA.create_all(engine)
    now = clock.now()
    with engine.begin() as connection:
        connection.execute(
            INSTANCES.insert(),
            [
                {"reference": f"VB-SPIFF-{i:06d}", "serialization": waiting, "updated_at": now}
                for i in range(1, n + 1)
            ],
        )
    say(f"  spiffworkflow: {n:,} instances in offer, {len(waiting) / 1024:.1f} KB each")
    postgres = engine.dialect.name == "postgresql"
    durations = []
    started = time.perf_counter()
    for i in range(1, n + 1):
        begun = time.perf_counter()
        with engine.begin() as connection:
            query = sa.select(INSTANCES.c.id, INSTANCES.c.serialization).where(
                INSTANCES.c.reference == f"VB-SPIFF-{i:06d}"
            )
            row = connection.execute(query.with_for_update() if postgres else query).one()
            instance = serializer.deserialize_json(row.serialization)
            complete(instance, "offer")
            connection.execute(
                INSTANCES.update()
                .where(INSTANCES.c.id == row.id)
                .values(serialization=serializer.serialize_json(instance), updated_at=clock.now())
            )
        durations.append(time.perf_counter() - begun)
    rate = n / (time.perf_counter() - started)
    _check(engine, serializer, n)
    figures.emit(f"{PREFIX}_transitions_per_s", round(rate, 1), "1/s")
    for p in (50, 95):
        ms = round(percentile(durations, p) * 1000, 2)
        figures.emit(f"{PREFIX}_ms_per_transition_p{p}", ms, "ms")
    figures.emit(f"{PREFIX}_state_kb", round(len(waiting) / 1024, 1), "KB")
    if ours_per_s is not None:
        figures.emit(f"{PREFIX}_ratio_transitions", ratio(ours_per_s, rate), "x")
    METADATA.drop_all(engine)


def _check(engine: sa.Engine, serializer: BpmnWorkflowSerializer, n: int) -> None:
    """Every instance moved on once: each is now waiting in step 4 (pre_meeting)."""
    with engine.connect() as connection:
        rows = connection.scalars(sa.select(INSTANCES.c.serialization)).all()
    steps = {ready_step(serializer.deserialize_json(text)) for text in rows}
    if len(rows) != n or steps != {"pre_meeting"}:
        raise RuntimeError(f"{len(rows)} SpiffWorkflow instances, waiting in {steps}")
