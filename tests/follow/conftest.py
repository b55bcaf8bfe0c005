"""Fixtures of the follower tests: a live emulator, the real provider, a real database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.credentials import Accounts
from finetuning.datasets.library import DatasetLibrary
from finetuning.datasets.models import ModelCatalog, default_catalog
from finetuning.follow.follower import Follower
from finetuning.jobs import JobService
from finetuning.provider import OpenAIProvider
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.follow.harness import (
    MODEL,
    PRICE_PER_MILLION,
    Clock,
    FollowerFactory,
    Starter,
    emulator,
    library_in,
    provider_for,
    service_for,
)


@pytest.fixture
def emu() -> Iterator[OpenAIEmulator]:
    with emulator() as running:
        yield running


@pytest.fixture
def provider(emu: OpenAIEmulator) -> Iterator[OpenAIProvider]:
    with provider_for(emu) as real:
        yield real


@pytest.fixture
def catalog() -> ModelCatalog:
    return default_catalog().with_prices({MODEL: PRICE_PER_MILLION})


@pytest.fixture
def library(session_factory: sessionmaker[Session], tmp_path: Path) -> DatasetLibrary:
    return library_in(session_factory, tmp_path)


@pytest.fixture
def service(
    session_factory: sessionmaker[Session],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    catalog: ModelCatalog,
) -> JobService:
    return service_for(session_factory, library, provider, catalog)


@pytest.fixture
def starter(library: DatasetLibrary, service: JobService, tmp_path: Path) -> Starter:
    return Starter(library, service, tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_follower(
    session_factory: sessionmaker[Session],
    provider: OpenAIProvider,
    catalog: ModelCatalog,
    clock: Clock,
) -> FollowerFactory:
    def build(page_size: int = 100) -> Follower:
        return Follower(
            session_factory,
            Accounts.fixed(provider),
            catalog,
            audit=AuditLog(session_factory),
            clock=clock,
            page_size=page_size,
        )

    return build


@pytest.fixture
def follower(make_follower: FollowerFactory) -> Follower:
    return make_follower()
