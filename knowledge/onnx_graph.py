"""The embedding model's transformer as an ONNX Runtime graph, for the per-question path.

Why: under load the action server spends most of its CPU embedding questions, one or a
few short texts at a time, and at a dozen tokens PyTorch (even traced) spends about as
long dispatching operators as multiplying matrices. ONNX Runtime runs the same weights
with fused attention, GELU and layer norms: 9.4 -> 4.6-5.2 ms of CPU for a short question
and 14.3 -> 9.5 ms for a 28-token follow-up (one thread, measured on this machine), with
token states equal to PyTorch's up to float rounding (pooled vectors within 2e-7).

The graph is exported from the loaded PyTorch model (no download: the weights are the
packaged ones), once per model, torch and onnxruntime version, and kept in a cache folder
so later starts load it in a second. Before use it is checked against the eager model on
texts of several lengths, padded and unpadded; any failure leaves the caller on PyTorch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# Bump when the export below changes, so cached graphs from an older export are not used.
EXPORT_VERSION = "1"
# Token states may differ from eager PyTorch by float rounding only (seen: ~1e-6).
TOLERANCE = 1e-4
_OPTIMIZER_LOGGERS = ("fusion_base", "fusion_utils", "onnx_model", "onnx_model_bert", "fusion_options")
CHECK_TEXTS = (
    ["warm up"],
    ["how do i reset my password " * 4],
    ["how do i reset my password", "refund"],
    ["a", "do you ship to canada and how long does it take " * 3, "can i pay by invoice instead of card"],
)


def cache_dir() -> Path:
    configured = os.environ.get("KB_MODEL_CACHE", "").strip()
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nimbus-support-bot" / "onnx"


class OnnxStates:
    """Callable like the traced graph: (input_ids[, attention_mask]) -> token states.

    Takes and returns torch tensors so the embedder's pooling code is shared by every
    backend; the conversion is zero-copy both ways.
    """

    def __init__(self, torch, path: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._torch = torch

    def __call__(self, input_ids, attention_mask=None):
        ids = input_ids.numpy().astype(np.int64, copy=False)
        mask = (
            np.ones_like(ids)
            if attention_mask is None
            else attention_mask.numpy().astype(np.int64, copy=False)
        )
        states = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return self._torch.from_numpy(states)


def load(torch, bert, tokenizer, max_length: int, model_dir: str) -> OnnxStates | None:
    """The checked ONNX graph for `bert`, exported on first use; None to stay on PyTorch."""
    try:
        import onnxruntime
    except ImportError:
        log.info("onnxruntime is not installed; embedding questions with PyTorch")
        return None
    try:
        path = cache_dir() / f"{_fingerprint(torch, onnxruntime, model_dir)}.onnx"
        graph = None
        if path.is_file():
            try:
                graph = OnnxStates(torch, path)
            except Exception as exc:  # noqa: BLE001 - e.g. a truncated file: export it again
                log.warning("cached ONNX graph %s unreadable (%s); exporting it again", path, exc)
        if graph is None:
            _export(torch, bert, tokenizer, path)
            graph = OnnxStates(torch, path)
        if not _agrees(torch, graph, bert, tokenizer, max_length):
            log.warning("ONNX graph of the embedding model disagrees with PyTorch; using PyTorch")
            return None
        return graph
    except Exception as exc:  # noqa: BLE001 - a speed-up only: PyTorch still answers
        log.warning("ONNX graph of the embedding model unavailable (%s); using PyTorch", exc)
        return None


def _fingerprint(torch, onnxruntime, model_dir: str) -> str:
    """Names the export after what it was made from, so a changed model is re-exported."""
    digest = hashlib.sha256(f"{EXPORT_VERSION}|{torch.__version__}|{onnxruntime.__version__}".encode())
    root = Path(model_dir)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    for file in files:
        if file.suffix in {".safetensors", ".bin", ".json", ".txt"}:
            stat = file.stat()
            digest.update(f"{file.relative_to(root)}|{stat.st_size}".encode())
            if file.suffix in {".safetensors", ".bin"}:
                with file.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
    return digest.hexdigest()[:16]


def export_states(torch, bert, tokenizer, path: Path) -> None:
    """The unfused graph of the token states, exported with eager attention.

    The model object is shared with ingestion, so its attention implementation is put
    back afterwards: document vectors stay exactly what they were. `bench/embedding_int8.py`
    quantizes this same graph.
    """
    sample = tokenizer(["how do i reset my password", "hello"], padding=True, return_tensors="pt")

    class _States(torch.nn.Module):
        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    previous = getattr(bert.config, "_attn_implementation", None)
    try:
        _set_attention(bert, "eager")
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _States(bert).eval(),
                (sample["input_ids"], sample["attention_mask"]),
                str(path),
                dynamo=False,
                input_names=["input_ids", "attention_mask"],
                output_names=["states"],
                dynamic_axes={
                    name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "states")
                },
                opset_version=17,
            )
    finally:
        if previous:
            _set_attention(bert, previous)


def _export(torch, bert, tokenizer, path: Path) -> None:
    """Export with eager attention (ONNX Runtime fuses that pattern), then fuse for BERT."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as work:
        raw = Path(work) / "raw.onnx"
        export_states(torch, bert, tokenizer, raw)
        out = Path(work) / "graph.onnx"
        # The optimiser reports every fusion at INFO on loggers of its own.
        chatty = [logging.getLogger(name) for name in _OPTIMIZER_LOGGERS]
        levels = [logger.level for logger in chatty]
        try:
            for logger in chatty:
                logger.setLevel(logging.WARNING)
            from onnxruntime.transformers import optimizer

            config = bert.config
            fused = optimizer.optimize_model(
                str(raw),
                model_type="bert",
                num_heads=config.num_attention_heads,
                hidden_size=config.hidden_size,
            )
            fused.save_model_to_file(str(out))
        except Exception as exc:  # noqa: BLE001 - the unfused graph is as exact, a bit slower
            log.info("ONNX fusion skipped (%s)", exc)
            raw.replace(out)
        finally:
            for logger, level in zip(chatty, levels, strict=True):
                logger.setLevel(level)
        # Atomic: a second action server starting at the same moment sees all or nothing.
        os.replace(out, path)
    log.info("exported the embedding model to %s", path)


def _set_attention(bert, name: str) -> None:
    if hasattr(bert, "set_attn_implementation"):
        bert.set_attn_implementation(name)
    else:
        bert.config._attn_implementation = name


def _agrees(torch, graph: OnnxStates, bert, tokenizer, max_length: int) -> bool:
    """Same token states as eager PyTorch on real positions, up to float rounding."""
    texts = [*CHECK_TEXTS, ["word " * (max_length + 8)]]
    with torch.inference_mode():
        for batch in texts:
            tokens = tokenizer(
                batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
            )
            ids, mask = tokens["input_ids"], tokens["attention_mask"]
            eager = bert(input_ids=ids, attention_mask=mask).last_hidden_state
            got = graph(ids, mask) if len(batch) > 1 else graph(ids)
            keep = mask.bool()
            if got.shape != eager.shape or not torch.allclose(
                got[keep], eager[keep], atol=TOLERANCE, rtol=TOLERANCE
            ):
                return False
    return True
