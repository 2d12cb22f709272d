"""What uses a finished dataset: evaluation of predictions and RL environments over tasks."""
