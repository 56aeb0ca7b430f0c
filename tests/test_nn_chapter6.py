"""The reference Sequential (chapter 6) against PyTorch, step for step, in float64."""

import numpy as np
import pytest
import torch

from autograder import reference_device, to_numpy, to_torch
from autograder.reference.regularization import EarlyStopping
from autograder.reference.sequential import Dense, Sequential, torch_mirror
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL


def make_model(seed=0):
    model = Sequential([Dense(16, activation="relu"), Dense(4, activation="softmax")],
                       rng=np.random.default_rng(seed))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


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


def test_predict_is_softmax_of_the_mirror_and_evaluate_reports_accuracy():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(12, 5)), rng.integers(0, 4, size=12)
    model = make_model(3)
    probabilities = model.predict(x)
    expected = torch.softmax(torch_mirror(model)(to_torch(x)), dim=1)
    np.testing.assert_allclose(probabilities, to_numpy(expected), rtol=TORCH_RTOL, atol=TORCH_ATOL)
    loss, accuracy = model.evaluate(x, y)
    assert accuracy == pytest.approx(np.mean(probabilities.argmax(axis=1) == y))


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


def test_unknown_names_get_clear_errors():
    model = Sequential([Dense(2, activation="softmax")])
    with pytest.raises(ValueError, match="Unknown optimizer"):
        model.compile(optimizer="adamw")
    with pytest.raises(ValueError, match="Unknown loss"):
        model.compile(loss="hinge")
