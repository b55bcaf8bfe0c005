"""Team controls: who may act where (policy), what a month may cost (budget), and approvals of
costly jobs (`finetuning.team.approvals`, which builds on the jobs service and so is imported
from its module, not from here)."""

from finetuning.team.budget import (
    BudgetBook,
    BudgetLimits,
    BudgetStatus,
    OverBudget,
    Scope,
    Spending,
)
from finetuning.team.policy import Action, Person, Reason, Refusal, TeamPolicy

__all__ = [
    "Action",
    "BudgetBook",
    "BudgetLimits",
    "BudgetStatus",
    "OverBudget",
    "Person",
    "Reason",
    "Refusal",
    "Scope",
    "Spending",
    "TeamPolicy",
]
