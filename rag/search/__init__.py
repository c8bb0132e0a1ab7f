"""Search: a question (its follow-ups and article references resolved) -> passages -> the sentences to show and cite."""
