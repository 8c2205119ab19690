"""Study A's LLM annotation stage: schema, persistent cache and the three backends."""
