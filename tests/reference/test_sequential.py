"""The reference Sequential (chapter 6) against PyTorch, step for step, in float64."""

import numpy as np
import pytest
import torch

from autograder import linear_from_numpy, reference_device, to_numpy, to_torch
from autograder.reference.regularization import EarlyStopping
from autograder.reference.sequential import Dense, Sequential, torch_mirror
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL

pytestmark = pytest.mark.chapter(6)


def make_model(seed=0):
    model = Sequential([Dense(16, activation="relu"), Dense(4, activation="softmax")],
                       rng=np.random.default_rng(seed))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.exercise("train_on_batch")
def test_adam_training_follows_pytorch_step_for_step():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 6)), rng.integers(0, 4, size=40)
    model = make_model()
    model.build(6)
    mirror = torch_mirror(model)
    optimizer = torch.optim.Adam(mirror.parameters(), lr=1e-3)
    for step in range(10):
        batch = slice(8 * (step % 5), 8 * (step % 5) + 8)
        loss, _ = model.train_on_batch(x[batch], y[batch])
        optimizer.zero_grad()
        torch_loss = torch.nn.functional.cross_entropy(
            mirror(to_torch(x[batch])), torch.as_tensor(y[batch], device=reference_device()))
        torch_loss.backward()
        optimizer.step()
        np.testing.assert_allclose(loss, torch_loss.item(), rtol=TORCH_RTOL, atol=TORCH_ATOL)
    np.testing.assert_allclose(model.layers[0].params["W"], to_numpy(mirror[0].weight).T,
                               rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.exercise("predict")
def test_predict_is_softmax_of_the_mirror_and_evaluate_reports_accuracy():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(12, 5)), rng.integers(0, 4, size=12)
    model = make_model(3)
    probabilities = model.predict(x)
    expected = torch.softmax(torch_mirror(model)(to_torch(x)), dim=1)
    np.testing.assert_allclose(probabilities, to_numpy(expected), rtol=TORCH_RTOL, atol=TORCH_ATOL)
    loss, accuracy = model.evaluate(x, y)
    assert accuracy == pytest.approx(np.mean(probabilities.argmax(axis=1) == y))


@pytest.mark.exercise("fit")
def test_fit_records_history_and_early_stopping_restores_the_best_weights():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(64, 6)), rng.integers(0, 4, size=64)
    model = make_model(5)
    stopper = EarlyStopping(patience=1)
    history = model.fit(x, y, epochs=30, batch_size=16, validation_data=(x[:16], y[:16] * 0),
                        callbacks=[stopper], verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) < 30, "early stopping should end training"
    assert model.evaluate(x[:16], y[:16] * 0)[0] == pytest.approx(stopper.best_loss)
    assert history.epoch == list(range(len(history.history["loss"])))
    assert history.params == {"epochs": 30, "steps": 4, "verbose": 0}


@pytest.mark.exercise("fit")
def test_training_resumes_after_early_stopping_with_sgd_like_pytorch():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(32, 5)), rng.integers(0, 4, size=32)
    model = Sequential([Dense(8, activation="tanh"), Dense(4, activation="softmax")],
                       rng=np.random.default_rng(7))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=20, batch_size=8, callbacks=[EarlyStopping(patience=1, min_delta=1e9)], verbose=0)
    mirror = torch_mirror(model)
    optimizer = torch.optim.SGD(mirror.parameters(), lr=1e-2)
    for _ in range(3):
        model.train_on_batch(x, y)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(mirror(to_torch(x)),
                                          torch.as_tensor(y, device=reference_device())).backward()
        optimizer.step()
    np.testing.assert_allclose(model.layers[0].params["W"], to_numpy(mirror[0].weight).T,
                               rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.exercise("compute_loss")
@pytest.mark.parametrize("loss_name", ["sparse_categorical_crossentropy", "mse"])
def test_every_loss_follows_plain_sgd_with_extreme_logits(loss_name):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(10, 3))
    y = rng.integers(0, 3, size=10) if loss_name != "mse" else rng.normal(size=(10, 3))
    last = "softmax" if loss_name != "mse" else None
    model = Sequential([Dense(6, activation="relu"), Dense(3, activation=last)], rng=np.random.default_rng(9))
    model.compile(optimizer="sgd", loss=loss_name)
    model.build(3)
    model.layers[1].params["W"][...] *= 100.0 if loss_name != "mse" else 1.0
    mirror = torch_mirror(model)
    optimizer = torch.optim.SGD(mirror.parameters(), lr=1e-2)
    for _ in range(3):
        with np.errstate(all="raise"):
            loss = model.train_on_batch(x, y)
        out = mirror(to_torch(x))
        torch_loss = (torch.nn.functional.mse_loss(out, to_torch(y)) if loss_name == "mse" else
                      torch.nn.functional.cross_entropy(out, torch.as_tensor(y, device=reference_device())))
        optimizer.zero_grad()
        torch_loss.backward()
        optimizer.step()
        assert loss == pytest.approx(torch_loss.item(), rel=TORCH_RTOL, abs=TORCH_ATOL)


@pytest.mark.exercise("Dense")
def test_dense_grads_are_each_calls_own():
    layer = Dense(3, activation="sigmoid")
    layer.build(2, np.random.default_rng(0))
    for seed in (1, 2):
        x = np.random.default_rng(seed).normal(size=(4, 2))
        dout = np.random.default_rng(seed + 10).normal(size=(4, 3))
        layer.forward(x)
        layer.backward(dout)
        torch_layer = linear_from_numpy(layer.params["W"], layer.params["b"])
        torch.sigmoid(torch_layer(to_torch(x))).backward(to_torch(dout))
        np.testing.assert_allclose(layer.grads["W"], to_numpy(torch_layer.weight.grad).T,
                                   rtol=TORCH_RTOL, atol=TORCH_ATOL)


def test_unknown_names_get_clear_errors():
    model = Sequential([Dense(2, activation="softmax")])
    with pytest.raises(ValueError, match="Unknown optimizer"):
        model.compile(optimizer="adamw")
    with pytest.raises(ValueError, match="Unknown loss"):
        model.compile(loss="hinge")
