"""Evaluation: score completions (``eval.score``), run models (``eval.run``), build the leaderboard."""
