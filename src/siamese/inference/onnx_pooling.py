"""Make max pooling in an ONNX graph exported from JAX runnable by ONNX Runtime.

On the JAX backend Keras converts with jax2onnx, which writes a 2D max pooling over
channels-last images (`lax.reduce_window` with window (1, kh, kw, 1)) as a MaxPool over
four "spatial" axes of a (1, 1, N, H, W, C) tensor. That is valid ONNX, but ONNX Runtime
pools over at most three axes and refuses it ("Unsupported pooling size"). Each such node
becomes the same pooling on channels-first images:

    (1, 1, N, H, W, C) -Squeeze-> (N, H, W, C) -Transpose-> (N, C, H, W) -MaxPool(kh, kw)->
    (N, C, H', W') -Transpose-> (N, H', W', C) -Unsqueeze-> (1, 1, N, H', W', C)

Graphs from tf2onnx (channels-first MaxPool with a 2D kernel) have no such node and are left
as they are. The export's check against Keras covers the result like any other export.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper


def split_channels_last_max_pools(model: onnx.ModelProto) -> int:
    """Rewrite, in place, each 4-axis MaxPool that pools over (H, W) only; returns how many."""
    graph = model.graph
    nodes, rewritten = [], 0
    for node in graph.node:
        replacement = _as_2d_pool(graph, node, f"{node.name or node.output[0]}_2d")
        nodes.extend(replacement or [node])
        rewritten += replacement is not None
    if rewritten:
        del graph.node[:]
        graph.node.extend(nodes)
    return rewritten


def _as_2d_pool(graph: onnx.GraphProto, node: onnx.NodeProto, name: str) -> list | None:
    """The nodes that replace `node`, or None when it is not a channels-last 2D max pooling."""
    if node.op_type != "MaxPool":
        return None
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    kernel = list(attributes.get("kernel_shape", []))
    strides = list(attributes.get("strides", [1] * len(kernel)))
    dilations = list(attributes.get("dilations", [1] * len(kernel)))
    pads = list(attributes.get("pads", [0] * 2 * len(kernel)))
    if len(kernel) != 4 or attributes.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET") or len(node.output) != 1:
        return None
    if any(values[i] != 1 for values in (kernel, strides, dilations) for i in (0, 3)) or any(
        pads[i] for i in (0, 3, 4, 7)
    ):
        return None
    axes = f"{name}_axes"
    graph.initializer.append(numpy_helper.from_array(np.array([0, 1], np.int64), axes))
    pool = {
        "kernel_shape": kernel[1:3],
        "strides": strides[1:3],
        "dilations": dilations[1:3],
        "pads": [pads[1], pads[2], pads[5], pads[6]],
        "ceil_mode": attributes.get("ceil_mode", 0),
    }
    return [
        helper.make_node("Squeeze", [node.input[0], axes], [f"{name}_nhwc"], name=f"{name}_squeeze"),
        helper.make_node("Transpose", [f"{name}_nhwc"], [f"{name}_nchw"], perm=[0, 3, 1, 2], name=f"{name}_to_nchw"),
        helper.make_node("MaxPool", [f"{name}_nchw"], [f"{name}_pooled"], name=f"{name}_pool", **pool),
        helper.make_node("Transpose", [f"{name}_pooled"], [f"{name}_back"], perm=[0, 2, 3, 1], name=f"{name}_to_nhwc"),
        helper.make_node("Unsqueeze", [f"{name}_back", axes], list(node.output), name=f"{name}_unsqueeze"),
    ]
