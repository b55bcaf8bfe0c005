"""The platform-neutral core of tunebot: datasets, jobs, the provider and conversations.

Nothing in this package may import a chat platform (Slack, Discord): both front ends are thin
layers over it, so a feature written here serves every platform at once.
"""
