"""Following fine-tuning jobs to their end: progress, outcomes, notices owed, loss charts."""
