"""Team controls in the core: who may act where, what a month has used, and approvals."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.credentials import Accounts
from finetuning.datasets.engine import ValidationSettings
from finetuning.datasets.library import DatasetLibrary, Origin, StoredDataset
from finetuning.datasets.models import default_catalog
from finetuning.follow.follower import Follower
from finetuning.jobs import JobRecord, JobService, StartRefusedError, StartRequest
from finetuning.jobs.service import TAG
from finetuning.jobs.start import plan_start
from finetuning.provider import OpenAIProvider, ProviderError
from finetuning.team import (
    Action,
    BudgetBook,
    BudgetLimits,
    Reason,
    TeamPolicy,
)
from finetuning.team.approvals import Approvals, Decision
from finetuning.team.budget import to_usd
from storage.models import AuditEntry, Job
from storage.tasks import TaskQueue
from tests.datasets.builders import chat, jsonl_bytes, write
from tests.emulators.openai_emulator import JobScript, OpenAIEmulator

DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"
JOBS = "/v1/fine_tuning/jobs"
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
THIS_MONTH = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


# --- who may act where (no database) ------------------------------------------------------------


class AdminAnswer:
    """An `is_admin` answer that remembers being asked (it may cost a Slack call)."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked = 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.answer


RESTRICTED = [Action.START, Action.CANCEL, Action.DELETE]


def test_without_lists_everyone_may_act_everywhere_and_nobody_is_asked_about_admins() -> None:
    policy = TeamPolicy()
    is_admin = AdminAnswer(False)

    for action in RESTRICTED:
        assert policy.check(action, "U1", "C1", is_admin) is None
        assert policy.check(action, "U1", None, is_admin) is None
    assert is_admin.asked == 0


def test_only_the_listed_people_may_start_cancel_and_delete() -> None:
    policy = TeamPolicy(allowed_users=["U1", " U2 ", ""])

    for action in RESTRICTED:
        assert policy.check(action, "U2", "C1", AdminAnswer(False)) is None
        refusal = policy.check(action, "U3", "C1", AdminAnswer(False))
        assert refusal is not None
        assert (refusal.action, refusal.reason) == (action, Reason.USER_NOT_ALLOWED)


def test_only_the_listed_channels_and_the_refusal_names_them() -> None:
    policy = TeamPolicy(allowed_channels=["C1", "C2"])

    assert policy.check(Action.START, "U9", "C2", AdminAnswer(False)) is None
    refusal = policy.check(Action.START, "U9", "C3", AdminAnswer(False))
    assert refusal is not None
    assert refusal.reason is Reason.CHANNEL_NOT_ALLOWED
    assert refusal.allowed_channels == ("C1", "C2")
    direct = policy.check(Action.CANCEL, "U9", None, AdminAnswer(False))
    assert direct is not None and direct.reason is Reason.CHANNEL_NOT_ALLOWED


def test_admins_may_always_act_and_are_asked_about_only_when_the_lists_refuse() -> None:
    policy = TeamPolicy(allowed_users=["U1"], allowed_channels=["C1"])
    listed = AdminAnswer(True)
    admin = AdminAnswer(True)

    assert policy.check(Action.START, "U1", "C1", listed) is None
    assert listed.asked == 0
    for action in RESTRICTED:
        assert policy.check(action, "U7", "C9", admin) is None
    assert admin.asked == len(RESTRICTED)


def test_only_admins_decide_on_approvals_whatever_the_lists_say() -> None:
    policy = TeamPolicy()

    refusal = policy.check(Action.DECIDE, "U1", "C1", AdminAnswer(False))
    assert refusal is not None and refusal.reason is Reason.ADMINS_ONLY
    assert policy.check(Action.DECIDE, "U1", "C1", AdminAnswer(True)) is None


# --- fixtures for the database tests ------------------------------------------------------------


@pytest.fixture
def openai_emulator_options() -> dict[str, Any]:
    return {"script": JobScript(manual=True)}


@pytest.fixture
def provider_retries() -> int:
    return 1


@pytest.fixture
def audit(session_factory: sessionmaker[Session]) -> AuditLog:
    return AuditLog(session_factory)


