"""Honest outsiders' answers to the exercises of chapters 4, 5 and 6 that take or use a random
generator, in styles unlike the course's (session 11): the generator kept in an object and drawn
from in later methods, generator functions that draw lazily, helpers in cells of their own that
receive it, ``rng.permutation`` / ``rng.shuffle`` (in place) / ``rng.choice`` / ``rng.integers``,
``rng.standard_normal`` / ``rng.normal`` / ``rng.random`` / ``rng.uniform`` / ``rng.binomial``,
Keras-like and micrograd-like classes, closures. Each draws exactly what its docstring says.

``VARIANTS[name] = (chapter, base, helpers, answers, trailing)``: ``base`` is "source" (the
instructor's notebook, the listed exercises replaced) or "student" (the student's notebook, every
exercise answered here); ``helpers`` are cells added after the setup cell.
"""

from __future__ import annotations

CH4, CH5, CH6 = "04_backprop_in_practice", "05_training_and_tuning", "06_whats_next"

# -- chapter 4 ---------------------------------------------------------------------------------

CH4_OBJECTS_HELPERS = '''
class Sampler:
    """Keeps the generator; every call of order() draws one more permutation from it."""

    def __init__(self, rng, shuffle=True):
        self.rng = rng
        self.shuffle = shuffle

    def order(self, n):
        return self.rng.permutation(n) if self.shuffle else np.arange(n)


class Initializer:
    """Keras-like initializers: keep the rng, draw a (fan_in, fan_out) array when called."""

    def __init__(self, rng):
        self.rng = rng

    def __call__(self, fan_in, fan_out):
        return self.sample((fan_in, fan_out), fan_in, fan_out)


class GlorotUniform(Initializer):
    def sample(self, shape, fan_in, fan_out):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return limit * (2.0 * self.rng.random(shape) - 1.0)  # U[0, 1) -> U[-limit, limit)


class HeNormal(Initializer):
    def sample(self, shape, fan_in, fan_out):
        return np.sqrt(2.0 / fan_in) * self.rng.standard_normal(shape)
'''

CH4_OBJECTS = {
    "iterate_minibatches": '''class MiniBatches:
    """An iterable of (X_batch, y_batch), like a Keras Sequence; the order is drawn when
    iteration starts."""

    def __init__(self, X, y, batch_size, rng, shuffle=True):
        self.X, self.y, self.batch_size = X, y, batch_size
        self.sampler = Sampler(rng, shuffle)

    def __iter__(self):
        order = self.sampler.order(len(self.X))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            yield self.X[rows], self.y[rows]


def iterate_minibatches(X, y, batch_size, rng, shuffle=True):
    return iter(MiniBatches(X, y, batch_size, rng, shuffle))
''',
    "xavier_uniform": "def xavier_uniform(fan_in, fan_out, rng):\n"
                      "    return GlorotUniform(rng)(fan_in, fan_out)\n",
    "he_normal": "def he_normal(fan_in, fan_out, rng):\n    return HeNormal(rng)(fan_in, fan_out)\n",
}

# the same, but iterate_minibatches returns the iterable object itself (not an iterator)
CH4_SEQUENCE = dict(CH4_OBJECTS, iterate_minibatches=CH4_OBJECTS["iterate_minibatches"].replace(
    "return iter(MiniBatches(X, y, batch_size, rng, shuffle))",
    "return MiniBatches(X, y, batch_size, rng, shuffle)"))

CH4_FUNCTIONAL_HELPERS = '''
def split_points(n, batch_size):
    return list(range(batch_size, n, batch_size))


def gaussian(rng, std, shape):
    return rng.normal(loc=0.0, scale=std, size=shape)


def uniform_in(limit):
    return lambda rng, shape: rng.uniform(low=-limit, high=limit, size=shape)
'''

CH4_FUNCTIONAL = {
    "iterate_minibatches": '''def iterate_minibatches(X, y, batch_size, rng, shuffle=True):
    rows = np.arange(len(X))
    if shuffle:
        rng.shuffle(rows)  # in place, drawn now
    return ((X[part], y[part]) for part in np.array_split(rows, split_points(len(rows), batch_size)))
''',
    "xavier_uniform": "def xavier_uniform(fan_in, fan_out, rng):\n"
                      "    return uniform_in((6.0 / (fan_in + fan_out)) ** 0.5)(rng, (fan_in, fan_out))\n",
    "he_normal": "def he_normal(fan_in, fan_out, rng):\n"
                 "    return gaussian(rng, (2.0 / fan_in) ** 0.5, (fan_in, fan_out))\n",
}

# Fisher-Yates with rng.integers: a permutation drawn from rng, one integer a step (lazily)
CH4_FISHER_YATES = {
    "iterate_minibatches": '''def fisher_yates(n, rng):
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int(rng.integers(0, i + 1))
        order[i], order[j] = order[j], order[i]
    return np.array(order, dtype=np.intp)


def iterate_minibatches(X, y, batch_size, rng, shuffle=True):
    order = fisher_yates(len(X), rng) if shuffle else np.arange(len(X))
    start = 0
    while start < len(order):
        rows = order[start:start + batch_size]
        yield X[rows], y[rows]
        start += batch_size
''',
    "xavier_uniform": "def xavier_uniform(fan_in, fan_out, rng):\n"
                      "    a = np.sqrt(6.0 / (fan_in + fan_out))\n"
                      "    return rng.uniform(size=(fan_in, fan_out)) * (2 * a) - a\n",
    "he_normal": "def he_normal(fan_in, fan_out, rng):\n"
                 "    W = np.empty((fan_in, fan_out))\n"
                 "    for i in range(fan_in):  # row by row: the same draws as one call\n"
                 "        W[i] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=fan_out)\n    return W\n",
}

# rng.choice without replacement (a permutation of its own), batches drawn from it lazily; weights
# with positional arguments, a helper of another cell receiving the rng
CH4_CHOICE_HELPERS = '''
def standard_normal_matrix(rng, rows, cols):
    return rng.standard_normal(size=(rows, cols))
'''

