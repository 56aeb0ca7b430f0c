"""Three honest outsiders' answers to chapter 1, in styles unlike the course's solutions (red team
session 10): each is ``(helpers added after the setup, {exercise: source}, trailing cells)``."""

from __future__ import annotations

CLASSES_HELPERS = '''
class Elementwise:
    """An element-wise function of float64 arrays, with its derivative."""

    def __call__(self, z):
        return self.value(np.asarray(z, dtype=np.float64))

    def grad(self, z):
        return self.derivative(np.asarray(z, dtype=np.float64))


class Sigmoid(Elementwise):
    def value(self, z):
        small = np.exp(-np.abs(z))  # never overflows
        return np.where(z >= 0, 1.0 / (1.0 + small), small / (1.0 + small))

    def derivative(self, z):
        s = self.value(z)
        return s * (1.0 - s)


class Relu(Elementwise):
    def value(self, z):
        return np.maximum(z, 0.0)

    def derivative(self, z):
        return (z > 0).astype(np.float64)


class Tanh(Elementwise):
    def value(self, z):
        small = np.exp(-2.0 * np.abs(z))
        return np.sign(z) * (1.0 - small) / (1.0 + small)

    def derivative(self, z):
        t = self.value(z)
        return 1.0 - t * t


class Dense:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def __call__(self, X):
        return np.matmul(X, self.W) + self.b


class Conv1D:
    def __init__(self, w, b, stride=1):
        self.w, self.b, self.stride = w, b, stride

    def out_length(self, length):
        return (length - self.w.shape[2]) // self.stride + 1

    def window(self, x, t):
        start = t * self.stride
        return x[:, :, start:start + self.w.shape[2]]
'''

CLASSES = {
    "count_parameters": "def count_parameters(layer_sizes):\n    sizes = list(layer_sizes)\n"
                        "    total = 0\n    for i in range(1, len(sizes)):\n"
                        "        layer = Dense(np.zeros((sizes[i - 1], sizes[i])), np.zeros(sizes[i]))\n"
                        "        total += layer.W.size\n"
                        "        total += sizes[i]\n    return total\n",
    "sigmoid": "sigmoid = Sigmoid()\n",
    "relu": "relu = Relu()\n",
    "tanh": "tanh = Tanh()\n",
    "sigmoid_grad": "sigmoid_grad = Sigmoid().grad\n",
    "relu_grad": "relu_grad = Relu().grad\n",
    "tanh_grad": "tanh_grad = Tanh().grad\n",
    "neuron": "def neuron(x, w, b, activation):\n    return activation(Dense(w, b)(x))\n",
    "dense_forward": "def dense_forward(X, W, b):\n    return Dense(W, b)(X)\n",
    "mlp_forward": "class MLP:\n    def __init__(self, params, activation):\n"
                   "        self.layers = [Dense(W, b) for W, b in params]\n"
                   "        self.activation = activation\n\n"
                   "    def __call__(self, X):\n        out = X\n"
                   "        for layer in self.layers[:-1]:\n            out = self.activation(layer(out))\n"
                   "        return self.layers[-1](out)\n\n\n"
                   "def mlp_forward(X, params, activation):\n    return MLP(params, activation)(X)\n",
    "rnn_step": "class RNNCell:\n    def __init__(self, Wx, Wh, b):\n"
                "        self.Wx, self.Wh, self.b = Wx, Wh, b\n\n"
                "    def step(self, x_t, h_prev):\n"
                "        return tanh(x_t @ self.Wx + h_prev @ self.Wh + self.b)\n\n\n"
                "def rnn_step(x_t, h_prev, Wx, Wh, b):\n    return RNNCell(Wx, Wh, b).step(x_t, h_prev)\n",
    "conv1d_forward": "def conv1d_forward(x, w, b, stride=1):\n    layer = Conv1D(w, b, stride)\n"
                      "    n_out = layer.out_length(x.shape[2])\n"
                      "    out = np.zeros((x.shape[0], w.shape[0], n_out))\n"
                      "    for t in range(n_out):\n        patch = layer.window(x, t)\n"
                      "        for o in range(w.shape[0]):\n"
                      "            out[:, o, t] = (patch * w[o]).sum(axis=(1, 2)) + b[o]\n    return out\n",
    "conv1d_forward_vectorized": "def conv1d_forward_vectorized(x, w, b, stride=1):\n"
                                 "    layer = Conv1D(w, b, stride)\n"
                                 "    n_out = layer.out_length(x.shape[2])\n"
                                 "    index = stride * np.arange(n_out)[:, None] + np.arange(w.shape[2])\n"
                                 "    patches = x[:, :, index].transpose(0, 2, 1, 3)\n"
                                 "    patches = patches.reshape(x.shape[0], n_out, -1)\n"
                                 "    out = patches @ w.reshape(w.shape[0], -1).T + b\n"
                                 "    return out.transpose(0, 2, 1).copy()\n",
}
CLASSES_TRAILING = [
    "for name, f in [('sigmoid', sigmoid), ('relu', relu), ('tanh', tanh)]:\n"
    "    print(name, f(np.array([-2.0, 0.0, 2.0])))\n",
    "print('parameters of [30, 64, 32, 1]:', count_parameters([30, 64, 32, 1]))\n",
]

