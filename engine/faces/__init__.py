"""Face detection, alignment to the model's template, and paste-back."""
