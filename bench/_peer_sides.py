"""The two sides of ``peer_litert.py``, each run as a process of its own.

    python _peer_sides.py litert-convert DATA OUT       # OUT/head.tflite (TensorFlow's venv)
    python _peer_sides.py litert-train DATA MODEL OUT   # (TensorFlow's venv)
    python _peer_sides.py edgekit-train DATA BUNDLE OUT # (edgekit's venv)

At module level only numpy and the standard library are imported: the LiteRT modes import
TensorFlow (never torch, executorch or edgekit), the edgekit mode torch and edgekit's device
code (never TensorFlow). ``DATA`` is the ``.npz`` the parent wrote: features, labels, batches,
initial weights and SGD settings, the same for both.

``litert-convert`` builds the head as TensorFlow's on-device training guide does: a
``tf.Module`` with four ``tf.function`` signatures, ``train`` (one SGD step with momentum and
gradient-norm clipping; returns the loss), ``infer`` (logits and probabilities), ``save`` and
``restore`` (the weights to and from a checkpoint file, ``tf.raw_ops.Save`` / ``Restore``); it
writes a SavedModel and converts it with ``TFLiteConverter.from_saved_model``, builtin and select
TensorFlow (Flex) ops enabled, resource variables on. ``litert-train`` loads the ``.tflite`` into
``tf.lite.Interpreter`` (one thread; the interpreter of the pinned pip package links the Flex
delegate) and runs the batches. ``edgekit-train`` runs the bundle's own program through
edgekit's device code (``BundleProgram``: ``train_step`` stepped by ``JointMethod`` as the
``Learner`` does, SGD in the runtime; ``classify`` for inference). Every mode prints one JSON
object as its last line.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def memory_mb() -> dict[str, float]:
    """Resident (VmRSS) and peak resident (VmHWM) memory of this process, in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return fields


def tensorflow() -> Any:
    """TensorFlow with one thread for its own runtime (the Flex ops run on it), imported here so
    that this file type-checks where TensorFlow is not installed."""
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++ info lines
    return importlib.import_module("tensorflow")


def build_module(tf: Any, data: Any) -> Any:
    """The head ``x @ w + b`` with its optimiser state and the four signatures."""
    batch, features = data["batches"].shape[1], data["w0"].shape[0]
    lr, momentum, clip = (float(data[k]) for k in ("lr", "momentum", "clip_norm"))

    class Head(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(data["w0"], name="w")
            self.b = tf.Variable(data["b0"], name="b")
            self.vw = tf.Variable(np.zeros_like(data["w0"]), name="momentum_w")
            self.vb = tf.Variable(np.zeros_like(data["b0"]), name="momentum_b")

        @tf.function(
            input_signature=[
                tf.TensorSpec([batch, features], tf.float32),
                tf.TensorSpec([batch], tf.int64),
            ]
        )
        def train(self, x: Any, y: Any) -> dict[str, Any]:
            with tf.GradientTape() as tape:
                logits = tf.matmul(x, self.w) + self.b
                loss = tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
                )
            grads = tape.gradient(loss, [self.w, self.b])
            if clip > 0:  # the same rule as edgekit's: rescale when the global norm exceeds it
                grads, _ = tf.clip_by_global_norm(grads, clip)
            # PyTorch's SGD with momentum (dampening 0), as edgekit's runtime optimiser does it
            self.vw.assign(momentum * self.vw + grads[0])
            self.vb.assign(momentum * self.vb + grads[1])
            self.w.assign_sub(lr * self.vw)
            self.b.assign_sub(lr * self.vb)
            return {"loss": loss}

        @tf.function(input_signature=[tf.TensorSpec([None, features], tf.float32)])
        def infer(self, x: Any) -> dict[str, Any]:
            logits = tf.matmul(x, self.w) + self.b
            return {"logits": logits, "probabilities": tf.nn.softmax(logits, axis=-1)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def save(self, path: Any) -> dict[str, Any]:
            tf.raw_ops.Save(
                filename=path,
                tensor_names=["w", "b"],
                data=[self.w.read_value(), self.b.read_value()],
                name="save",
            )
            return {"path": path}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def restore(self, path: Any) -> dict[str, Any]:
            w = tf.raw_ops.Restore(file_pattern=path, tensor_name="w", dt=tf.float32)
            b = tf.raw_ops.Restore(file_pattern=path, tensor_name="b", dt=tf.float32)
            self.w.assign(w)
            self.b.assign(b)
            return {"w": w, "b": b}

    return Head()


def signature_ops(tf: Any, model: bytes) -> dict[str, list[str]]:
    """The operators of each signature's subgraph, read from TFLite's model analyzer."""
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        tf.lite.experimental.Analyzer.analyze(model_content=model)
    ops: dict[str, list[str]] = {}
    current = None
    for line in text.getvalue().splitlines():
        head = re.match(r"Subgraph#\d+ (\w+)\(", line)
        if head:
            current = head.group(1)
            ops[current] = []
        op = re.match(r"\s+Op#\d+ (\w+)\(", line)
        if op and current is not None and op.group(1) not in ops[current]:
            ops[current].append(op.group(1))
    return {k: v for k, v in ops.items() if k in ("train", "infer", "save", "restore")}


def litert_convert(data_path: str, out: str) -> dict[str, Any]:
    start = time.perf_counter()
    tf = tensorflow()
    data = np.load(data_path)
    module = build_module(tf, data)
    saved = Path(out) / "saved_model"
    signatures = {
        name: getattr(module, name).get_concrete_function()
        for name in ("train", "infer", "save", "restore")
    }
    tf.saved_model.save(module, str(saved), signatures=signatures)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS,
        tf.lite.OpsSet.SELECT_TF_OPS,
    ]
    converter.experimental_enable_resource_variables = True
    model = converter.convert()
    (Path(out) / "head.tflite").write_bytes(model)
    ops = signature_ops(tf, model)
    return {
        "convert_s": time.perf_counter() - start,  # the TensorFlow import included
        "model_bytes": len(model),
        "ops": ops,
        "flex_ops": {k: [o for o in v if o.startswith("Flex")] for k, v in ops.items()},
        "tensorflow": tf.__version__,
    }


