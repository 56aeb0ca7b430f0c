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
    from autograder.reference.network import init_params       # chapter 4
    from autograder.reference.convolution import conv2d_forward  # chapter 4
    from autograder.reference.recurrent import rnn_forward     # chapter 4
    from autograder.reference.preprocessing import standardize_fit  # chapter 5
    from autograder.reference.regularization import EarlyStopping   # chapter 5
    from autograder.reference.schedules import warmup_cosine_lr # chapter 5
    from autograder.reference.sequential import Sequential     # chapter 6
    from autograder.reference.transfer import linear_probe     # chapter 6
    from autograder.reference.sequences import make_windows    # chapter 6

Each is tested against PyTorch in tests/reference/. An exercise's own notebook never
uses its reference here: the code policy (autograder/instructor/grading/policy.py) refuses a
graded answer that imports a module of its own chapter or a later one.
"""

# The chapter whose exercises each module holds the reference for. A chapter's notebook may
# import a module only from an earlier chapter (autograder/instructor/grading/policy.py enforces it).
CHAPTER_OF: dict[str, int] = {
    "activations": 1,  # sigmoid, relu, tanh and their gradients
    "mlp": 1,  # dense_forward, mlp_forward, count_parameters
    "losses": 3,  # mse_loss, binary_cross_entropy, softmax, cross_entropy and gradients
    "layers": 4,  # linear/relu/sigmoid/tanh forward and backward, softmax_cross_entropy
    "data": 4,  # iterate_minibatches
    "optimizers": 4,  # SGD, Adagrad, RMSprop, Adam, clip_grad_norm
    "init": 4,  # xavier_uniform, he_normal
    "batchnorm": 4,  # batchnorm_forward, batchnorm_backward
    "network": 4,  # init_params, network_forward/backward, train_step
    "convolution": 4,  # conv1d_backward, conv2d_forward, conv2d_backward
    "recurrent": 4,  # rnn_forward, rnn_backward (BPTT)
    "preprocessing": 5,  # standardize_fit/transform, train_test_split, impute_mean, one_hot
    "regularization": 5,  # l2_penalty, dropout_forward/backward, EarlyStopping
    "schedules": 5,  # step_decay_lr, warmup_cosine_lr, random_search
    "sequential": 6,  # Dense, Sequential
    "transfer": 6,  # linear_probe
    "sequences": 6,  # make_windows
}
