"""The web layer: request plumbing (session, actor, language), error rendering, base layout."""