@pytest.fixture
def library(
    session_factory: sessionmaker[Session], tmp_path: Path, audit: AuditLog
) -> DatasetLibrary:
    return DatasetLibrary(
        session_factory, tmp_path / "data", ValidationSettings(workers=1), audit=audit
    )


class Datasets:
    def __init__(self, library: DatasetLibrary, folder: Path) -> None:
        self.library = library
        self.folder = folder
        self.made = 0

    def add(self, *, workspace: str = "T1", channel: str = "C1") -> StoredDataset:
        self.made += 1
        start = self.made * 100
        content = jsonl_bytes([chat(i) for i in range(start, start + 12)])
        source = write(self.folder, content, f"upload-{self.made}.jsonl")
        return self.library.ingest(
            source, Origin(workspace_id=workspace, file_name="train.jsonl", channel_id=channel)
        )


@pytest.fixture
def datasets(library: DatasetLibrary, tmp_path: Path) -> Datasets:
    return Datasets(library, tmp_path)


def request(key: str = "start:T1:1", **fields: object) -> StartRequest:
    base: dict[str, object] = {
        "key": key,
        "workspace_id": "T1",
        "channel_id": "C1",
        "requested_by": "U1",
    }
    return StartRequest(**(base | fields))  # type: ignore[arg-type]


def estimate_of(library: DatasetLibrary, start: StartRequest) -> Decimal:
    """What a start of this request is estimated at, as the job row will store it."""
    plan = plan_start(start, library, default_catalog(), DEFAULT_MODEL)
    return to_usd(plan.estimate.cost_usd)


def seed_job(
    factory: sessionmaker[Session],
    dataset: StoredDataset,
    *,
    status: str,
    estimated: str | None = None,
    actual: str | None = None,
    finished_at: datetime | None = None,
    started_by: str = "U1",
    workspace: str | None = None,
    created_at: datetime | None = None,
) -> None:
    """A job in any state, as the jobs service and the follower would have left it."""
    with factory.begin() as session:
        count = len(list(session.scalars(select(Job.id))))
        session.add(
            Job(
                workspace_id=workspace or dataset.workspace_id,
                dataset_id=dataset.id,
                idempotency_key=f"seeded-{count}-{status}",
                base_model=DEFAULT_MODEL,
                status=status,
                estimated_cost_usd=Decimal(estimated) if estimated else None,
                actual_cost_usd=Decimal(actual) if actual else None,
                finished_at=finished_at,
                started_by=started_by,
                created_at=created_at or NOW,
            )
        )


def jobs_service(
    factory: sessionmaker[Session],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    audit: AuditLog,
    *,
    workspace_usd: Decimal | None = None,
    user_usd: Decimal | None = None,
    approval_usd: Decimal | None = None,
) -> JobService:
    return JobService(
        factory,
        library,
        Accounts.fixed(provider),
        default_catalog(),
        DEFAULT_MODEL,
        audit=audit,
        # The book's month is the seeded jobs' month, not the calendar's: a test must not
        # depend on the day it runs.
        budgets=BudgetBook(factory, BudgetLimits(workspace_usd, user_usd), clock=lambda: NOW),
        approval_usd=approval_usd,
    )


def job_rows(factory: sessionmaker[Session]) -> list[Job]:
    with factory() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def creates(emu: OpenAIEmulator) -> int:
    return sum(1 for r in emu.requests if (r.method, r.path) == ("POST", JOBS))


def audit_actions(factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with factory() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(row.actor, row.action, row.subject) for row in rows]


# --- what a month has used ----------------------------------------------------------------------