CH4_CHOICE = {
    "iterate_minibatches": '''def iterate_minibatches(X, y, batch_size, rng, shuffle=True):
    n = len(X)
    order = rng.choice(n, n, replace=False) if shuffle else np.arange(n)
    for part in np.split(order, np.arange(batch_size, n, batch_size)):
        yield X[part], y[part]
''',
    "xavier_uniform": "def xavier_uniform(fan_in, fan_out, rng):\n"
                      "    a = (6 / (fan_in + fan_out)) ** 0.5\n"
                      "    return rng.uniform(-a, a, (fan_in, fan_out))\n",
    "he_normal": "def he_normal(fan_in, fan_out, rng):\n"
                 "    return standard_normal_matrix(rng, fan_in, fan_out) * (2 / fan_in) ** 0.5\n",
}

# -- chapter 5 ---------------------------------------------------------------------------------

CH5_OBJECTS_HELPERS = '''
class RowSampler:
    """Keeps the generator; draw() picks the rows of one mini-batch (without replacement)."""

    def __init__(self, rng, n_rows, batch_size):
        if not 1 <= batch_size <= n_rows:
            raise ValueError(f"batch_size must lie in [1, {n_rows}], got {batch_size}")
        self.rng, self.n_rows, self.batch_size = rng, n_rows, batch_size

    def draw(self):
        return self.rng.choice(self.n_rows, size=self.batch_size, replace=False)


def logistic_gradient(X, y, w):
    return X.T @ (sigmoid(X @ w) - y) / len(X)
'''

CH5_OBJECTS = {
    "train_test_split": '''class Splitter:
    """Keeps the generator; draws one permutation (or one per class, then one per part)."""

    def __init__(self, test_size, rng):
        self.test_size, self.rng = test_size, rng

    def n_test(self, n):
        return int(np.ceil(self.test_size * n))

    def per_class(self, y):
        classes, codes = np.unique(y, return_inverse=True)
        counts = np.bincount(codes)
        share = counts * self.n_test(len(y)) / len(y)
        take = np.floor(share).astype(int)
        by_remainder = sorted(range(len(counts)), key=lambda k: take[k] - share[k])
        for k in by_remainder[:self.n_test(len(y)) - take.sum()]:
            take[k] += 1
        return codes, take

    def rows(self, y, stratify):
        if not stratify:
            order = self.rng.permutation(len(y))
            return order[self.n_test(len(y)):], order[:self.n_test(len(y))]
        codes, take = self.per_class(y)
        train, test = [], []
        for k, count in enumerate(take):
            members = self.rng.permutation(np.flatnonzero(codes == k))
            test.extend(members[:count])
            train.extend(members[count:])
        return (self.rng.permutation(np.array(train, dtype=np.intp)),
                self.rng.permutation(np.array(test, dtype=np.intp)))


def train_test_split(X, y, test_size, rng, stratify=False):
    X, y = np.asarray(X), np.asarray(y)
    train, test = Splitter(test_size, rng).rows(y, stratify)
    return X[train], X[test], y[train], y[test]
''',
    "build_and_train": '''class Trainer:
    """Keeps the rng: the initial weights first, then one shuffle an epoch, all drawn from it."""

    def __init__(self, sizes, loss_fn, rng, lr):
        self.rng = rng
        self.params = init_params(sizes, self.rng)
        self.loss_fn = loss_fn
        self.optimizer = Adam(self.params, lr)

    def batches(self, X, y, batch_size):
        order = self.rng.permutation(len(X))  # drawn lazily, when the first batch is asked for
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            yield X[rows], y[rows]

    def epoch(self, X, y, batch_size):
        for X_batch, y_batch in self.batches(X, y, batch_size):
            _, grads = self.loss_fn(X_batch, y_batch, self.params)
            self.optimizer.step(grads)


def build_and_train(X_train, y_train, X_val, y_val, loss_fn, rng, hidden=(64, 32), epochs=30,
                    batch_size=32, lr=1e-3, early_stopping=None, progress=True):
    trainer = Trainer([X_train.shape[1], *hidden, 1], loss_fn, rng, lr)
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    for _ in tqdm(range(epochs), desc="epochs", disable=not progress):
        trainer.epoch(X_train, y_train, batch_size)
        train_loss, train_acc = evaluate(X_train, y_train, trainer.params)
        val_loss, val_acc = evaluate(X_val, y_val, trainer.params)
        history["train_loss"].append(train_loss)
        history["val_loss"].append(val_loss)
        history["train_acc"].append(train_acc)
        history["val_acc"].append(val_acc)
        if early_stopping is not None and early_stopping.step(val_loss, trainer.params):
            break
    if early_stopping is not None and early_stopping.best_params is not None:
        return early_stopping.best_params, history
    return trainer.params, history
''',
    "minibatch_gradients": '''def minibatch_gradients(X, y, w, batch_size, n_draws, rng):
    X = np.asarray(X, dtype=np.float64)
    sampler = RowSampler(rng, len(X), batch_size)
    out = np.zeros((n_draws, X.shape[1]))
    for d in range(n_draws):
        rows = sampler.draw()
        out[d] = logistic_gradient(X[rows], y[rows], w)
    return out
''',
    "sgd_at_budget": '''class LogisticSGD:
    def __init__(self, X, y, w, batch_size, lr, rng):
        self.X, self.y, self.lr = X, y, lr
        self.w = np.array(w, dtype=np.float64)
        self.sampler = RowSampler(rng, len(X), batch_size)

    def loss(self):
        return binary_cross_entropy(self.X @ self.w, self.y)

    def step(self):
        rows = self.sampler.draw()
        self.w = self.w - self.lr * logistic_gradient(self.X[rows], self.y[rows], self.w)


def sgd_at_budget(X, y, w, batch_size, budget, lr, rng):
    X = np.asarray(X, dtype=np.float64)
    if not 1 <= batch_size <= len(X):
        raise ValueError(f"batch_size must lie in [1, {len(X)}]")
    if budget <= 0 or budget % batch_size != 0:
        raise ValueError("budget must be a positive multiple of batch_size")
    run = LogisticSGD(X, y, w, batch_size, lr, rng)
    losses = [run.loss()]
    for _ in range(budget // batch_size):
        run.step()
        losses.append(run.loss())
    return run.w, np.array(losses, dtype=np.float64)
''',
    "random_search": '''class LogUniformSpace:
    def __init__(self, space, rng):
        self.bounds = [(name, np.log(low), np.log(high)) for name, (low, high) in space.items()]
        self.rng = rng

    def sample(self):
        return {name: float(np.exp(self.rng.uniform(lo, hi))) for name, lo, hi in self.bounds}


def random_search(objective, space, n_trials, rng):
    sampler = LogUniformSpace(space, rng)
    trials = []
    for _ in range(n_trials):
        config = sampler.sample()
        trials.append((config, float(objective(**config))))
    best_config, _ = min(trials, key=lambda trial: trial[1])
    return best_config, trials
''',
    "dropout_forward": '''class Dropout:
    def __init__(self, p, rng):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must lie in [0, 1], got {p}")
        self.p, self.rng = p, rng

    def mask(self, shape, train):
        if not train:
            return np.ones(shape)
        if self.p == 1.0:
            return np.zeros(shape)
        keep = self.rng.uniform(size=shape) >= self.p
        return keep / (1.0 - self.p)


def dropout_forward(x, p, rng, train):
    x = np.asarray(x, dtype=np.float64)
    mask = Dropout(p, rng).mask(x.shape, train)
    return x * mask, mask
''',
}

