"""Discord renderings (embeds, views, plain text) of what the core knows; no calls to Discord."""
