"""Per-question cost of a model's transformer in ONNX Runtime, fp32 vs dynamic int8 (issue 17).

Exports the model (a name `knowledge.embedding.model_path` knows) to ONNX unfused, then
quantizes its weight MatMuls with `onnxruntime.quantization.quantize_dynamic` in three
ways: per tensor, per channel, and per channel leaving the feed-forward output MatMuls
in fp32 (the ones that moved MPNet's vectors most). For the first 60 English tune-part
questions, one thread, it prints p50 latency and the cosine of each graph's mean-pooled
vector to eager PyTorch's. The int8 graphs are written to `--out` so that
`bench/embedding_models.py --query-graph MODEL=PATH` can check their rankings.

Usage:
  HF_HUB_OFFLINE=1 .venv-actions/bin/python bench/embedding_int8.py --model all-mpnet-base-v2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from knowledge import onnx_graph  # noqa: E402
from knowledge.embedding import Embedder  # noqa: E402
from knowledge.evaluation import load_labelled  # noqa: E402


def quantized(raw: Path, out: Path, per_channel: bool, keep_ffn_output: bool) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(raw), load_external_data=False)
    weights = {i.name for i in graph.graph.initializer}
    matmuls = [n.name for n in graph.graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    exclude = [n for n in matmuls if "/output/dense" in n and "attention" not in n] if keep_ffn_output else []
    quantize_dynamic(
        str(raw),
        str(out),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=exclude,
        per_channel=per_channel,
        # The export's shapes are not all inferred; every tensor here is float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return out


def main() -> int:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="all-mpnet-base-v2")
    parser.add_argument("--out", default="/tmp/kb-embedding-int8")
    parser.add_argument("--questions", type=int, default=60)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    embedder = Embedder(args.model, onnx=False)
    torch.set_num_threads(1)
    bert, tokenizer = embedder._bert, embedder._tokenizer
    stem = Path(embedder._model_dir).name
    raw = out / f"{stem}-fp32.onnx"
    if not raw.exists():
        onnx_graph.export_states(torch, bert, tokenizer, raw)
    graphs = {"fp32": raw}
    for name, per_channel, keep in (
        ("int8 per tensor", False, False),
        ("int8 per channel", True, False),
        ("int8 per channel, FFN output fp32", True, True),
    ):
        path = out / f"{stem}-{name.replace(' ', '-').replace(',', '')}.onnx"
        graphs[name] = path if path.exists() else quantized(raw, path, per_channel, keep)
    questions = [q.q for q in load_labelled() if q.part == "tune" and q.lang == "en"][: args.questions]
    ids = [tokenizer(q, return_tensors="pt")["input_ids"] for q in questions]

    def pooled(states) -> np.ndarray:
        vector = states[0].mean(0)
        return (vector / vector.norm()).numpy()

    with torch.inference_mode():
        eager = [pooled(bert(input_ids=i).last_hidden_state) for i in ids]
        timings = [(time.perf_counter(), bert(input_ids=i), time.perf_counter()) for i in ids]
        eager_ms = statistics.median((b - a) * 1000 for a, _, b in timings)
        tokens = statistics.median(i.shape[1] for i in ids)
        print(f"{args.model}: {len(ids)} questions, median {tokens} tokens")
        print(f"{'graph':<36}{'p50 ms':>8}{'cos min':>9}{'cos median':>11}{'MB':>6}")
        print(f"{'eager PyTorch':<36}{eager_ms:>8.1f}{1.0:>9.4f}{1.0:>11.4f}")
        for name, path in graphs.items():
            graph = onnx_graph.OnnxStates(torch, path)
            graph(ids[0])
            times, cosines = [], []
            for i, want in zip(ids, eager, strict=True):
                started = time.perf_counter()
                states = graph(i)
                times.append((time.perf_counter() - started) * 1000)
                cosines.append(float(np.dot(pooled(states), want)))
            print(
                f"{name:<36}{statistics.median(times):>8.1f}{min(cosines):>9.4f}"
                f"{statistics.median(cosines):>11.4f}{path.stat().st_size >> 20:>6}  {path}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