CH5_FUNCTIONAL_HELPERS = '''
import itertools


def log_uniform(rng, low, high):
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def he_layers(sizes, rng):
    """[D, H1, ..., 1] -> W1 b1 ...: He-normal weights drawn layer by layer, zero biases."""
    params = {}
    for k, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        params[f"W{k}"] = rng.standard_normal((fan_in, fan_out)) * math.sqrt(2.0 / fan_in)
        params[f"b{k}"] = np.zeros(fan_out)
    return params
'''

CH5_FUNCTIONAL = {
    "train_test_split": '''def train_test_split(X, y, test_size, rng, stratify=False):
    X, y = np.asarray(X), np.asarray(y)
    n = len(y)
    n_test = math.ceil(test_size * n)
    if stratify:
        groups = [np.flatnonzero(y == label) for label in np.unique(y)]
        wanted = np.array([len(g) * n_test / n for g in groups])
        take = np.floor(wanted).astype(int)
        take[np.argsort(take - wanted, kind="stable")[:n_test - take.sum()]] += 1
        for g in groups:
            rng.shuffle(g)
        test = np.concatenate([g[:t] for g, t in zip(groups, take)])
        train = np.concatenate([g[t:] for g, t in zip(groups, take)])
        rng.shuffle(test)
        rng.shuffle(train)
    else:
        rows = np.arange(n)
        rng.shuffle(rows)
        test, train = rows[:n_test], rows[n_test:]
    return X[train], X[test], y[train], y[test]
''',
    "build_and_train": '''def build_and_train(X_train, y_train, X_val, y_val, loss_fn, rng,
                    hidden=(64, 32), epochs=30, batch_size=32, lr=1e-3, early_stopping=None,
                    progress=True):
    params = he_layers([X_train.shape[1], *hidden, 1], rng)
    optimizer = Adam(params, lr)

    def one_epoch():
        for X_batch, y_batch in iterate_minibatches(X_train, y_train, batch_size, rng):
            optimizer.step(loss_fn(X_batch, y_batch, params)[1])
        return (*evaluate(X_train, y_train, params), *evaluate(X_val, y_val, params))

    history = {key: [] for key in ("train_loss", "train_acc", "val_loss", "val_acc")}
    for _ in tqdm(range(epochs), disable=not progress):
        for key, value in zip(history, one_epoch()):
            history[key].append(value)
        if early_stopping and early_stopping.step(history["val_loss"][-1], params):
            break
    if early_stopping and early_stopping.best_params is not None:
        params = early_stopping.best_params
    return params, history
''',
    "minibatch_gradients": '''def minibatch_gradients(X, y, w, batch_size, n_draws, rng):
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    if batch_size < 1 or batch_size > n:
        raise ValueError("need 1 <= batch_size <= N")

    def batches():
        for _ in range(n_draws):
            yield rng.choice(n, size=batch_size, replace=False)

    grads = [X[r].T @ (sigmoid(X[r] @ w) - y[r]) / batch_size for r in batches()]
    return np.array(grads, dtype=np.float64).reshape(n_draws, X.shape[1])
''',
    "sgd_at_budget": '''def sgd_at_budget(X, y, w, batch_size, budget, lr, rng):
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    if not (1 <= batch_size <= n) or budget <= 0 or budget % batch_size:
        raise ValueError("need 1 <= batch_size <= N and budget a positive multiple of batch_size")

    def walk(w):
        yield w
        for _ in range(budget // batch_size):
            rows = rng.choice(n, size=batch_size, replace=False)
            w = w - lr * (X[rows].T @ (sigmoid(X[rows] @ w) - y[rows])) / batch_size
            yield w

    path = list(walk(np.array(w, dtype=np.float64)))
    losses = np.array([binary_cross_entropy(X @ v, y) for v in path], dtype=np.float64)
    return path[-1], losses
''',
    "random_search": '''def random_search(objective, space, n_trials, rng):
    def configs():
        while True:
            yield {name: log_uniform(rng, low, high) for name, (low, high) in space.items()}

    trials = [(config, float(objective(**config))) for config in itertools.islice(configs(), n_trials)]
    scores = [score for _, score in trials]
    return trials[scores.index(min(scores))][0], trials
''',
    "dropout_forward": '''def dropout_forward(x, p, rng, train):
    if p < 0 or p > 1:
        raise ValueError(f"p = {p} is not in [0, 1]")
    x = np.asarray(x, dtype=np.float64)
    if not train:
        mask = np.ones(x.shape)
    elif p == 1:
        mask = np.zeros(x.shape)
    else:
        mask = rng.binomial(1, 1.0 - p, size=x.shape) / (1.0 - p)
    return x * mask, mask
''',
}

# -- chapter 6 ---------------------------------------------------------------------------------