CLOSURES_HELPERS = '''
from functools import reduce


def stable(positive, negative):
    """An element-wise function given as one formula for z >= 0 and one for z < 0, each of
    e = exp(-|z|) (never overflows)."""
    def apply(z):
        z = np.asarray(z, dtype=np.float64)
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, positive(e), negative(e))
    return apply


def compose(*functions):
    return lambda value: reduce(lambda acc, f: f(acc), functions, value)


def affine(W, b):
    return lambda X: X @ W + b
'''

CLOSURES = {
    "count_parameters": "def count_parameters(layer_sizes):\n"
                        "    pairs = zip(layer_sizes, list(layer_sizes)[1:])\n"
                        "    return reduce(lambda total, p: total + (p[0] + 1) * p[1], pairs, 0)\n",
    "sigmoid": "sigmoid = stable(lambda e: 1.0 / (1.0 + e), lambda e: e / (1.0 + e))\n",
    "relu": "relu = lambda z: np.where(np.asarray(z) > 0, np.asarray(z, dtype=np.float64), 0.0)\n",
    "tanh": "_t = lambda e2: (1.0 - e2) / (1.0 + e2)\n"
            "tanh = stable(lambda e: _t(e * e), lambda e: -_t(e * e))\n",
    "sigmoid_grad": "sigmoid_grad = stable(lambda e: e / (1.0 + e) ** 2, lambda e: e / (1.0 + e) ** 2)\n",
    "relu_grad": "def relu_grad(z):\n    return np.greater(z, 0).astype(float)\n",
    "tanh_grad": "tanh_grad = compose(tanh, lambda t: 1.0 - np.square(t))\n",
    "neuron": "def neuron(x, w, b, activation):\n    return compose(affine(w, b), activation)(x)\n",
    "dense_forward": "dense_forward = lambda X, W, b: affine(W, b)(X)\n",
    "mlp_forward": "def mlp_forward(X, params, activation):\n"
                   "    hidden = [compose(affine(W, b), activation) for W, b in params[:-1]]\n"
                   "    return compose(*hidden, affine(*params[-1]))(X)\n",
    "rnn_step": "def rnn_step(x_t, h_prev, Wx, Wh, b):\n"
                "    return tanh(affine(Wx, b)(x_t) + affine(Wh, 0.0)(h_prev))\n",
    "conv1d_forward": "def conv1d_forward(x, w, b, stride=1):\n    K = w.shape[-1]\n"
                      "    starts = range(0, x.shape[-1] - K + 1, stride)\n"
                      "    columns = [np.einsum('nck,ock->no', x[..., s:s + K], w) + b for s in starts]\n"
                      "    return np.stack(columns, axis=-1)\n",
    "conv1d_forward_vectorized": "def conv1d_forward_vectorized(x, w, b, stride=1):\n    K = w.shape[-1]\n"
                                 "    L_out = (x.shape[-1] - K) // stride + 1\n"
                                 "    taps = [x[..., k:k + stride * (L_out - 1) + 1:stride]\n"
                                 "            for k in range(K)]\n"
                                 "    return np.einsum('kncl,ock->nol', np.stack(taps), w) + b[:, None]\n",
}
CLOSURES_TRAILING = [
    "losses = []\nw_demo = np.array([0.5, -0.5])\nfor step in range(50):\n"
    "    p = sigmoid(np.array([1.0, 2.0]) @ w_demo)\n"
    "    w_demo = w_demo - 0.5 * (p - 1.0) * np.array([1.0, 2.0])\n"
    "    losses.append(float(-np.log(p)))\n"
    "    if step % 10 == 0:\n        print(step, round(losses[-1], 4))\n",
]

