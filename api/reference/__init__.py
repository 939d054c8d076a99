"""Reference data about the real NHS: organisations from ODS, facts (ERIC backlog) by year."""