CH6_KERAS_HELPERS = '''
class Layer:
    """Keras-like: a layer is built once its input size is known, from the generator it is given
    (kept, and drawn from by make_params)."""

    def __init__(self, units):
        self.units = int(units)
        self.trainable = True
        self.params = None
        self.grads = None
        self.rng = None

    def build(self, input_dim, rng):
        self.rng = rng
        self.params = self.make_params(int(input_dim))


class Activation:
    """An activation: its value, and dL/dz from dL/d(out), z and out."""

    def __init__(self, value, backward):
        self.value, self.backward = value, backward


def stable_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def stable_sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


ACTIVATION_FUNCTIONS = {
    "linear": Activation(lambda z: z, lambda dout, z, out: dout),
    "relu": Activation(lambda z: np.maximum(z, 0.0), lambda dout, z, out: dout * (z > 0)),
    "sigmoid": Activation(stable_sigmoid, lambda dout, z, out: dout * out * (1.0 - out)),
    "tanh": Activation(np.tanh, lambda dout, z, out: dout * (1.0 - out ** 2)),
    "softmax": Activation(stable_softmax,
                          lambda dout, z, out: out * (dout - (dout * out).sum(axis=1, keepdims=True))),
}


class EpochLoader:
    """Holds the model's generator; each epoch() yields the batches of one fresh permutation,
    drawn when the epoch's first batch is asked for."""

    def __init__(self, x, y, batch_size, rng):
        self.x, self.y, self.batch_size, self.rng = x, y, batch_size, rng

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def epoch(self):
        order = self.rng.permutation(len(self.x))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            yield self.x[rows], self.y[rows]
'''

CH6_KERAS = {
    "Dense": '''class Dense(Layer):
    """activation(x @ W + b), Keras style: the input size is known at build time."""

    ACTIVATIONS = tuple(ACTIVATION_FUNCTIONS)

    def __init__(self, units, activation=None):
        super().__init__(units)
        self.activation = "linear" if activation is None else activation
        if self.activation not in ACTIVATION_FUNCTIONS:
            raise ValueError(f"unknown activation {activation!r}")
        self.logits = None
        self.cache = None

    def make_params(self, input_dim):
        limit = np.sqrt(6.0 / (input_dim + self.units))  # Glorot uniform, from the kept rng
        return {"W": self.rng.uniform(-limit, limit, size=(input_dim, self.units)), "b": np.zeros(self.units)}

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.logits = x @ self.params["W"] + self.params["b"]
        out = ACTIVATION_FUNCTIONS[self.activation].value(self.logits)
        self.cache = (x, out)
        return out

    def backward(self, dout, through_activation=True):
        x, out = self.cache
        dz = dout
        if through_activation:
            dz = ACTIVATION_FUNCTIONS[self.activation].backward(dout, self.logits, out)
        self.grads = {"W": x.T @ dz, "b": dz.sum(axis=0)}
        return dz @ self.params["W"].T
''',
    "predict": '''class Builder:
    """Builds a model's unbuilt layers in order, each from the model's generator (kept here)."""

    def __init__(self, model):
        self.model = model
        self.rng = model.rng

    def build(self, input_dim):
        for layer in self.model.layers:
            if layer.params is None:
                layer.build(input_dim, self.rng)
            input_dim = layer.units
        self.model.built = True


def predict(model, x):
    out = np.asarray(x, dtype=np.float64)
    if not model.built:
        Builder(model).build(out.shape[1])
    for layer in model.layers:
        out = layer.forward(out)
    return out
''',
    "fit": '''def fit(model, x, y, epochs=1, batch_size=32, validation_data=None, callbacks=None, verbose=1):
    loader = EpochLoader(x, y, batch_size, model.rng)  # the generator kept for every epoch
    history = History()
    history.params = {"epochs": epochs, "steps": len(loader), "verbose": verbose}
    keys = ["loss"] + list(model.metrics)
    if validation_data is not None:
        keys = keys + ["val_" + key for key in keys]
    history.history = {key: [] for key in keys}
    callbacks = list(callbacks or [])
    for epoch in range(epochs):
        sums, count = None, 0
        for x_batch, y_batch in loader.epoch():
            values = np.atleast_1d(np.asarray(model.train_on_batch(x_batch, y_batch), dtype=np.float64))
            sums = values * len(x_batch) if sums is None else sums + values * len(x_batch)
            count += len(x_batch)
        row = list(sums / count)
        if validation_data is not None:
            row += list(np.atleast_1d(np.asarray(model.evaluate(*validation_data), dtype=np.float64)))
        for key, value in zip(keys, row):
            history.history[key].append(float(value))
        history.epoch.append(epoch)
        if verbose:
            shown = ", ".join(f"{k} {history.history[k][-1]:.4f}" for k in keys)
            print(f"epoch {epoch + 1}/{epochs}: {shown}")
        watched = history.history["val_loss" if validation_data is not None else "loss"][-1]
        answers = [callback.step(watched, model.trainable_params()) for callback in callbacks]
        if any(answers):
            best = callbacks[answers.index(True)].best_params
            for name, array in model.trainable_params().items():
                array[...] = best[name]
            break
    return history
''',
}

CH6_MICROGRAD_HELPERS = '''
import functools
import math


def softmax_rows(z):
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def sigmoid_of(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # never overflows


def shuffled_batches(x, y, batch_size, rng):
    """One epoch; the permutation is drawn (rng.shuffle, in place) when the first batch is asked for."""
    rows = np.arange(len(x))
    rng.shuffle(rows)
    for start in range(0, len(rows), batch_size):
        part = rows[start:start + batch_size]
        yield x[part], y[part]
'''

