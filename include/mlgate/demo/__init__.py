"""The flights simulator, the incidents, the demo and `mlgate up`."""
