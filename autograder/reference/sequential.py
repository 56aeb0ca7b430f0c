"""A Keras-style ``Sequential`` of ``Dense`` layers on chapter 4's layers (chapter 6's capstone).

The reference that chapter 6's hidden tests build their models from, so that a
broken ``Dense`` in a notebook costs only its own points. The visible tests, which a
learner runs before this module is released to the class, use the notebook's own
PyTorch-backed layers instead. ``torch_mirror(model)`` (from ``autograder.torch_ref``,
re-exported here) is the float64 PyTorch copy of any such model.

The protocol between a model and its layers (what ``Sequential`` may use):

- ``layer.units``, ``layer.activation`` (``"linear" "relu" "sigmoid" "tanh" "softmax"``),
  ``layer.trainable`` (a frozen layer is not updated by ``fit``);
- ``layer.params``: ``None`` until ``build``, then ``{"W": (D, M), "b": (M,)}``;
- ``layer.build(input_dim, rng)``: ``W = xavier_uniform(input_dim, units, rng)``
  (Keras' default ``glorot_uniform``), ``b = 0``;
- ``out = layer.forward(x)`` keeps what backward needs, and the logits
  ``layer.logits = x @ W + b`` (before the activation);
- ``dx = layer.backward(dout, through_activation=True)`` sets ``layer.grads``
  (keyed like ``params``). With ``through_activation=False`` ``dout`` is the
  gradient with respect to the logits (softmax and cross-entropy fused).

Weights are (in, out); ``torch.nn.Linear.weight`` is (out, in).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

# It lives in torch_ref, which every release ships: chapter 6's visible tests use it
# while this module is still withheld (a release of chapters 1-6 ships the library of 1-5).
from ..torch_ref import torch_mirror  # noqa: F401  (re-exported)
from .data import iterate_minibatches
from .init import xavier_uniform
from .layers import (
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_cross_entropy,
    tanh_backward,
    tanh_forward,
)
from .losses import mse_loss, mse_loss_grad, softmax
from .optimizers import SGD, Adagrad, Adam, Optimizer, RMSprop

__all__ = ["Dense", "Sequential", "History", "torch_mirror", "ACTIVATIONS", "OPTIMIZERS"]

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")

# Keras' default learning rates; the other settings are PyTorch's (Adam's eps is 1e-8,
# Keras' 1e-7), so that a model compiled here follows its torch.optim namesake.
OPTIMIZERS: dict[str, Callable[[dict[str, np.ndarray]], Optimizer]] = {
    "adam": lambda params: Adam(params, lr=1e-3),
    "sgd": lambda params: SGD(params, lr=1e-2),
    "rmsprop": lambda params: RMSprop(params, lr=1e-3),
    "adagrad": lambda params: Adagrad(params, lr=1e-3),
}
LOSSES = ("sparse_categorical_crossentropy", "mse")


class Dense:
    """A fully connected layer ``activation(x @ W + b)`` whose input size is found at build time."""

    def __init__(self, units: int, activation: str | None = None) -> None:
        activation = "linear" if activation is None else activation
        if activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {activation!r}; choose one of {ACTIVATIONS}.")
        self.units = int(units)
        self.activation = activation
        self.trainable = True
        self.params: dict[str, np.ndarray] | None = None
        self.grads: dict[str, np.ndarray] | None = None
        self.logits: np.ndarray | None = None
        self.cache: Any = None

    def build(self, input_dim: int, rng: np.random.Generator) -> None:
        """W: (input_dim, units) Glorot uniform from ``rng``; b: (units,) zeros."""
        self.params = {"W": xavier_uniform(input_dim, self.units, rng), "b": np.zeros(self.units)}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, D) -> (N, units)."""
        if self.params is None:
            raise RuntimeError("Dense.forward before build(input_dim, rng).")
        z, linear_cache = linear_forward(x, self.params["W"], self.params["b"])
        if self.activation == "relu":
            out, activation_cache = relu_forward(z)
        elif self.activation == "sigmoid":
            out, activation_cache = sigmoid_forward(z)
        elif self.activation == "tanh":
            out, activation_cache = tanh_forward(z)
        elif self.activation == "softmax":
            out = softmax(z)
            activation_cache = out
        else:
            out, activation_cache = z, None
        self.logits = z
        self.cache = (linear_cache, activation_cache)
        return out

    def backward(self, dout: np.ndarray, through_activation: bool = True) -> np.ndarray:
        """dout: (N, units), dL/d(output), or dL/d(logits) when ``through_activation`` is False.

        Sets ``self.grads = {"W": (D, units), "b": (units,)}``; returns dx: (N, D).
        """
        linear_cache, activation_cache = self.cache
        if not through_activation or self.activation == "linear":
            dz = dout
        elif self.activation == "relu":
            dz = relu_backward(dout, activation_cache)
        elif self.activation == "sigmoid":
            dz = sigmoid_backward(dout, activation_cache)
        elif self.activation == "tanh":
            dz = tanh_backward(dout, activation_cache)
        else:  # softmax: the Jacobian diag(s) - s s^T applied to each row of dout
            s = activation_cache
            dz = s * (dout - np.sum(dout * s, axis=1, keepdims=True))
        dx, dW, db = linear_backward(dz, linear_cache)
        self.grads = {"W": dW, "b": db}
        return dx