CH6_MICROGRAD = {
    "Dense": '''class Dense:
    """micrograd-like: forward leaves a closure that knows how to go backward."""

    ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")

    def __init__(self, units, activation=None):
        activation = activation or "linear"
        if activation not in self.ACTIVATIONS:
            raise ValueError(f"activation must be one of {self.ACTIVATIONS}, not {activation!r}")
        self.units, self.activation = int(units), activation
        self.trainable = True
        self.params = self.grads = self.logits = self.cache = None
        self._backward = None

    def build(self, input_dim, rng):
        self.params = {"W": xavier_uniform(input_dim, self.units, rng), "b": np.zeros(self.units)}

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        z = x @ self.params["W"] + self.params["b"]
        kind = self.activation
        if kind == "relu":
            out = np.maximum(z, 0.0)
            through = lambda g: g * (z > 0)
        elif kind == "sigmoid":
            out = sigmoid_of(z)
            through = lambda g: g * out * (1.0 - out)
        elif kind == "tanh":
            out = np.tanh(z)
            through = lambda g: g * (1.0 - out * out)
        elif kind == "softmax":
            out = softmax_rows(z)
            through = lambda g: out * (g - np.sum(g * out, axis=1, keepdims=True))
        else:
            out = z
            through = lambda g: g
        W = self.params["W"]

        def backward(dout, through_activation):
            dz = through(dout) if through_activation else dout
            return dz @ W.T, {"W": x.T @ dz, "b": dz.sum(axis=0)}

        self.logits, self.cache, self._backward = z, (x, out), backward
        return out

    def backward(self, dout, through_activation=True):
        dx, self.grads = self._backward(dout, through_activation)
        return dx
''',
    "predict": '''def predict(model, x):
    x = np.asarray(x, dtype=np.float64)
    if not model.built:
        rng = model.rng  # fetched once, passed to every build
        sizes = [x.shape[1]] + [layer.units for layer in model.layers[:-1]]
        for layer, size in zip(model.layers, sizes):
            if layer.params is None:
                layer.build(size, rng)
        model.built = True
    return functools.reduce(lambda h, layer: layer.forward(h), model.layers, x)
''',
    "fit": '''def fit(model, x, y, epochs=1, batch_size=32, validation_data=None, callbacks=None, verbose=1):
    rng = model.rng  # fetched once; each epoch's generator draws from it lazily
    names = ["loss", *model.metrics]
    if validation_data is not None:
        names += ["val_" + name for name in names]
    history = History()
    history.history = {name: [] for name in names}
    history.params = {"epochs": epochs, "steps": math.ceil(len(x) / batch_size), "verbose": verbose}

    def run_epoch():
        results = [(len(xb), np.atleast_1d(model.train_on_batch(xb, yb)))
                   for xb, yb in shuffled_batches(x, y, batch_size, rng)]
        means = sum(n * r for n, r in results) / sum(n for n, _ in results)
        if validation_data is not None:
            means = np.concatenate([means, np.atleast_1d(model.evaluate(*validation_data))])
        return means

    for epoch in range(epochs):
        for name, value in zip(names, run_epoch()):
            history.history[name].append(float(value))
        history.epoch.append(epoch)
        monitored = history.history["loss" if validation_data is None else "val_loss"][-1]
        stops = [callback.step(monitored, model.trainable_params()) for callback in callbacks or ()]
        if any(stops):
            best = callbacks[stops.index(True)].best_params
            for name, value in model.trainable_params().items():
                np.copyto(value, best[name])
            break
    return history
''',
}

VARIANTS = {
    "ch4_objects": (CH4, "source", [CH4_OBJECTS_HELPERS], CH4_OBJECTS, []),
    "ch4_sequence": (CH4, "source", [CH4_OBJECTS_HELPERS], CH4_SEQUENCE, []),
    "ch4_functional": (CH4, "source", [CH4_FUNCTIONAL_HELPERS], CH4_FUNCTIONAL, []),
    "ch4_fisher_yates": (CH4, "source", [], CH4_FISHER_YATES, []),
    "ch4_choice": (CH4, "source", [CH4_CHOICE_HELPERS], CH4_CHOICE, []),
    "ch5_objects": (CH5, "source", [CH5_OBJECTS_HELPERS], CH5_OBJECTS, []),
    "ch5_functional": (CH5, "source", [CH5_FUNCTIONAL_HELPERS], CH5_FUNCTIONAL, []),
    "ch6_keras": (CH6, "source", [CH6_KERAS_HELPERS], CH6_KERAS, []),
    "ch6_micrograd": (CH6, "source", [CH6_MICROGRAD_HELPERS], CH6_MICROGRAD, []),
}

