"""The team's rule read with Discord's roles: who may start, who is an admin."""

from __future__ import annotations

from finetuning.team import Action, Person, Reason, TeamPolicy

FINETUNERS, ADMINS = "200", "201"


def policy(**kwargs: object) -> TeamPolicy:
    return TeamPolicy(
        allowed_roles=[FINETUNERS],
        admin_roles=[ADMINS],
        admins=["42"],
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_member_with_an_allowed_role_may_start_one_without_may_not():
    rules = policy()
    assert rules.check_person(Action.START, Person("1", frozenset({FINETUNERS})), "c") is None
    refused = rules.check_person(Action.START, Person("2"), "c")
    assert refused is not None and refused.reason is Reason.USER_NOT_ALLOWED


def test_admins_are_the_owner_administrators_admin_roles_and_listed_ids():
    rules = policy()
    assert rules.is_admin(Person("1", platform_admin=True))
    assert rules.is_admin(Person("2", frozenset({ADMINS})))
    assert rules.is_admin(Person("42"))
    assert not rules.is_admin(Person("3", frozenset({FINETUNERS})))
    assert rules.check_person(Action.START, Person("2", frozenset({ADMINS})), "c") is None


def test_only_admins_decide_even_with_an_allowed_role():
    rules = policy()
    refused = rules.check_person(Action.DECIDE, Person("1", frozenset({FINETUNERS})), "c")
    assert refused is not None and refused.reason is Reason.ADMINS_ONLY


def test_allowed_users_and_roles_widen_each_other():
    rules = policy(allowed_users=["7"])
    assert rules.check_person(Action.START, Person("7"), "c") is None
    assert rules.check_person(Action.CANCEL, Person("8", frozenset({FINETUNERS})), "c") is None


def test_no_lists_means_everyone():
    assert TeamPolicy().check_person(Action.DELETE, Person("9"), None) is None
