"""The Slack front end: Bolt listeners, Block Kit rendering and file intake over `finetuning`."""