# Chapter 6, every exercise in the outsider's own (Keras-like) style, on the student's notebook.
CH6_OWN = dict(CH6_KERAS, **{
    "compute_loss": '''def log_softmax_rows(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def compute_loss(model, out, y):
    if model.loss == "mse":
        diff = np.asarray(out, dtype=np.float64) - np.asarray(y, dtype=np.float64)
        return float(np.mean(diff ** 2)), 2.0 * diff / diff.size, False
    labels_ = np.asarray(y).astype(np.intp)
    rows = np.arange(len(labels_))
    log_p = log_softmax_rows(np.asarray(model.layers[-1].logits, dtype=np.float64))
    grad = np.exp(log_p)
    grad[rows, labels_] -= 1.0
    return float(-log_p[rows, labels_].mean()), grad / len(labels_), True
''',
    "train_on_batch": '''def train_on_batch(model, x, y):
    out = model.predict(x)
    loss, grad, wrt_logits = model.compute_loss(out, y)
    for layer in model.layers[::-1]:
        grad = layer.backward(grad, through_activation=not wrt_logits)
        wrt_logits = False  # only the last layer's gradient can be with respect to its logits
    if model.optimizer is None:
        model.optimizer = model.make_optimizer(model.trainable_params())
    grads = {}
    for i, layer in enumerate(model.layers):
        if layer.trainable:
            grads.update({f"{i}.{name}": g for name, g in layer.grads.items()})
    model.optimizer.step(grads)
    return model.results(loss, out, y)
''',
    "evaluate": '''def evaluate(model, x, y):
    out = model.predict(x)
    loss, _, _ = model.compute_loss(out, y)
    return model.results(loss, out, y)
''',
    "train_step_flops": '''def train_step_flops(layer_sizes, batch_size, input_grad=False):
    total = 0
    for k in range(len(layer_sizes) - 1):
        matmul = 2 * batch_size * layer_sizes[k] * layer_sizes[k + 1]
        total += 2 * matmul  # the forward product and the weight gradient
        if k > 0 or input_grad:
            total += matmul  # the gradient with respect to the layer's input
    return int(total)
''',
    "input_gradient": '''def input_gradient(model, x, target):
    probs = model.predict(x)
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(target)), target] = 1.0
    *body, head = model.layers
    grad = head.backward(onehot - probs, through_activation=False)  # d log p / d logits
    for layer in reversed(body):
        grad = layer.backward(grad)
    return grad
''',
    "fine_tune_step": '''def fine_tune_step(model, x, y, lr_head, lr_body):
    model.predict(x)
    last = len(model.layers) - 1
    log_p = log_softmax_rows(np.asarray(model.layers[last].logits, dtype=np.float64))
    rows, labels_ = np.arange(len(y)), np.asarray(y).astype(np.intp)
    loss = float(-log_p[rows, labels_].mean())
    grad = np.exp(log_p)
    grad[rows, labels_] -= 1.0
    grad = grad / len(y)
    for i in range(last, -1, -1):
        grad = model.layers[i].backward(grad, through_activation=i < last)
    grads = {f"{i}.{name}": layer.grads[name].copy()
             for i, layer in enumerate(model.layers) for name in layer.params}
    for i, layer in enumerate(model.layers):
        for name, value in layer.params.items():
            value -= (lr_head if i == last else lr_body) * grads[f"{i}.{name}"]
    return loss, grads
''',
    "linear_probe": '''def linear_probe(features, y, n_classes, steps=100, lr=0.5):
    F_ = np.asarray(features, dtype=np.float64)
    Y = np.eye(n_classes)[np.asarray(y)]
    W, b = np.zeros((F_.shape[1], n_classes)), np.zeros(n_classes)
    for _ in range(steps):
        p = np.exp(log_softmax_rows(F_ @ W + b))
        d = (p - Y) / len(F_)
        W = W - lr * F_.T @ d
        b = b - lr * d.sum(axis=0)
    return W, b
''',
    "policy_gradient": '''def policy_gradient(logits, action, reward):
    z = np.asarray(logits, dtype=np.float64)
    single = z.ndim == 1
    batch = z.reshape(1, -1) if single else z
    actions = np.reshape(action, -1)
    rewards = np.reshape(np.asarray(reward, dtype=np.float64), -1)
    grad = np.exp(log_softmax_rows(batch))
    grad[np.arange(len(actions)), actions] -= 1.0
    grad = rewards[:, None] * grad
    return grad[0] if single else grad
''',
    "make_windows": '''def make_windows(series, window):
    s = np.array(series, dtype=np.float64)  # a copy of our own
    if not 1 <= window < len(s):
        raise ValueError(f"need 1 <= window < {len(s)}, got {window}")
    X = np.stack([s[i:i + window] for i in range(len(s) - window)])
    return X, s[window:].reshape(-1, 1).copy()
''',
    "forecast_loss": '''def forecast_loss(params, X, y):
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    h = np.tanh(X @ W1 + b1)
    err = h @ W2 + b2 - y
    d_pred = 2.0 * err / err.size
    d_pre = (d_pred @ W2.T) * (1.0 - h ** 2)
    grads = {"W1": X.T @ d_pre, "b1": d_pre.sum(axis=0), "W2": h.T @ d_pred, "b2": d_pred.sum(axis=0)}
    return float(np.mean(err ** 2)), grads
''',
})

VARIANTS["ch6_own_everything"] = (CH6, "student", [CH6_KERAS_HELPERS], CH6_OWN, [])

# Chapter 5, every exercise in the outsider's own style (the objects above, and the rest), on the
# student's notebook.
# Splitter shuffles the training part before the test part; the course's answer the other way round.
# Both are right by the docstring and get full marks, but two of the chapter's demo cells assert
# claims on the data split with the learner's own function (see test_honest_session11.py).
TRAIN_FIRST = """        return (self.rng.permutation(np.array(train, dtype=np.intp)),
                self.rng.permutation(np.array(test, dtype=np.intp)))
"""
TEST_FIRST = """        test_rows = self.rng.permutation(np.array(test, dtype=np.intp))  # the test part first
        return self.rng.permutation(np.array(train, dtype=np.intp)), test_rows
"""
assert TRAIN_FIRST in CH5_OBJECTS["train_test_split"]

CH5_OWN = dict(CH5_OBJECTS, **{
    "train_test_split": CH5_OBJECTS["train_test_split"].replace(TRAIN_FIRST, TEST_FIRST),
    "standardize_fit": '''def standardize_fit(X):
    X = np.asarray(X, dtype=np.float64)
    spread = X.max(axis=0) - X.min(axis=0)  # 0 exactly when every value of the column is the same
    return X.mean(axis=0), np.where(spread == 0, 1.0, X.std(axis=0))
''',
    "standardize_transform": '''def standardize_transform(X, mean, std):
    return np.subtract(X, mean, dtype=np.float64) / std
''',
    "impute_mean": '''def impute_mean(X):
    out = np.array(X, dtype=np.float64)
    for j in range(out.shape[1]):
        column = out[:, j]  # a view: filled in place
        holes = np.isnan(column)
        seen = column[~holes]
        column[holes] = seen.mean() if seen.size else 0.0
    return out
''',
    "one_hot": '''def one_hot(y, num_classes):
    labels_ = np.asarray(y).astype(np.intp)
    if np.any((labels_ < 0) | (labels_ >= num_classes)):
        raise ValueError(f"every label must lie in [0, {num_classes})")
    return np.eye(num_classes)[labels_]
''',
    "model_loss": '''def model_loss(X, y, params, masks=None):
    masks = (None, None) if masks is None else masks
    inputs, pre = [np.asarray(X, dtype=np.float64)], []
    for k in (1, 2):
        z = inputs[-1] @ params[f"W{k}"] + params[f"b{k}"]
        h = np.maximum(z, 0.0)
        pre.append(z)
        inputs.append(h if masks[k - 1] is None else h * masks[k - 1])
    logits = (inputs[2] @ params["W3"] + params["b3"])[:, 0]
    loss = binary_cross_entropy(logits, y)
    grad = binary_cross_entropy_grad(logits, y)[:, None]
    grads = {"W3": inputs[2].T @ grad, "b3": grad.sum(axis=0)}
    grad = grad @ params["W3"].T
    for k in (2, 1):
        if masks[k - 1] is not None:
            grad = grad * masks[k - 1]
        grad = grad * (pre[k - 1] > 0)
        grads[f"W{k}"] = inputs[k - 1].T @ grad
        grads[f"b{k}"] = grad.sum(axis=0)
        grad = grad @ params[f"W{k}"].T
    return float(loss), grads
''',
    "step_decay_lr": '''def step_decay_lr(step, base_lr, step_size, gamma=0.1):
    lr = float(base_lr)
    for _ in range(step // step_size):
        lr *= gamma
    return float(lr)
''',
    "warmup_cosine_lr": '''def warmup_cosine_lr(step, base_lr, total_steps, warmup_steps=0, min_lr=0.0):
    if step < warmup_steps:
        return float(base_lr * (step + 1) / warmup_steps)
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return float(min_lr + 0.5 * (base_lr - min_lr) * (1.0 + np.cos(np.pi * progress)))
''',
    "l2_penalty": '''def l2_penalty(params, lam):
    weights = {name: value for name, value in params.items() if name.startswith("W")}
    penalty = 0.5 * lam * sum(float(np.sum(np.square(value))) for value in weights.values())
    grads = {name: lam * value if name in weights else np.zeros(np.shape(value))
             for name, value in params.items()}
    return float(penalty), grads
''',
    "dropout_backward": '''def dropout_backward(dout, cache):
    return np.asarray(dout) * np.asarray(cache)
''',
    "EarlyStopping": '''class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best_loss, self.best_params = float("inf"), None
        self.bad_epochs = 0

    def step(self, val_loss, params):
        improved = val_loss < self.best_loss - self.min_delta
        if improved:
            self.best_loss = float(val_loss)
            self.best_params = {name: np.array(value, copy=True) for name, value in params.items()}
        self.bad_epochs = 0 if improved else self.bad_epochs + 1
        return self.bad_epochs >= self.patience
''',
})

