"""The course library: reference versions of earlier chapters' exercises.

Later chapters build on what earlier ones taught without copying code between
notebooks: chapter 5 trains with chapter 4's layers and optimizers from here,
chapter 6's capstone stands on both. One concept a file; import from the module:

    from autograder.nn.activations import relu          # chapter 1
    from autograder.nn.mlp import mlp_forward           # chapter 1
    from autograder.nn.losses import cross_entropy      # chapter 3
    from autograder.nn.layers import linear_forward     # chapter 4
    from autograder.nn.optimizers import Adam           # chapter 4
    from autograder.nn.init import he_normal            # chapter 4
    from autograder.nn.batchnorm import batchnorm_forward  # chapter 4
    from autograder.nn.data import iterate_minibatches  # chapter 4
    from autograder.nn.preprocessing import standardize_fit  # chapter 5
    from autograder.nn.regularization import EarlyStopping   # chapter 5

Each is tested against PyTorch in tests/. An exercise's own notebook never uses
its reference here: hidden tests call ``check_own_code``.
"""
