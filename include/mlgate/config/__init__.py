"""The spec (typed, every default declared once) and the settings from the environment."""
