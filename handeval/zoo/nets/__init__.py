"""Clean re-implementations of published networks whose parameter names and shapes follow the
official code, so that a user's checkpoint loads strictly (``handeval.zoo.checkpoints``)."""