LOOPS_HELPERS_1 = '''
import math


def exp_neg_abs(z):
    return np.exp(-np.abs(z))
'''
LOOPS_HELPERS_2 = '''
def windows_of(x, kernel_size, stride):
    """(N, C, L_out, K): every window of x, gathered with a loop over the taps."""
    n, c, length = x.shape
    l_out = (length - kernel_size) // stride + 1
    out = np.empty((n, c, l_out, kernel_size))
    for k in range(kernel_size):
        out[:, :, :, k] = x[:, :, k:k + stride * (l_out - 1) + 1:stride]
    return out
'''

LOOPS = {
    "count_parameters": "def count_parameters(layer_sizes):\n    n = 0\n"
                        "    for i, width in enumerate(layer_sizes):\n        if i:\n"
                        "            n += layer_sizes[i - 1] * width + width\n    return n\n",
    "sigmoid": "def sigmoid(z):\n    e = exp_neg_abs(z)\n    out = 1.0 / (1.0 + e)\n"
               "    negative = z < 0\n"
               "    out[negative] = e[negative] / (1.0 + e[negative])\n    return out\n",
    "relu": "def relu(z):\n    out = np.array(z, dtype=np.float64, copy=True)\n"
            "    out[out < 0] = 0.0\n    return out\n",
    "tanh": "def tanh(z):\n    return 2.0 * sigmoid(2.0 * z) - 1.0\n",
    "sigmoid_grad": "def sigmoid_grad(z):\n    e = exp_neg_abs(z)\n    return e / ((1.0 + e) * (1.0 + e))\n",
    "relu_grad": "def relu_grad(z):\n    out = np.zeros(np.shape(z))\n    out[np.asarray(z) > 0] = 1.0\n"
                 "    return out\n",
    "tanh_grad": "def tanh_grad(z):\n    s = sigmoid_grad(2.0 * z)\n    return 4.0 * s\n",
    "neuron": "def neuron(x, w, b, activation):\n    return activation(np.dot(x, w) + b)\n",
    "dense_forward": "def dense_forward(X, W, b):\n    return np.einsum('nd,dm->nm', X, W) + b\n",
    "mlp_forward": "def mlp_forward(X, params, activation):\n    out = X\n    last = len(params) - 1\n"
                   "    for i, (W, b) in enumerate(params):\n        out = dense_forward(out, W, b)\n"
                   "        if i < last:\n            out = activation(out)\n    return out\n",
    "rnn_step": "def rnn_step(x_t, h_prev, Wx, Wh, b):\n"
                "    return tanh(dense_forward(x_t, Wx, b) + dense_forward(h_prev, Wh, 0.0))\n",
    "conv1d_forward": "def conv1d_forward(x, w, b, stride=1):\n    win = windows_of(x, w.shape[2], stride)\n"
                      "    out = np.zeros((x.shape[0], w.shape[0], win.shape[2]))\n"
                      "    for n in range(x.shape[0]):\n        for o in range(w.shape[0]):\n"
                      "            for t in range(win.shape[2]):\n"
                      "                out[n, o, t] = math.fsum((win[n, :, t, :] * w[o]).ravel()) + b[o]\n"
                      "    return out\n",
    "conv1d_forward_vectorized": "def conv1d_forward_vectorized(x, w, b, stride=1):\n"
                                 "    win = windows_of(x, w.shape[2], stride)\n"
                                 "    return np.tensordot(win, w, axes=([1, 3], [1, 2])).transpose(0, 2, 1)"
                                 " + b[None, :, None]\n",
}
LOOPS_TRAILING = [
    "print('all written; now a loop that never ends (a learner left it running)')\n"
    "while True:\n    pass\n",
]