def run_epochs(
    data: Any, step: Callable[[np.ndarray, np.ndarray], float]
) -> tuple[list[float], list[float], float]:
    """Every batch of ``data`` through ``step(x, y) -> loss``, each call timed apart:
    ``(seconds per step, mean loss per epoch, seconds in all)``. Gathering a batch's rows is
    left out of the step's time."""
    train_x, train_y = data["train_x"], data["train_y"]
    times, losses = [], []
    start = time.perf_counter()
    for idx in data["batches"]:
        x, y = train_x[idx], train_y[idx]
        t0 = time.perf_counter()
        loss = step(x, y)
        times.append(time.perf_counter() - t0)
        losses.append(loss)
    total = time.perf_counter() - start
    per_epoch = int(data["steps_per_epoch"])
    epochs = [float(np.mean(losses[i : i + per_epoch])) for i in range(0, len(losses), per_epoch)]
    return times, epochs, total


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return 100.0 * float((np.asarray(logits).argmax(1) == labels).mean())


def side_result(
    trained: tuple[list[float], list[float], float],
    logits: np.ndarray,
    again: np.ndarray,
    labels: np.ndarray,
    checkpoint: Path,
    after_import: float,
    peak: float,
) -> dict[str, Any]:
    """What each side reports: ``run_epochs``' times and losses, the accuracy of the trained
    weights (``logits``) and of the same weights saved and restored (``again``), the
    checkpoint's size, and memory (MB) after the imports and at the peak."""
    times, epoch_loss, train_s = trained
    return {
        "step_s": times,
        "epoch_loss": epoch_loss,
        "train_s": train_s,
        "acc": accuracy(logits, labels),
        "restored_acc": accuracy(again, labels),
        "restored_same_logits": bool(np.array_equal(logits, again)),
        "checkpoint_bytes": checkpoint.stat().st_size,
        "rss_after_import_mb": after_import,
        "peak_mb": peak,
    }