VARIANTS["ch5_own_everything"] = (CH5, "student", [CH5_OBJECTS_HELPERS], CH5_OWN, [])

# Chapter 4, every exercise in the outsider's own style (einsum, index arrays and np.add.at, optimizer
# objects with their own state), with the Fisher-Yates answers above, on the student's notebook.
CH4_OWN = dict(CH4_FISHER_YATES, **{
    "linear_forward": '''def linear_forward(x, W, b):
    return np.einsum("nd,dm->nm", x, W) + b, (x, W, b)
''',
    "linear_backward": '''def linear_backward(dout, cache):
    x, W, b = cache
    return np.dot(dout, W.T), np.dot(x.T, dout), np.add.reduce(dout, axis=0)
''',
    "activation_layers": '''def relu_forward(x):
    return np.where(x > 0, x, 0.0), x


def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0.0)


def sigmoid_forward(x):
    e = np.exp(-np.abs(x))
    s = np.where(x >= 0, 1.0, e) / (1.0 + e)
    return s, s


def sigmoid_backward(dout, cache):
    return dout * cache * (1.0 - cache)


def tanh_forward(x):
    t = np.tanh(x)
    return t, t


def tanh_backward(dout, cache):
    return dout * (1.0 - cache * cache)
''',
    "softmax_cross_entropy": '''def softmax_cross_entropy(logits, y):
    n = len(y)
    rows = np.arange(n)
    m = logits.max(axis=1, keepdims=True)
    log_p = (logits - m) - np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True))
    probs = np.exp(log_p)
    probs[rows, y] -= 1.0
    return float(-np.mean(log_p[rows, y])), probs / n
''',
    "network_forward": '''ACTIVATION_LAYERS = {
    "relu": (relu_forward, relu_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
}


def network_forward(X, params, activation="relu"):
    act, _ = ACTIVATION_LAYERS[activation]
    depth = len([name for name in params if name.startswith("W")])
    h, caches = X, []
    for k in range(1, depth + 1):
        h, linear_cache = linear_forward(h, params[f"W{k}"], params[f"b{k}"])
        activation_cache = None
        if k != depth:
            h, activation_cache = act(h)
        caches.append((linear_cache, activation_cache))
    return h, caches
''',
    "network_backward": '''def network_backward(dscores, caches, activation="relu"):
    _, act_backward = ACTIVATION_LAYERS[activation]
    grads, d = {}, dscores
    for k, (linear_cache, activation_cache) in reversed(list(enumerate(caches, start=1))):
        if activation_cache is not None:
            d = act_backward(d, activation_cache)
        d, grads[f"W{k}"], grads[f"b{k}"] = linear_backward(d, linear_cache)
    return grads
''',
    "train_step": '''def train_step(params, X, y, lr, activation="relu"):
    scores, caches = network_forward(X, params, activation)
    loss, dscores = softmax_cross_entropy(scores, y)
    for name, grad in network_backward(dscores, caches, activation).items():
        params[name] -= lr * grad
    return loss
''',
    "loss_at_init": '''def loss_at_init(params, X, y, activation="relu"):
    scores, _ = network_forward(X, params, activation)
    return softmax_cross_entropy(scores, y)[0], float(np.log(scores.shape[-1]))
''',
    "overfit_tiny_batch": '''def overfit_tiny_batch(params, X, y, lr, steps, activation="relu"):
    losses = np.empty(steps)
    for t in range(steps):
        losses[t] = train_step(params, X, y, lr, activation)
    return losses
''',
    "conv1d_backward": '''def conv1d_backward(dout, cache):
    x, w, b, stride = cache
    taps = stride * np.arange(dout.shape[2])[:, None] + np.arange(w.shape[2])  # (L_out, K)
    dw = np.einsum("nol,nclk->ock", dout, x[:, :, taps])
    db = dout.sum(axis=(0, 2))
    dx = np.zeros(x.shape)
    np.add.at(dx, (slice(None), slice(None), taps), np.einsum("nol,ock->nclk", dout, w))
    return dx, dw, db
''',
    "conv1d_forward_fast": '''def conv1d_forward_fast(x, w, b, stride=1):
    n_out = (x.shape[2] - w.shape[2]) // stride + 1
    taps = np.arange(w.shape[2]) + stride * np.arange(n_out)[:, None]
    return np.einsum("nclk,ock->nol", x[:, :, taps], w) + b[:, None]
''',
    "conv2d_forward": '''def patch_index(size, kernel, stride, pad):
    n_out = (size + 2 * pad - kernel) // stride + 1
    return (stride * np.arange(n_out))[:, None] + np.arange(kernel)  # (n_out, kernel)


def conv2d_forward(x, w, b, stride=1, pad=0):
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], mode="constant")
    rows = patch_index(x.shape[2], w.shape[2], stride, pad)[:, :, None, None]
    cols = patch_index(x.shape[3], w.shape[3], stride, pad)[None, None, :, :]
    patches = padded[:, :, rows, cols]  # (N, C, H_out, HH, W_out, WW)
    out = np.einsum("nciajb,fcab->nfij", patches, w) + b[None, :, None, None]
    return out, (x, w, b, stride, pad)
''',
    "conv2d_backward": '''def conv2d_backward(dout, cache):
    x, w, b, stride, pad = cache
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], mode="constant")
    rows = patch_index(x.shape[2], w.shape[2], stride, pad)[:, :, None, None]
    cols = patch_index(x.shape[3], w.shape[3], stride, pad)[None, None, :, :]
    dw = np.einsum("nfij,nciajb->fcab", dout, padded[:, :, rows, cols])
    db = dout.sum(axis=(0, 2, 3))
    dpadded = np.zeros(padded.shape)
    np.add.at(dpadded, (slice(None), slice(None), rows, cols), np.einsum("nfij,fcab->nciajb", dout, w))
    dx = dpadded[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]].copy()
    return dx, dw, db
''',
    "SGD": '''class SGD:
    """PyTorch's momentum: the buffer starts as the first gradient (the same as from zeros)."""

    def __init__(self, params, lr, momentum=0.0):
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.buffers = {}

    def step(self, grads):
        for name, param in self.params.items():
            g = grads[name]
            if self.momentum:
                previous = self.buffers.get(name)
                g = np.array(g, dtype=np.float64) if previous is None else self.momentum * previous + g
                self.buffers[name] = g
            param -= self.lr * g
''',
    "Adagrad": '''class Adagrad:
    def __init__(self, params, lr, eps=1e-10):
        self.params = params
        self.lr = lr
        self.eps = eps
        self.state = {name: np.zeros(np.shape(value)) for name, value in params.items()}

    def step(self, grads):
        for name, param in self.params.items():
            self.state[name] += np.square(grads[name])
            param -= self.lr * grads[name] / (np.sqrt(self.state[name]) + self.eps)
''',
    "RMSprop": '''class RMSprop:
    def __init__(self, params, lr, alpha=0.99, eps=1e-8):
        self.params = params
        self.lr = lr
        self.alpha = alpha
        self.eps = eps
        self.state = {name: np.zeros(np.shape(value)) for name, value in params.items()}

    def step(self, grads):
        for name, param in self.params.items():
            avg = self.state[name]
            avg *= self.alpha
            avg += (1.0 - self.alpha) * np.square(grads[name])
            param -= self.lr * grads[name] / (np.sqrt(avg) + self.eps)
''',
    "Adam": '''class Adam:
    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.params = params
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.moments = {name: (np.zeros(np.shape(v)), np.zeros(np.shape(v))) for name, v in params.items()}
        self.steps = 0

    def step(self, grads):
        self.steps += 1
        c1, c2 = 1.0 - self.beta1 ** self.steps, 1.0 - self.beta2 ** self.steps
        for name, param in self.params.items():
            g = grads[name]
            m, v = self.moments[name]
            m = self.beta1 * m + (1.0 - self.beta1) * g
            v = self.beta2 * v + (1.0 - self.beta2) * g * g
            self.moments[name] = (m, v)
            param -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
''',
    "count_distinct_units": '''def count_distinct_units(W, atol=1e-8):
    kept = np.empty((W.shape[0], 0))
    for j in range(W.shape[1]):
        column = W[:, j:j + 1]
        if not np.any(np.all(np.abs(kept - column) <= atol, axis=0)):
            kept = np.hstack([kept, column])
    return int(kept.shape[1])
''',
    "batchnorm_forward": '''def batchnorm_forward(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
    running_mean, running_var = running
    if train:
        n = len(x)
        mu = np.mean(x, axis=0)
        centered = x - mu
        var = np.mean(centered * centered, axis=0)
        new_running = (running_mean * (1 - momentum) + mu * momentum,
                       running_var * (1 - momentum) + var * (n / (n - 1)) * momentum)
    else:
        var = running_var
        centered = x - running_mean
        new_running = (np.array(running_mean, copy=True), np.array(running_var, copy=True))
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = centered * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std, train), new_running
''',
    "batchnorm_backward": '''def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std, train = cache
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    g = dout * gamma
    if not train:
        return g * inv_std, dgamma, dbeta
    dx = inv_std * (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0))
    return dx, dgamma, dbeta
''',
    "clip_grad_norm": '''def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))
    scale = min(1.0, max_norm / (total + 1e-6))
    return {name: g * scale for name, g in grads.items()}, total
''',
    "rnn_forward": '''def rnn_forward(x, h0, Wx, Wh, b):
    projected = np.einsum("ntd,dh->nth", x, Wx) + b  # every step's input term at once
    states = [h0]
    for t in range(x.shape[1]):
        states.append(np.tanh(projected[:, t] + states[-1] @ Wh))
    if len(states) > 1:
        h = np.stack(states[1:], axis=1)
    else:
        h = np.zeros((x.shape[0], 0, Wh.shape[0]))
    return h, (x, h0, Wx, Wh, h)
''',
    "rnn_backward": '''def rnn_backward(dh, cache):
    x, h0, Wx, Wh, h = cache
    previous = np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)  # the state before each step
    dz = np.zeros(h.shape)
    carry = np.zeros(h0.shape)
    for t in range(x.shape[1] - 1, -1, -1):
        dz[:, t] = (dh[:, t] + carry) * (1.0 - h[:, t] ** 2)
        carry = dz[:, t] @ Wh.T
    dx = np.einsum("nth,dh->ntd", dz, Wx)
    dWx = np.einsum("ntd,nth->dh", x, dz)
    dWh = np.einsum("nti,nth->ih", previous, dz)
    return dx, carry, dWx, dWh, dz.sum(axis=(0, 1))
''',
})

VARIANTS["ch4_own_everything"] = (CH4, "student", [], CH4_OWN, [])