class History:
    """What ``fit`` returns, as in Keras.

    ``history`` maps a metric's name to its per-epoch values; ``epoch`` lists the epochs run
    (0, 1, ...); ``params`` is ``{"epochs": asked, "steps": batches per epoch, "verbose": ...}``.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params: dict[str, int] = {}


class Sequential:
    """A stack of layers trained like Keras: ``compile``, then ``fit``, ``evaluate``, ``predict``.

    rng: the one source of randomness (initial weights at build, batch order in fit);
    ``None`` draws a fresh unseeded generator, as Keras does.

    The model's protocol (what chapter 6's functions ``predict``, ``compute_loss``,
    ``train_on_batch``, ``evaluate`` and ``fit`` may use): ``layers``, ``rng``, ``built``,
    ``build(input_dim)``, ``loss``, ``metrics``, ``optimizer`` (``None`` until the first
    step), ``make_optimizer(params)``, ``trainable_params()``, ``results(loss, out, y)`` and
    the five methods themselves.
    """

    def __init__(self, layers: Sequence[Any], rng: np.random.Generator | None = None) -> None:
        self.layers = list(layers)
        self.rng = rng if rng is not None else np.random.default_rng()
        self.built = False
        self.loss: str | None = None
        self.metrics: list[str] = []
        self.optimizer: Optimizer | None = None
        self.make_optimizer: Callable[[dict[str, np.ndarray]], Optimizer] | None = None

    def build(self, input_dim: int) -> None:
        """Build every layer in order; a layer that already has parameters keeps them."""
        for layer in self.layers:
            if layer.params is None:
                layer.build(input_dim, self.rng)
            input_dim = layer.units
        self.built = True

    def trainable_params(self) -> dict[str, np.ndarray]:
        """``{"0.W": ..., "0.b": ..., "1.W": ...}``: the live arrays of the trainable layers."""
        return {f"{i}.{name}": value for i, layer in enumerate(self.layers) if layer.trainable
                for name, value in layer.params.items()}

    def compile(self, optimizer: str | Callable[[dict[str, np.ndarray]], Optimizer] = "adam",
                loss: str = "sparse_categorical_crossentropy",
                metrics: Sequence[str] | None = None) -> None:
        if isinstance(optimizer, str):
            if optimizer not in OPTIMIZERS:
                raise ValueError(f"Unknown optimizer {optimizer!r}; choose one of {list(OPTIMIZERS)}.")
            optimizer = OPTIMIZERS[optimizer]
        if loss not in LOSSES:
            raise ValueError(f"Unknown loss {loss!r}; choose one of {LOSSES}.")
        metrics = list(metrics or [])
        if any(m != "accuracy" for m in metrics) or (metrics and loss != LOSSES[0]):
            raise ValueError("The only metric is 'accuracy', with the cross-entropy loss.")
        self.make_optimizer, self.loss, self.metrics = optimizer, loss, metrics
        self.optimizer = None  # made at the first training step, once the weights exist

    def results(self, loss: float, out: np.ndarray, y: np.ndarray) -> float | tuple[float, float]:
        """What evaluate and train_on_batch return: loss, or (loss, accuracy) with ["accuracy"]."""
        if "accuracy" in self.metrics:
            return float(loss), float(np.mean(np.argmax(out, axis=1) == y))
        return float(loss)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """x: (N, D) -> the last layer's output, (N, units) (probabilities for a softmax)."""
        x = np.asarray(x, dtype=np.float64)
        if not self.built:
            self.build(x.shape[1])
        out = x
        for layer in self.layers:
            out = layer.forward(out)
        return out

    def compute_loss(self, out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, bool]:
        """(loss, its gradient, whether the gradient is with respect to the last logits).

        Cross-entropy from the last layer's logits (stable, gradient (p - onehot(y)) / N);
        "mse": the mean over all N * units entries, gradient 2 (out - y) / (N * units).
        """
        if self.loss == "mse":
            return float(mse_loss(out, y)), mse_loss_grad(out, y), False
        if self.layers[-1].activation != "softmax":
            raise ValueError("sparse_categorical_crossentropy needs a softmax last layer.")
        loss, dlogits = softmax_cross_entropy(self.layers[-1].logits, y)
        return float(loss), dlogits, True

    def train_on_batch(self, x: np.ndarray, y: np.ndarray) -> float | tuple[float, float]:
        """One gradient step on (x, y); returns the loss (and accuracy) before the step."""
        if self.make_optimizer is None:
            raise RuntimeError("compile the model before training it.")
        out = self.predict(x)
        loss, grad, wrt_logits = self.compute_loss(out, y)
        for layer in reversed(self.layers):
            grad = layer.backward(grad, through_activation=not wrt_logits)
            wrt_logits = False
        if self.optimizer is None:
            self.optimizer = self.make_optimizer(self.trainable_params())
        self.optimizer.step({f"{i}.{name}": g for i, layer in enumerate(self.layers)
                             if layer.trainable for name, g in layer.grads.items()})
        return self.results(loss, out, y)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> float | tuple[float, float]:
        """The loss (and accuracy) on (x, y) with the current weights."""
        out = self.predict(x)
        return self.results(self.compute_loss(out, y)[0], out, y)

    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int = 1, batch_size: int = 32,
            validation_data: tuple[np.ndarray, np.ndarray] | None = None,
            callbacks: Sequence[Any] | None = None, verbose: int = 1) -> History:
        """Train for ``epochs`` passes over shuffled mini-batches; return the per-epoch History.

        Batches: ``iterate_minibatches(x, y, batch_size, self.rng)``, one permutation per
        epoch. ``loss``/``accuracy``: means over the epoch's examples, each batch's taken
        before its step. Callbacks get ``step(val_loss or loss, trainable_params())``; when
        one says stop, its ``best_params`` are copied back into the model's own arrays (in
        place, so that the optimizer keeps updating them) and fit returns. ``verbose``: one
        tqdm bar for the whole fit, an epoch a step, the metrics in its postfix.
        """
        history = History()
        names = ["loss", *self.metrics]
        if validation_data is not None:
            names += [f"val_{name}" for name in names]
        history.history = {name: [] for name in names}
        history.params = {"epochs": epochs, "steps": -(-len(x) // batch_size), "verbose": verbose}
        bar = tqdm(total=epochs, desc="fit", unit="epoch") if verbose else None
        for epoch in range(epochs):
            totals, seen = np.zeros(len(self.metrics) + 1), 0
            for x_batch, y_batch in iterate_minibatches(x, y, batch_size, self.rng):
                totals += np.atleast_1d(self.train_on_batch(x_batch, y_batch)) * len(x_batch)
                seen += len(x_batch)
            values = list(totals / seen)
            if validation_data is not None:
                values += list(np.atleast_1d(self.evaluate(*validation_data)))
            for name, value in zip(names, values):
                history.history[name].append(float(value))
            history.epoch.append(epoch)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({name: round(float(v), 4) for name, v in zip(names, values)})
            monitored = history.history["val_loss" if validation_data is not None else "loss"][-1]
            stops = [cb.step(monitored, self.trainable_params()) for cb in callbacks or []]
            if any(stops):
                stopper = callbacks[stops.index(True)]
                for name, value in self.trainable_params().items():
                    value[...] = stopper.best_params[name]
                break
        if bar is not None:
            bar.close()
        return history