def litert_train(data_path: str, model_path: str, out: str) -> dict[str, Any]:
    tf = tensorflow()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    after_import = memory_mb()["VmRSS"]
    data = np.load(data_path)

    def interpreter() -> Any:
        return tf.lite.Interpreter(model_path=model_path, num_threads=1)

    runner = interpreter()
    train, infer = runner.get_signature_runner("train"), runner.get_signature_runner("infer")
    trained = run_epochs(data, lambda x, y: float(train(x=x, y=y)["loss"]))
    logits = infer(x=data["test_x"])["logits"]
    checkpoint = Path(out) / "litert.ckpt"
    path = np.array(str(checkpoint), dtype=np.bytes_)
    runner.get_signature_runner("save")(path=path)
    fresh = interpreter()  # a new interpreter starts from the initial weights, then restores
    restored = fresh.get_signature_runner("restore")(path=path)
    again = fresh.get_signature_runner("infer")(x=data["test_x"])["logits"]
    np.savez(Path(out) / "litert-weights.npz", w=restored["w"], b=restored["b"])
    peak = memory_mb()["VmHWM"]
    return side_result(trained, logits, again, data["test_y"], checkpoint, after_import, peak)


def edgekit_train(data_path: str, bundle: str, out: str) -> dict[str, Any]:
    import torch

    from edgekit.device.program import BundleProgram
    from edgekit.export.manifest import read_manifest
    from edgekit.runtime import PORTABLE_LIB, runtime_module

    torch.set_num_threads(1)
    runtime_module(PORTABLE_LIB)._unsafe_reset_threadpool(1)
    after_import = memory_mb()["VmRSS"]
    data = np.load(data_path)
    manifest = read_manifest(Path(bundle))
    program = BundleProgram(Path(bundle), manifest)
    mask = torch.zeros(manifest.max_classes)
    mask[: len(manifest.labels)] = 1.0
    joint = program.joint("train_step", mask)
    # the head's two tensors: its weight stored transposed (in, out), and its bias
    initial = {n: data["w0"] if p.dim() == 2 else data["b0"] for n, p in joint.params.items()}
    joint.load({n: torch.from_numpy(a) for n, a in initial.items()})
    joint.set_optimizer(float(data["lr"]), float(data["momentum"]))
    clip = float(data["clip_norm"]) or None

    def step(x: np.ndarray, y: np.ndarray) -> float:
        inputs = (*program.parts(x), torch.from_numpy(y), mask)
        return float(joint.step(inputs, clip)[0])

    run = run_epochs(data, step)
    names = [t["name"] for t in manifest.trainable]  # classify's order
    trained = joint.read()
    logits = program.classify(data["test_x"], mask, [trained[n] for n in names])
    checkpoint = Path(out) / "edgekit-weights.npz"
    np.savez(checkpoint, **{n: t.numpy() for n, t in trained.items()})  # type: ignore[arg-type]
    with np.load(checkpoint) as saved:
        restored = {n: torch.from_numpy(saved[n]) for n in names}
    again = program.classify(data["test_x"], mask, [restored[n] for n in names])
    peak = memory_mb()["VmHWM"]  # before the second copy of the program below

    # The runtime's part of a step: the program's train_step (forward + backward, no update)
    # called on the raw runtime module, without what edgekit's device code does around it
    # (finite checks, clipping, copies of the outputs, silencing the runtime's log lines).
    pte = (Path(bundle) / "model.pte").read_bytes()
    raw = runtime_module(PORTABLE_LIB)._load_for_executorch_from_buffer(pte)

    def call(x: np.ndarray, y: np.ndarray) -> float:
        inputs = (*program.parts(x), torch.from_numpy(y), mask)
        return float(raw.run_method("train_step", inputs, clone_outputs=False)[0])

    calls = run_epochs(data, call)[0]
    result = side_result(run, logits, again, data["test_y"], checkpoint, after_import, peak)
    result["runtime_call_s"] = calls
    return result


MODES: dict[str, Callable[..., dict[str, Any]]] = {
    "litert-convert": litert_convert,
    "litert-train": litert_train,
    "edgekit-train": edgekit_train,
}


def main() -> None:
    mode, *args = sys.argv[1:]
    print(json.dumps(MODES[mode](*args)))


if __name__ == "__main__":
    main()
