"""What every chat front end needs the same way and no core service should know about:
cutting text at a platform's limits, pacing the edits of a streamed reply. Imports no chat
platform's library (the architecture test holds it to that)."""
