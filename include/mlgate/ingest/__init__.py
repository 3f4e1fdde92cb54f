"""Landing, the Great Expectations gate, the history profile the gate judges against, the
replay of a table into landing (`mlgate land`) and the drill's incidents."""
