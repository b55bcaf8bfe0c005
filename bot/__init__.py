"""Process wiring for tunebot: settings, the command line, the server and the scheduler."""