SOLUTIONS = {
    "classes": ([CLASSES_HELPERS], CLASSES, CLASSES_TRAILING),
    "closures": ([CLOSURES_HELPERS], CLOSURES, CLOSURES_TRAILING),
    "loops": ([LOOPS_HELPERS_1, LOOPS_HELPERS_2], LOOPS, LOOPS_TRAILING),
}

# Chapter 5: the course's answers, seven of them rewritten in other styles (helpers in a cell of
# their own, a class for the schedule, comprehensions), and a last cell that loops forever.
CH5_HELPERS = '''
def column_stats(column):
    """(mean, population std) of one column; std 1.0 when every value is the same."""
    column = np.asarray(column, dtype=np.float64)
    mean = column.mean()
    if np.all(column == column[0]):
        return mean, 1.0
    return mean, float(np.sqrt(np.mean((column - mean) ** 2)))


class WarmupCosine:
    def __init__(self, base_lr, total_steps, warmup_steps=0, min_lr=0.0):
        self.base_lr, self.total, self.warmup, self.min_lr = base_lr, total_steps, warmup_steps, min_lr

    def __call__(self, step):
        if step < self.warmup:
            return float(self.base_lr * (step + 1) / self.warmup)
        progress = (step - self.warmup) / (self.total - self.warmup)
        return float(self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress)))
'''
CH5 = {
    "standardize_fit": "def standardize_fit(X):\n    X = np.asarray(X, dtype=np.float64)\n"
                       "    stats = [column_stats(X[:, j]) for j in range(X.shape[1])]\n"
                       "    return (np.array([m for m, _ in stats], dtype=np.float64),\n"
                       "            np.array([s for _, s in stats], dtype=np.float64))\n",
    "standardize_transform": "def standardize_transform(X, mean, std):\n"
                             "    return np.divide(np.subtract(X, mean, dtype=np.float64), std)\n",
    "one_hot": "def one_hot(y, num_classes):\n    labels = np.asarray(y).astype(np.intp)\n"
               "    if labels.size and not ((labels >= 0) & (labels < num_classes)).all():\n"
               "        raise ValueError(f'a label outside [0, {num_classes})')\n"
               "    return np.eye(num_classes)[labels]\n",
    "step_decay_lr": "def step_decay_lr(step, base_lr, step_size, gamma=0.1):\n"
                     "    return float(base_lr * math.pow(gamma, step // step_size))\n",
    "warmup_cosine_lr": "def warmup_cosine_lr(step, base_lr, total_steps, warmup_steps=0, min_lr=0.0):\n"
                        "    return WarmupCosine(base_lr, total_steps, warmup_steps, min_lr)(step)\n",
    "l2_penalty": "def l2_penalty(params, lam):\n    weights = [k for k in params if k.startswith('W')]\n"
                  "    penalty = 0.5 * lam * sum(float(np.vdot(params[k], params[k])) for k in weights)\n"
                  "    grads = {k: (lam * v if k in weights else np.zeros(np.shape(v)))\n"
                  "             for k, v in params.items()}\n    return float(penalty), grads\n",
    "dropout_backward": "def dropout_backward(dout, cache):\n    return np.multiply(dout, cache)\n",
}
CH5_TRAILING = ["for epoch in range(3):\n    print('epoch', epoch, warmup_cosine_lr(epoch, 0.1, 3))\n"
                "while True:\n    pass\n"]