def test_spent_counts_what_ended_this_month_and_committed_what_has_not_ended(
    session_factory: sessionmaker[Session], datasets: Datasets
) -> None:
    dataset = datasets.add()
    elsewhere = datasets.add(workspace="T2")
    last_month = THIS_MONTH - timedelta(seconds=1)
    seed = dict(factory=session_factory, dataset=dataset)

    def add(**values: Any) -> None:
        seed_job(**(seed | values))  # type: ignore[arg-type]

    add(status="succeeded", estimated="3.0", actual="2.5", finished_at=THIS_MONTH)
    add(status="cancelled", estimated="2.0", actual="0.5", finished_at=NOW)
    add(status="failed", estimated="1.0", finished_at=NOW, started_by="U2")
    add(status="rejected", estimated="7.0", finished_at=NOW, started_by="U2")
    add(status="succeeded", estimated="10", actual="10", finished_at=last_month)
    add(status="running", estimated="1.25", created_at=THIS_MONTH - timedelta(days=3))
    add(status="awaiting_approval", estimated="4.0", started_by="U2")
    add(status="pending", estimated="0.75", started_by="U2")
    seed_job(session_factory, elsewhere, status="succeeded", actual="100", finished_at=NOW)
    book = BudgetBook(
        session_factory,
        BudgetLimits(workspace_usd=Decimal("10"), user_usd=Decimal("5")),
        clock=lambda: NOW,
    )

    status = book.status("T1", "U1")

    assert status.month == THIS_MONTH
    assert (status.workspace.spent, status.workspace.committed) == (Decimal("3"), Decimal("6"))
    assert status.workspace.left == Decimal("1")
    assert (status.user.spent, status.user.committed) == (Decimal("3"), Decimal("1.25"))
    assert status.user.left == Decimal("0.75")
    other = book.status("T1", "U2")
    assert (other.user.spent, other.user.committed) == (Decimal("0"), Decimal("4.75"))


def test_what_is_left_never_goes_below_zero_and_is_none_without_a_cap(
    session_factory: sessionmaker[Session], datasets: Datasets
) -> None:
    dataset = datasets.add()
    seed_job(session_factory, dataset, status="succeeded", actual="12", finished_at=NOW)

    capped = BudgetBook(session_factory, BudgetLimits(Decimal("10")), clock=lambda: NOW)
    uncapped = BudgetBook(session_factory, BudgetLimits(), clock=lambda: NOW)

    assert capped.status("T1", "U1").workspace.left == Decimal("0")
    assert capped.status("T1", "U1").user.left is None
    assert uncapped.status("T1", "U1").workspace.spent == Decimal("12")
    assert uncapped.status("T1", "U1").workspace.left is None


def test_a_month_is_a_calendar_month_in_utc_across_the_new_year(
    session_factory: sessionmaker[Session], datasets: Datasets
) -> None:
    dataset = datasets.add()
    december = datetime(2026, 12, 1, tzinfo=UTC)
    for finished, actual in [
        (december - timedelta(microseconds=1), "1"),
        (december, "2"),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "4"),
        (datetime(2027, 1, 1, tzinfo=UTC), "8"),
    ]:
        seed_job(session_factory, dataset, status="succeeded", actual=actual, finished_at=finished)
    new_years_eve = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)

    book = BudgetBook(session_factory, BudgetLimits(), clock=lambda: new_years_eve)

    assert book.status("T1", "U1").month == december
    assert book.status("T1", "U1").workspace.spent == Decimal("6")


# --- budgets at start ---------------------------------------------------------------------------


def test_a_start_over_the_workspace_budget_is_refused_before_openai_is_called(
    session_factory: sessionmaker[Session],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    audit: AuditLog,
    datasets: Datasets,
    emu: OpenAIEmulator,
) -> None:
    dataset = datasets.add()
    estimate = estimate_of(library, request())
    assert estimate > 0
    budget = Decimal("5.00")
    seed_job(session_factory, dataset, status="running", estimated="4.999", started_by="U2")
    service = jobs_service(session_factory, library, provider, audit, workspace_usd=budget)

    with pytest.raises(StartRefusedError) as refused:
        service.start(request())

    message = refused.value.message
    assert f"${estimate:,.2f}" in message, message
    assert "only $0.00 is left of the workspace's $5.00 budget" in message
    assert "/finetune budget" in refused.value.hint
    assert len(job_rows(session_factory)) == 1, "the refused start left no job behind"
    assert emu.requests == []


def test_a_persons_budget_limits_them_and_not_the_others(
    session_factory: sessionmaker[Session],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    audit: AuditLog,
    datasets: Datasets,
    emu: OpenAIEmulator,
) -> None:
    dataset = datasets.add()
    estimate = estimate_of(library, request())
    seed_job(session_factory, dataset, status="succeeded", actual="1", finished_at=NOW)
    service = jobs_service(
        session_factory, library, provider, audit, user_usd=Decimal("1") + estimate / 2
    )

    with pytest.raises(StartRefusedError) as refused:
        service.start(request(key="k-u1", requested_by="U1"))
    started = service.start(request(key="k-u2", requested_by="U2"))

    assert "of your $" in refused.value.message
    assert started.created and started.job.provider_job_id is not None
    assert creates(emu) == 1


