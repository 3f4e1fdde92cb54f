"""Landing, the Great Expectations gate, the history profile the gate judges against."""
