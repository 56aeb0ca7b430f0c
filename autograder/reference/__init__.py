"""The course library: reference versions of earlier chapters' exercises.

Later chapters build on what earlier ones taught without copying code between
notebooks: chapter 5 trains with chapter 4's layers and optimizers from here,
chapter 6's capstone stands on both. One concept a file; import from the module:

    from autograder.reference.activations import relu          # chapter 1
    from autograder.reference.mlp import mlp_forward           # chapter 1
    from autograder.reference.losses import cross_entropy      # chapter 3
    from autograder.reference.layers import linear_forward     # chapter 4
    from autograder.reference.optimizers import Adam           # chapter 4
    from autograder.reference.init import he_normal            # chapter 4
    from autograder.reference.batchnorm import batchnorm_forward  # chapter 4
    from autograder.reference.data import iterate_minibatches  # chapter 4
    from autograder.reference.preprocessing import standardize_fit  # chapter 5
    from autograder.reference.regularization import EarlyStopping   # chapter 5

Each is tested against PyTorch in tests/. An exercise's own notebook never uses
its reference here: hidden tests call ``check_own_code``.
"""