def test_a_start_that_fits_is_then_committed_against_the_next(
    session_factory: sessionmaker[Session],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    audit: AuditLog,
    datasets: Datasets,
    emu: OpenAIEmulator,
) -> None:
    datasets.add()
    estimate = estimate_of(library, request())
    service = jobs_service(
        session_factory, library, provider, audit, workspace_usd=estimate * 3 / 2
    )

    first = service.start(request(key="k1"))
    repeat = service.start(request(key="k1"))
    with pytest.raises(StartRefusedError) as refused:
        service.start(request(key="k2"))

    assert first.created and not repeat.created, "a repeat is not a second start"
    assert f"only ${estimate / 2:,.2f} is left" in refused.value.message
    assert creates(emu) == 1


def test_concurrent_starts_cannot_overrun_a_budget_each_fits_alone(
    session_factory: sessionmaker[Session],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    audit: AuditLog,
    datasets: Datasets,
    emu: OpenAIEmulator,
) -> None:
    datasets.add()
    estimate = estimate_of(library, request())
    service = jobs_service(
        session_factory, library, provider, audit, workspace_usd=estimate * 3 / 2
    )
    racers = 4
    barrier = threading.Barrier(racers)
    results: list[str] = []

    def start(number: int) -> None:
        barrier.wait()
        try:
            service.start(request(key=f"race-{number}", requested_by=f"U{number}"))
            results.append("started")
        except StartRefusedError:
            results.append("refused")

    threads = [threading.Thread(target=start, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == ["refused"] * (racers - 1) + ["started"]
    assert len(job_rows(session_factory)) == 1
    assert creates(emu) == 1


# --- approvals ----------------------------------------------------------------------------------


@pytest.fixture
def waiting(
    session_factory: sessionmaker[Session],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    audit: AuditLog,
    datasets: Datasets,
) -> tuple[JobService, Approvals, int]:
    """A service whose every start needs approval, and one job waiting for it."""
    datasets.add()
    service = jobs_service(
        session_factory, library, provider, audit, approval_usd=Decimal("0"), workspace_usd=None
    )
    outcome = service.start(request(epochs=2, suffix="big", seed=5))
    assert outcome.created
    return service, Approvals(session_factory, service, audit), outcome.job.id


def test_a_start_over_the_approval_limit_waits_without_calling_openai(
    session_factory: sessionmaker[Session],
    waiting: tuple[JobService, Approvals, int],
    emu: OpenAIEmulator,
) -> None:
    service, _, job_id = waiting

    job = service.get("T1", f"job-{job_id}")
    again = service.start(request(epochs=2, suffix="big", seed=5))

    assert job.status == "awaiting_approval" and job.provider_job_id is None
    assert job.active, "a waiting job is shown among the active ones"
    assert (again.job.id, again.created, again.job.status) == (job_id, False, "awaiting_approval")
    assert emu.requests == []
    book = BudgetBook(session_factory, BudgetLimits())
    assert book.status("T1", "U1").workspace.committed == to_usd(job.estimated_cost_usd)


def test_a_start_at_or_under_the_approval_limit_starts_at_once(
    session_factory: sessionmaker[Session],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    audit: AuditLog,
    datasets: Datasets,
) -> None:
    datasets.add()
    estimate = estimate_of(library, request())
    service = jobs_service(session_factory, library, provider, audit, approval_usd=estimate)

    outcome = service.start(request())

    assert outcome.job.provider_job_id is not None


def test_the_first_decision_wins_and_later_clicks_learn_who_took_it(
    session_factory: sessionmaker[Session], waiting: tuple[JobService, Approvals, int]
) -> None:
    _, approvals, job_id = waiting
    ref = f"job-{job_id}"

    first = approvals.approve("T1", ref, "UADMIN1")
    double = approvals.approve("T1", ref, "UADMIN1")
    late = approvals.reject("T1", ref, "UADMIN2")

    assert (first.decided, first.decision, first.by) == (True, Decision.APPROVED, "UADMIN1")
    assert first.job.status == "pending" and first.job.approved_by == "UADMIN1"
    for repeat in (double, late):
        assert (repeat.decided, repeat.decision, repeat.by) == (
            False,
            Decision.APPROVED,
            "UADMIN1",
        )
    assert audit_actions(session_factory)[-1:] == [("UADMIN1", "job.approved", ref)]
    assert [a for a in audit_actions(session_factory) if a[1].startswith("job.")] == [
        ("UADMIN1", "job.approved", ref)
    ]


def test_decisions_racing_from_many_threads_take_exactly_one(
    session_factory: sessionmaker[Session], waiting: tuple[JobService, Approvals, int]
) -> None:
    _, approvals, job_id = waiting
    racers = 6
    barrier = threading.Barrier(racers)
    decided: list[str] = []

    def click(number: int) -> None:
        barrier.wait()
        decide = approvals.approve if number % 2 else approvals.reject
        if decide("T1", f"job-{job_id}", f"UADMIN{number}").decided:
            decided.append(f"UADMIN{number}")

    threads = [threading.Thread(target=click, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(decided) == 1
    decisions = [
        a for a in audit_actions(session_factory) if a[1] in ("job.approved", "job.rejected")
    ]
    assert [actor for actor, _, _ in decisions] == decided


def test_an_approved_job_is_submitted_once_as_a_normal_start_would_be(
    session_factory: sessionmaker[Session],
    waiting: tuple[JobService, Approvals, int],
    emu: OpenAIEmulator,
) -> None:
    service, approvals, job_id = waiting
    approvals.approve("T1", f"job-{job_id}", "UADMIN")

    outcome = approvals.submit(job_id)
    again = approvals.submit(job_id)
    start_again = service.start(request(epochs=2, suffix="big", seed=5))

    job = outcome.job
    assert job.provider_job_id is not None and job.status != "pending"
    assert again.job.provider_job_id == start_again.job.provider_job_id == job.provider_job_id
    assert creates(emu) == 1
    created = emu.job(job.provider_job_id)
    assert created["metadata"] == {TAG: f"job-{job_id}"}
    assert created["hyperparameters"]["n_epochs"] == 2
    assert created["user_provided_suffix"] == "big" and created["seed"] == 5
    assert ("U1", "job.started", f"job-{job_id}") in audit_actions(session_factory)


def test_a_submission_cut_short_after_openai_created_the_job_adopts_it(
    waiting: tuple[JobService, Approvals, int],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    emu: OpenAIEmulator,
) -> None:
    """As after a crash between OpenAI's answer and our write: the retried submission of an
    approved job must adopt the provider's job, not create a second one."""
    _, approvals, job_id = waiting
    approvals.approve("T1", f"job-{job_id}", "UADMIN")
    emu.inject(JOBS + "$", 503, count=2, retry_after=0.01, method="POST")
    with pytest.raises(ProviderError):
        approvals.submit(job_id)
    training = library.get("T1", "ds-1").provider_file_id
    assert training is not None
    ours = provider.create_job(
        training_file=training, model=DEFAULT_MODEL, metadata={TAG: f"job-{job_id}"}
    )
    created_before = creates(emu)

    outcome = approvals.submit(job_id)

    assert outcome.job.provider_job_id == ours.id
    assert creates(emu) == created_before


def test_a_decision_and_its_follow_up_are_written_together_or_not_at_all(
    session_factory: sessionmaker[Session], waiting: tuple[JobService, Approvals, int]
) -> None:
    """The follow-up task goes into the decision's transaction: a failure writing it undoes
    the decision, and a decision taken writes it exactly once."""
    service, approvals, job_id = waiting
    queue = TaskQueue(session_factory)

    def broken(session: Session, job: JobRecord) -> None:
        raise RuntimeError("crash while writing the follow-up")

    with pytest.raises(RuntimeError):
        approvals.approve("T1", f"job-{job_id}", "UADMIN", then=broken)
    assert service.get("T1", f"job-{job_id}").status == "awaiting_approval"

    written: list[int] = []

    def follow_up(session: Session, job: JobRecord) -> None:
        written.append(queue.add_in(session, "decision", f"decision:T1:{job.id}", {"id": job.id}))

    decided = approvals.approve("T1", f"job-{job_id}", "UADMIN", then=follow_up)
    again = approvals.approve("T1", f"job-{job_id}", "UADMIN", then=follow_up)

    assert decided.decided and not again.decided
    assert len(written) == 1 and queue.due() == [(written[0], "decision")]


def test_submitting_a_job_nobody_approved_sends_nothing(
    waiting: tuple[JobService, Approvals, int], emu: OpenAIEmulator
) -> None:
    _, approvals, job_id = waiting

    outcome = approvals.submit(job_id)

    assert outcome.job.status == "awaiting_approval"
    assert emu.requests == []


def test_a_rejected_job_ends_costing_nothing_and_is_audited(
    session_factory: sessionmaker[Session],
    waiting: tuple[JobService, Approvals, int],
    emu: OpenAIEmulator,
) -> None:
    _, approvals, job_id = waiting

    rejected = approvals.reject("T1", f"job-{job_id}", "UADMIN")
    submitted = approvals.submit(job_id)

    assert rejected.decided and rejected.job.status == "rejected"
    assert rejected.job.rejected_by == "UADMIN" and rejected.job.finished_at is not None
    assert submitted.job.status == "rejected"
    assert emu.requests == []
    book = BudgetBook(session_factory, BudgetLimits())
    month = book.status("T1", "U1").workspace
    assert (month.spent, month.committed) == (Decimal(0), Decimal(0))
    assert ("UADMIN", "job.rejected", f"job-{job_id}") in audit_actions(session_factory)


def test_cancelling_a_waiting_job_withdraws_it_without_asking_openai(
    waiting: tuple[JobService, Approvals, int], emu: OpenAIEmulator
) -> None:
    service, approvals, job_id = waiting

    cancelled = service.cancel("T1", f"job-{job_id}", by="U1")
    late = approvals.approve("T1", f"job-{job_id}", "UADMIN")

    assert cancelled.status == "cancelled" and cancelled.cancelled_by == "U1"
    assert (late.decided, late.decision, late.by) == (False, Decision.WITHDRAWN, "U1")
    assert emu.requests == []


def test_cancelling_a_withdrawn_job_again_answers_with_it_and_asks_nobody(
    waiting: tuple[JobService, Approvals, int], emu: OpenAIEmulator
) -> None:
    """A retried cancel task comes back here: it must be told the job is withdrawn, not that
    it was never submitted, to show the withdrawal on the requests it may not have reached."""
    service, approvals, job_id = waiting
    service.cancel("T1", f"job-{job_id}", by="U1")

    again = service.cancel("T1", f"job-{job_id}", by="U2")

    assert (again.status, again.cancelled_by) == ("cancelled", "U1")
    assert approvals.outcome(again) == (Decision.WITHDRAWN, "U1")
    assert emu.requests == []


# --- the actual cost, booked when a job ends ----------------------------------------------------


def test_the_actual_cost_replaces_the_estimate_when_the_job_ends(
    session_factory: sessionmaker[Session],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    audit: AuditLog,
    datasets: Datasets,
    emu: OpenAIEmulator,
) -> None:
    datasets.add()
    service = jobs_service(session_factory, library, provider, audit, workspace_usd=Decimal("50"))
    book = BudgetBook(session_factory, BudgetLimits(Decimal("50")))
    job = service.start(request()).job
    assert job.provider_job_id is not None and job.estimated_cost_usd is not None
    during = book.status("T1", "U1").workspace

    finished = emu.finish(job.provider_job_id, "succeeded")
    Follower(session_factory, Accounts.fixed(provider), default_catalog(), audit=audit).poll_once()
    after = book.status("T1", "U1").workspace

    price = default_catalog().resolve(DEFAULT_MODEL).training_usd_per_million
    actual = to_usd(finished["trained_tokens"] * price / 1e6)
    assert (during.spent, during.committed) == (Decimal(0), to_usd(job.estimated_cost_usd))
    assert actual > 0
    assert (after.spent, after.committed) == (actual, Decimal(0))
    assert after.left == Decimal("50") - actual
